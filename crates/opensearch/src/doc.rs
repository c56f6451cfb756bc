//! The indexed document: the image as the port returns it plus `tags`, the label names as a
//! flat keyword array (for `terms` filters and the tag-count aggregation; confidence filters
//! use the nested `labels`). Each change is made to the whole document and written back with
//! the `_seq_no` it was read at, so no change is lost to a concurrent one.

use chrono::Utc;
use imgtag_core::{Image, ImageStatus, Label, LabelSource, NewImage, TagName};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Doc {
    #[serde(flatten)]
    pub image: Image,
    /// Names of `image.labels`, one each. Written by [`Doc::set_labels`] only.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Doc {
    /// A new pending image, keeping `manual` labels of the document it replaces.
    pub fn new(img: &NewImage, previous: Option<&Doc>) -> Doc {
        let now = Utc::now();
        let manual: Vec<Label> = previous
            .map(|p| {
                p.image
                    .labels
                    .iter()
                    .filter(|l| l.source == LabelSource::Manual)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut doc = Doc {
            image: Image {
                id: img.id.clone(),
                owner: img.owner.clone(),
                name: img.name.clone(),
                blob_key: img.blob_key.clone(),
                content_type: img.content_type.clone(),
                size: img.size,
                width: img.width,
                height: img.height,
                sha256: img.sha256.clone(),
                status: ImageStatus::Pending,
                failure_reason: None,
                labels: Vec::new(),
                // A re-upload keeps its place in the listing.
                created_at: previous.map_or(img.created_at, |p| p.image.created_at),
                updated_at: now,
            },
            tags: Vec::new(),
        };
        doc.set_labels(manual);
        doc
    }

    /// Sorts labels by confidence (highest first, then name) and rewrites `tags`.
    fn set_labels(&mut self, mut labels: Vec<Label>) {
        labels.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.name.cmp(&b.name))
        });
        self.tags = labels.iter().map(|l| l.name.to_string()).collect();
        self.image.labels = labels;
        self.image.updated_at = Utc::now();
    }

    /// Replaces the `auto` labels (a name with a `manual` label keeps it); status `tagged`.
    pub fn set_auto(&mut self, auto: &[Label]) {
        let mut labels: Vec<Label> = self
            .image
            .labels
            .iter()
            .filter(|l| l.source == LabelSource::Manual)
            .cloned()
            .collect();
        for l in auto {
            let confidence = if l.confidence.is_finite() {
                l.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let l = &Label {
                confidence,
                ..l.clone()
            };
            match labels.iter_mut().find(|x| x.name == l.name) {
                // Duplicate auto names: the most confident wins.
                Some(x) if x.source == LabelSource::Auto && x.confidence < l.confidence => {
                    *x = Label {
                        source: LabelSource::Auto,
                        ..l.clone()
                    }
                }
                Some(_) => {}
                None => labels.push(Label {
                    source: LabelSource::Auto,
                    ..l.clone()
                }),
            }
        }
        self.set_labels(labels);
        self.image.status = ImageStatus::Tagged;
        self.image.failure_reason = None;
    }

    pub fn add_manual(&mut self, tag: &TagName) {
        let mut labels = self.without(tag);
        labels.push(Label::manual(tag.clone()));
        self.set_labels(labels);
    }

    /// `false` when the image had no such label (nothing to write).
    pub fn remove(&mut self, tag: &TagName) -> bool {
        let labels = self.without(tag);
        let changed = labels.len() != self.image.labels.len();
        if changed {
            self.set_labels(labels);
        }
        changed
    }

    fn without(&self, tag: &TagName) -> Vec<Label> {
        let keep = |l: &&Label| l.name != *tag;
        self.image.labels.iter().filter(keep).cloned().collect()
    }

    pub fn set_status(&mut self, status: ImageStatus, reason: Option<&str>) {
        self.image.status = status;
        self.image.failure_reason = reason.map(str::to_string);
        self.image.updated_at = Utc::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgtag_core::{BlobKey, ImageId, Owner};

    fn doc() -> Doc {
        let owner = Owner::parse("alice").unwrap();
        let id = ImageId::new();
        let img = NewImage {
            blob_key: BlobKey::for_image(&owner, &id),
            id,
            owner,
            name: "cat.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 1,
            width: None,
            height: None,
            sha256: "ab".repeat(32),
            created_at: Utc::now(),
        };
        Doc::new(&img, None)
    }

    fn t(s: &str) -> TagName {
        TagName::parse(s).unwrap()
    }

    #[test]
    fn manual_labels_win_and_tags_follow_labels() {
        let mut d = doc();
        d.add_manual(&t("pet"));
        d.set_auto(&[Label::auto(t("pet"), 0.3), Label::auto(t("dog"), 0.6)]);
        assert_eq!(d.tags, vec!["pet", "dog"]);
        assert_eq!(d.image.labels[0], Label::manual(t("pet")));
        assert!(d.remove(&t("pet")));
        assert!(!d.remove(&t("zebra")));
        assert_eq!(d.tags, vec!["dog"]);
        // A re-upload drops auto labels, keeps manual ones and the original creation time.
        d.add_manual(&t("fav"));
        d.set_status(ImageStatus::Failed, Some("boom"));
        let again = NewImage {
            name: "new.png".into(),
            id: d.image.id.clone(),
            owner: d.image.owner.clone(),
            blob_key: d.image.blob_key.clone(),
            content_type: "image/png".into(),
            size: 2,
            width: None,
            height: None,
            sha256: "cd".repeat(32),
            created_at: Utc::now() + chrono::Duration::days(1),
        };
        let n = Doc::new(&again, Some(&d));
        assert_eq!(n.tags, vec!["fav"]);
        assert_eq!(
            (n.image.status, n.image.failure_reason),
            (ImageStatus::Pending, None)
        );
        assert_eq!(n.image.created_at, d.image.created_at);
    }

    #[test]
    fn boxes_survive_the_json_round_trip() {
        let mut d = doc();
        let mut face = Label::auto(t("face"), 0.8);
        face.boxes = vec![imgtag_core::BBox {
            x: 0.1,
            y: 0.2,
            w: 0.3,
            h: 0.4,
        }];
        d.set_auto(&[face.clone()]);
        let json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(json["labels"][0]["boxes"][0]["w"], serde_json::json!(0.3));
        assert_eq!(json["tags"], serde_json::json!(["face"]));
        let back: Doc = serde_json::from_value(json).unwrap();
        assert_eq!(back.image.labels, vec![face]);
    }
}
