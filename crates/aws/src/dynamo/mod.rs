//! [`Catalog`] on DynamoDB: one on-demand table, single-table design (see `schema`).
//!
//! - Writes (`write`) are read–plan–transact loops with optimistic concurrency; tag counts
//!   (`counts`) change in the same `TransactWriteItems` as the labels, so they are exact.
//! - Reads (`read`, `query`) are strongly consistent queries within the owner's partition.
//!
//! Limits: a transaction holds at most 100 actions. A label change costs two (membership and
//! count), so a write that adds or removes more than ~48 labels at once is applied in several
//! transactions, label changes first: counts stay exact at every step, but a reader may see
//! the image half re-tagged for a moment. With the built-in tagger's default of 10 labels
//! every write is a single transaction.
//!
//! IAM: `dynamodb:GetItem`, `BatchGetItem`, `Query`, `PutItem`, `UpdateItem`, `DeleteItem`
//! (the last three are what `TransactWriteItems` is checked against) on the table, plus
//! `CreateTable` and `DescribeTable` if `create_table` is used.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use chrono::Utc;
use imgtag_core::{
    Catalog, Error, Image, ImageId, ImageQuery, ImageStatus, Label, LabelSource, NewImage, Owner,
    Page, Result, TagCount, TagName,
};

mod counts;
mod errors;
mod ops;
mod query;
mod read;
mod schema;
mod write;

use errors::{build, sdk};
use write::Target;

/// The image index in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoCatalog {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// How long `create_table` waits for a new table to become ACTIVE.
const TABLE_WAIT: Duration = Duration::from_secs(300);

