//! Queries and edits of a caller's images and tags.

use super::App;
use crate::domain::{Image, ImageId, Owner, TagName};
use crate::error::{Error, Result};
use crate::ports::{Cursor, ImageQuery, Job, Page, TagCount};

/// Raw query-string parameters of an image listing, as a client sends them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub tags: Option<String>,
    pub any_tags: Option<String>,
    pub not_tags: Option<String>,
    pub min_confidence: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 1000;

fn tag_list(raw: &Option<String>) -> Result<Vec<TagName>> {
    raw.iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(TagName::parse)
        .collect()
}

impl ListParams {
    /// Validates every parameter; any bad one is a 400 naming it.
    pub fn into_query(self) -> Result<ImageQuery> {
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(s) => match s.parse::<usize>() {
                Ok(n @ 1..=MAX_LIMIT) => n,
                _ => {
                    return Err(Error::invalid(
                        "invalid-limit",
                        format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        let min_confidence = match &self.min_confidence {
            None => None,
            Some(s) => match s.parse::<f32>() {
                Ok(c) if (0.0..=1.0).contains(&c) => Some(c),
                _ => {
                    return Err(Error::invalid(
                        "invalid-min-confidence",
                        "minConfidence must be a number from 0 to 1",
                    ))
                }
            },
        };
        Ok(ImageQuery {
            all_tags: tag_list(&self.tags)?,
            any_tags: tag_list(&self.any_tags)?,
            not_tags: tag_list(&self.not_tags)?,
            min_confidence,
            limit,
            after: self.cursor.as_deref().map(Cursor::decode).transpose()?,
        })
    }
}

impl App {
    pub async fn list_images(&self, owner: &Owner, params: ListParams) -> Result<Page> {
        let query = params.into_query()?;
        self.catalog.list_images(owner, &query).await
    }

    pub async fn get_image(&self, owner: &Owner, id: &str) -> Result<Image> {
        let id = ImageId::parse(id)?;
        self.catalog
            .get_image(owner, &id)
            .await?
            .ok_or(Error::NotFound("image"))
    }

    /// Removes the image from the index, then its file and thumbnails. A crash in between
    /// leaves orphan files, never an index entry without a file.
    #[tracing::instrument(skip_all, fields(owner = %owner, image = %id), err)]
    pub async fn delete_image(&self, owner: &Owner, id: &str) -> Result<ImageId> {
        let image = self.get_image(owner, id).await?;
        if !self.catalog.delete_image(owner, &image.id).await? {
            return Err(Error::NotFound("image"));
        }
        self.blobs.delete(&image.blob_key).await?;
        self.delete_thumbnails(owner, &image.id).await?;
        Ok(image.id)
    }

    pub async fn tag_counts(
        &self,
        owner: &Owner,
        prefix: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Vec<TagCount>> {
        let limit = match limit {
            None => MAX_LIMIT,
            Some(s) => s
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    Error::invalid(
                        "invalid-limit",
                        format!("limit must be from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let prefix = prefix
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty());
        self.catalog
            .tag_counts(owner, prefix.as_deref(), limit)
            .await
    }

    pub async fn add_manual_tag(&self, owner: &Owner, id: &str, tag: &str) -> Result<Image> {
        let (id, tag) = (ImageId::parse(id)?, TagName::parse(tag)?);
        if !self.catalog.add_manual_label(owner, &id, &tag).await? {
            return Err(Error::NotFound("image"));
        }
        self.get_image(owner, id.as_str()).await
    }

    pub async fn remove_tag(&self, owner: &Owner, id: &str, tag: &str) -> Result<Image> {
        let (id, tag) = (ImageId::parse(id)?, TagName::parse(tag)?);
        if !self.catalog.remove_label(owner, &id, &tag).await? {
            return Err(Error::NotFound("image"));
        }
        self.get_image(owner, id.as_str()).await
    }

    /// Queues the image for tagging again; its auto labels are replaced, manual ones kept.
    pub async fn retag(&self, owner: &Owner, id: &str) -> Result<Image> {
        let id = ImageId::parse(id)?;
        if !self.catalog.mark_pending(owner, &id).await? {
            return Err(Error::NotFound("image"));
        }
        let job = Job::TagImage {
            owner: owner.clone(),
            image: id.clone(),
        };
        self.queue.enqueue(&job).await?;
        self.wake.notify_one();
        self.get_image(owner, id.as_str()).await
    }
}
