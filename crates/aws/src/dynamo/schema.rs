//! The single-table layout: key formats and the image item's attributes.
//!
//! Every item of an owner shares the partition `O#<owner>`, so all reads are strongly
//! consistent single-partition queries. Sort keys:
//! - `I#<id>`           the image, labels included (one GetItem reads a whole image)
//! - `T#<tag>`          the number of the owner's images carrying `tag` (attribute `n`)
//! - `L#<tag>#<id>`     membership of an image in a tag (attribute `c`: confidence)
//! - `H#<sha256>#<id>`  content hash index for `find_by_sha256`
//!
//! Plus one item per image id outside any owner partition, `ID#<id>` / `ID`, whose `owner`
//! attribute makes ids unique across owners. Tags never contain `#` (see `TagName`), so the
//! prefixes above cannot collide.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use imgtag_core::{
    BlobKey, Error, Image, ImageId, ImageStatus, Label, LabelSource, Owner, Result, TagName,
};

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
/// Optimistic-concurrency version of an image item, bumped by every write.
pub(super) const VER: &str = "ver";
/// Count attribute of `T#` items.
pub(super) const COUNT: &str = "n";
/// Confidence attribute of `L#` items.
pub(super) const CONF: &str = "c";
pub(super) const CLAIM_SK: &str = "ID";
/// Boxes attribute of a label in an image item's `labels` map (JSON array of `BBox`).
pub(super) const BOXES: &str = "b";

pub(super) fn owner_pk(o: &Owner) -> String {
    format!("O#{o}")
}
pub(super) fn image_sk(id: &ImageId) -> String {
    format!("I#{id}")
}
pub(super) fn tag_sk(tag: &str) -> String {
    format!("T#{tag}")
}
pub(super) fn member_prefix(tag: &TagName) -> String {
    format!("L#{tag}#")
}
pub(super) fn member_sk(tag: &TagName, id: &ImageId) -> String {
    format!("L#{tag}#{id}")
}
pub(super) fn hash_prefix(sha256: &str) -> String {
    format!("H#{sha256}#")
}
pub(super) fn hash_sk(sha256: &str, id: &ImageId) -> String {
    format!("H#{sha256}#{id}")
}
pub(super) fn claim_pk(id: &ImageId) -> String {
    format!("ID#{id}")
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// The image id at the end of a `...#<id>` sort key.
pub(super) fn id_suffix(sk: &str) -> Result<ImageId> {
    let id = sk.rsplit('#').next().unwrap_or_default();
    ImageId::parse(id).map_err(|_| corrupt("sort key id"))
}

pub(super) fn corrupt(what: &str) -> Error {
    Error::Internal(format!("corrupt DynamoDB catalog item: {what}"))
}

pub(super) fn get_s<'a>(item: &'a Item, k: &str) -> Result<&'a str> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(k)),
    }
}

fn opt_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> Result<T> {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(k)),
        _ => Err(corrupt(k)),
    }
}

fn opt_n<T: std::str::FromStr>(item: &Item, k: &str) -> Result<Option<T>> {
    item.get(k).map(|_| get_n(item, k)).transpose()
}

/// Timestamps as RFC 3339 with nanoseconds: exact round trip.
fn ts(t: DateTime<Utc>) -> AttributeValue {
    s(t.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

fn parse_ts(item: &Item, k: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(get_s(item, k)?)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt(k))
}

/// Confidences are f32; `Display` prints the shortest text that parses back to the same f32.
pub(super) fn conf(c: f32) -> AttributeValue {
    n(c)
}

/// An image as read, with the version its next write must be conditioned on.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub image: Image,
    pub ver: u64,
}