impl DynamoCatalog {
    /// A catalog over `table` (see [`DynamoCatalog::create_table`]).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoCatalog {
            client,
            table: table.into(),
        }
    }

    /// Creates the table (on-demand billing, string keys `pk` / `sk`) if it does not exist, and
    /// waits until it is ACTIVE. Safe to call on every start.
    pub async fn create_table(&self) -> Result<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build)
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(schema::PK)?)
            .attribute_definitions(attr(schema::SK)?)
            .key_schema(key(schema::PK, KeyType::Hash)?)
            .key_schema(key(schema::SK, KeyType::Range)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Already there (or being created by another instance): just wait for it.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) => {}
            Err(e) => return Err(sdk("CreateTable", e)),
        }
        let deadline = tokio::time::Instant::now() + TABLE_WAIT;
        loop {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| sdk("DescribeTable", e))?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Unavailable(format!(
                    "DynamoDB table {} is not ACTIVE after {} s",
                    self.table,
                    TABLE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// A tagger's labels as stored: finite confidences in [0, 1], each name once (its highest
/// confidence), names with a manual label left to the manual one.
fn auto_labels(labels: &[Label], manual: &[Label]) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::new();
    for l in labels {
        if manual.iter().any(|m| m.name == l.name) {
            continue;
        }
        let c = if l.confidence.is_finite() {
            l.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match out.iter_mut().find(|o| o.name == l.name) {
            // The higher confidence wins, with its boxes.
            Some(o) if c > o.confidence => {
                o.confidence = c;
                o.boxes = l.boxes.clone();
            }
            Some(_) => {}
            None => out.push(Label {
                boxes: l.boxes.clone(),
                ..Label::auto(l.name.clone(), c)
            }),
        }
    }
    out
}

fn manual_only(img: &Image) -> Vec<Label> {
    let keep = |l: &&Label| l.source == LabelSource::Manual;
    img.labels.iter().filter(keep).cloned().collect()
}

/// `img` with a new status, touched now.
fn with_status(img: &Image, status: ImageStatus, reason: Option<&str>) -> Image {
    Image {
        status,
        failure_reason: reason.map(str::to_string),
        updated_at: Utc::now(),
        ..img.clone()
    }
}

/// `img` with `labels` (sorted on the way in), touched now.
fn with_labels(img: &Image, mut labels: Vec<Label>) -> Image {
    schema::sort_labels(&mut labels);
    Image {
        labels,
        updated_at: Utc::now(),
        ..img.clone()
    }
}

#[async_trait]
impl Catalog for DynamoCatalog {
    #[tracing::instrument(skip_all, fields(image.id = %image.id), err)]
    async fn upsert_image(&self, image: &NewImage) -> Result<()> {
        let fresh = |cur: Option<&Image>| {
            let now = Utc::now();
            // A re-upload keeps the first upload's time (which the id encodes) and manual labels.
            let (created_at, labels) = match cur {
                Some(old) => (old.created_at, manual_only(old)),
                None => (image.created_at, Vec::new()),
            };
            Ok(Some(Target::put(Image {
                id: image.id.clone(),
                owner: image.owner.clone(),
                name: image.name.clone(),
                blob_key: image.blob_key.clone(),
                content_type: image.content_type.clone(),
                size: image.size,
                width: image.width,
                height: image.height,
                sha256: image.sha256.clone(),
                status: ImageStatus::Pending,
                failure_reason: None,
                labels,
                created_at,
                updated_at: now,
            })))
        };
        self.mutate(&image.owner, &image.id, fresh).await.map(drop)
    }

    async fn get_image(&self, owner: &Owner, id: &ImageId) -> Result<Option<Image>> {
        Ok(self.load(owner, id).await?.map(|s| s.image))
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn delete_image(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        self.mutate(owner, id, |cur| Ok(cur.map(|_| Target::Delete)))
            .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_images(&self, owner: &Owner, query: &ImageQuery) -> Result<Page> {
        self.list(owner, query).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, labels = labels.len()), err)]
    async fn set_auto_labels(&self, owner: &Owner, id: &ImageId, labels: &[Label]) -> Result<bool> {
        self.mutate(owner, id, |cur| {
            Ok(cur.map(|img| {
                let mut all = manual_only(img);
                all.extend(auto_labels(labels, &all));
                let img = with_status(img, ImageStatus::Tagged, None);
                Target::put(with_labels(&img, all))
            }))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn mark_failed(&self, owner: &Owner, id: &ImageId, reason: &str) -> Result<bool> {
        self.mutate(owner, id, |cur| {
            Ok(cur.map(|img| Target::put(with_status(img, ImageStatus::Failed, Some(reason)))))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn mark_pending(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        self.mutate(owner, id, |cur| {
            Ok(cur.map(|img| Target::put(with_status(img, ImageStatus::Pending, None))))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, tag = %tag), err)]
    async fn add_manual_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        self.mutate(owner, id, |cur| {
            Ok(cur.map(|img| {
                let mut labels: Vec<Label> = img.labels.clone();
                labels.retain(|l| &l.name != tag);
                labels.push(Label::manual(tag.clone()));
                Target::put(with_labels(img, labels))
            }))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, tag = %tag), err)]
    async fn remove_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        self.mutate(owner, id, |cur| {
            Ok(cur.map(|img| {
                let mut labels: Vec<Label> = img.labels.clone();
                labels.retain(|l| &l.name != tag);
                Target::put(with_labels(img, labels))
            }))
        })
        .await
    }

    async fn find_by_sha256(&self, owner: &Owner, sha256: &str) -> Result<Option<Image>> {
        self.by_sha256(owner, sha256).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn tag_counts(
        &self,
        owner: &Owner,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagCount>> {
        self.counts(owner, prefix, limit).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %image.id), err)]
    async fn put_record(&self, image: &Image) -> Result<bool> {
        // A name twice keeps its first (most confident) label, as the SQL catalogs do.
        let mut seen = std::collections::HashSet::new();
        let mut labels: Vec<Label> = image
            .labels
            .iter()
            .filter(|l| seen.insert(l.name.clone()))
            .cloned()
            .collect();
        schema::sort_labels(&mut labels);
        let img = Image {
            labels,
            ..image.clone()
        };
        // Only an absent id is written; `mutate` answers `Conflict` for another owner's.
        self.mutate(&image.owner, &image.id, |cur| {
            Ok(cur.is_none().then(|| Target::put(img.clone())))
        })
        .await
    }
}
