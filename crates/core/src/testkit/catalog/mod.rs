//! Conformance checks for [`Catalog`]: every line of its contract. The checks live in
//! `records` (one image's life), `labels` (labels and tag counts) and `queries` (filters and
//! paging); the helpers they share are here.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

mod boxes;
mod import;
mod labels;
mod queries;
mod records;
mod version;

use boxes::*;
use import::*;
use labels::*;
use queries::*;
use records::*;
use version::*;

use super::{checks, run_checks, Check};
use crate::{
    BlobKey, Catalog, Cursor, Error, Image, ImageId, ImageQuery, ImageStatus, Label, LabelSource,
    NewImage, Owner, TagCount, TagName,
};

/// Runs every catalog check, each on a fresh catalog from `make`.
pub async fn run<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Catalog>>,
{
    run_checks("catalog", all(), make).await
}

/// The catalog checks, by name.
pub fn all() -> Vec<Check<dyn Catalog>> {
    checks![
        upsert_then_get_round_trips,
        owners_are_isolated,
        id_of_another_owner_conflicts,
        upsert_existing_resets_but_keeps_manual,
        absent_image_gives_false_or_none,
        set_auto_labels_replaces_and_is_idempotent,
        manual_label_survives_retag,
        add_manual_upgrades_auto,
        remove_label_removes_any_source,
        status_transitions,
        query_all_tags,
        query_any_tags,
        query_not_tags,
        query_min_confidence,
        paging_covers_everything_once,
        paging_with_filters,
        cursor_survives_deleted_image,
        counts_exact_through_changes,
        counts_order_limit_and_prefix,
        delete_removes_image_and_labels,
        find_by_sha256_per_owner,
        put_record_keeps_everything,
        put_record_again_changes_nothing,
        put_records_stores_a_batch_like_put_record,
        label_boxes_round_trip,
        version_moves_on_every_write,
    ]
}

pub(crate) fn owner(s: &str) -> Owner {
    Owner::parse(s).unwrap()
}

pub(crate) fn tag(s: &str) -> TagName {
    TagName::parse(s).unwrap()
}

pub(super) fn tags(v: &[&str]) -> Vec<TagName> {
    v.iter().map(|s| tag(s)).collect()
}

/// Milliseconds, the precision every store can keep.
pub(super) fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

/// A fresh image of `o` (its own id), as an upload would record it.
pub fn new_image(o: &Owner) -> NewImage {
    let id = ImageId::new();
    NewImage {
        blob_key: BlobKey::for_image(o, &id),
        id,
        owner: o.clone(),
        name: "cat.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 1234,
        width: Some(640),
        height: Some(480),
        sha256: "ab".repeat(32),
        created_at: now_ms(),
    }
}

pub(super) async fn add(c: &Arc<dyn Catalog>, o: &Owner) -> NewImage {
    let img = new_image(o);
    c.upsert_image(&img).await.expect("upsert_image");
    img
}

/// An image labelled with `auto` labels `(name, confidence)`.
pub(super) async fn add_tagged(c: &Arc<dyn Catalog>, o: &Owner, labels: &[(&str, f32)]) -> ImageId {
    let img = add(c, o).await;
    let labels: Vec<Label> = labels
        .iter()
        .map(|(n, x)| Label::auto(tag(n), *x))
        .collect();
    assert!(c.set_auto_labels(o, &img.id, &labels).await.unwrap());
    img.id
}

pub(super) async fn get(c: &Arc<dyn Catalog>, o: &Owner, id: &ImageId) -> Image {
    c.get_image(o, id)
        .await
        .unwrap()
        .expect("image should exist")
}

pub(super) fn label_set(img: &Image) -> BTreeSet<(String, &'static str)> {
    img.labels
        .iter()
        .map(|l| (l.name.to_string(), l.source.as_str()))
        .collect()
}

pub(super) async fn ids(c: &Arc<dyn Catalog>, o: &Owner, q: ImageQuery) -> BTreeSet<ImageId> {
    let q = ImageQuery { limit: 1000, ..q };
    let page = c.list_images(o, &q).await.unwrap();
    assert!(page.next.is_none(), "unexpected next page");
    page.images.into_iter().map(|i| i.id).collect()
}

pub(super) fn set(v: &[&ImageId]) -> BTreeSet<ImageId> {
    v.iter().map(|i| (*i).clone()).collect()
}

pub(super) async fn counts(c: &Arc<dyn Catalog>, o: &Owner) -> Vec<(String, u64)> {
    c.tag_counts(o, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|TagCount { name, count }| (name.to_string(), count))
        .collect()
}

pub(super) fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}