pub(super) fn image_item(img: &Image, ver: u64) -> Item {
    let labels: HashMap<String, AttributeValue> = img
        .labels
        .iter()
        .map(|l| {
            let mut m = HashMap::from([
                (CONF.to_string(), conf(l.confidence)),
                ("s".to_string(), s(l.source.as_str())),
            ]);
            // Boxes (detector labels) as one JSON string attribute, absent when there are none:
            // compact, and never queried inside DynamoDB.
            if !l.boxes.is_empty() {
                let json = serde_json::to_string(&l.boxes).expect("boxes serialise");
                m.insert(BOXES.to_string(), s(json));
            }
            (l.name.to_string(), AttributeValue::M(m))
        })
        .collect();
    let mut item = key(owner_pk(&img.owner), image_sk(&img.id));
    let mut put = |k: &str, v: AttributeValue| item.insert(k.to_string(), v);
    put(VER, n(ver));
    put("id", s(img.id.as_str()));
    put("owner", s(img.owner.as_str()));
    put("name", s(&img.name));
    put("blob_key", s(img.blob_key.as_str()));
    put("content_type", s(&img.content_type));
    put("size", n(img.size));
    if let Some(w) = img.width {
        put("width", n(w));
    }
    if let Some(h) = img.height {
        put("height", n(h));
    }
    put("sha256", s(&img.sha256));
    put("status", s(img.status.as_str()));
    if let Some(r) = &img.failure_reason {
        put("failure_reason", s(r));
    }
    put("created_at", ts(img.created_at));
    put("updated_at", ts(img.updated_at));
    put("labels", AttributeValue::M(labels));
    item
}

fn parse_labels(item: &Item) -> Result<Vec<Label>> {
    let Some(AttributeValue::M(m)) = item.get("labels") else {
        return Err(corrupt("labels"));
    };
    let mut labels = m
        .iter()
        .map(|(name, v)| {
            let l = v.as_m().map_err(|_| corrupt("label"))?;
            Ok(Label {
                name: TagName::parse(name).map_err(|_| corrupt("label name"))?,
                confidence: get_n(l, CONF)?,
                source: LabelSource::parse(get_s(l, "s")?).ok_or_else(|| corrupt("source"))?,
                boxes: match opt_s(l, BOXES) {
                    Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("boxes"))?,
                    None => Vec::new(),
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    sort_labels(&mut labels);
    Ok(labels)
}

/// The order `Image::labels` promises: confidence descending, then name.
pub(super) fn sort_labels(labels: &mut [Label]) {
    labels.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.cmp(&b.name))
    });
}

pub(super) fn parse_image(item: &Item) -> Result<Stored> {
    let image = Image {
        id: ImageId::parse(get_s(item, "id")?).map_err(|_| corrupt("id"))?,
        owner: Owner::parse(get_s(item, "owner")?).map_err(|_| corrupt("owner"))?,
        name: get_s(item, "name")?.to_string(),
        blob_key: BlobKey::parse(get_s(item, "blob_key")?).map_err(|_| corrupt("blob_key"))?,
        content_type: get_s(item, "content_type")?.to_string(),
        size: get_n(item, "size")?,
        width: opt_n(item, "width")?,
        height: opt_n(item, "height")?,
        sha256: get_s(item, "sha256")?.to_string(),
        status: ImageStatus::parse(get_s(item, "status")?).ok_or_else(|| corrupt("status"))?,
        failure_reason: opt_s(item, "failure_reason"),
        labels: parse_labels(item)?,
        created_at: parse_ts(item, "created_at")?,
        updated_at: parse_ts(item, "updated_at")?,
    };
    Ok(Stored {
        image,
        ver: get_n(item, VER)?,
    })
}

/// Labels by name, for diffs.
pub(super) fn by_name(labels: &[Label]) -> BTreeMap<&TagName, &Label> {
    labels.iter().map(|l| (&l.name, l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_items_round_trip() {
        let owner = Owner::parse("alice").unwrap();
        let id = ImageId::new();
        let img = Image {
            blob_key: BlobKey::for_image(&owner, &id),
            id,
            owner,
            name: "cat.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 7,
            width: None,
            height: Some(3),
            sha256: "ab".repeat(32),
            status: ImageStatus::Failed,
            failure_reason: Some("boom".into()),
            labels: vec![
                Label::manual(TagName::parse("pet").unwrap()),
                Label {
                    boxes: vec![imgtag_core::BBox {
                        x: 0.1,
                        y: 0.2,
                        w: 0.3,
                        h: 0.45,
                    }],
                    ..Label::auto(TagName::parse("face").unwrap(), 0.95)
                },
                Label::auto(TagName::parse("cat").unwrap(), 0.9),
                Label::auto(TagName::parse("animal").unwrap(), 0.1 + 0.2),
            ],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let back = parse_image(&image_item(&img, 42)).unwrap();
        assert_eq!((back.image, back.ver), (img, 42));
    }
}
