//! [`Catalog`] over one index. Reads of one image use the real-time `GET _doc`; every change
//! reads the document, changes it and writes it back with `if_seq_no` / `if_primary_term`
//! (optimistic concurrency: a 409 means someone else wrote in between, so we read again and
//! retry) and `refresh` so the change is searchable before the call returns.
//! Document APIs: <https://opensearch.org/docs/latest/api-reference/document-apis/index-document/>,
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/optimistic-concurrency-control.html>.

use async_trait::async_trait;
use imgtag_core::{
    Catalog, Cursor, Error, Image, ImageId, ImageQuery, ImageStatus, Label, NewImage, Owner, Page,
    Result, TagCount, TagName,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::client::{failure, Client};
use crate::doc::Doc;
use crate::mapping::{ensure_index, valid_index};
use crate::query::{counts_body, list_body, sha256_body, COUNT_PAGE};
use crate::{OpenSearchConfig, Refresh};

/// Read-modify-write attempts before giving up on a document under heavy contention.
const ATTEMPTS: usize = 10;

/// The catalog on OpenSearch / Elasticsearch.
#[derive(Debug, Clone)]
pub struct OpenSearchCatalog {
    client: Client,
    index: String,
    refresh: Refresh,
}

/// A document and the version it was read at.
struct Versioned {
    doc: Doc,
    seq_no: u64,
    primary_term: u64,
}

impl OpenSearchCatalog {
    /// Checks the settings and, with `create_index`, creates the index if it is missing.
    pub async fn connect(config: &OpenSearchConfig) -> Result<Self> {
        if !valid_index(&config.index) {
            return Err(Error::Internal(format!(
                "invalid opensearch index name {:?}: lower case letters, digits, - _ .",
                config.index
            )));
        }
        let catalog = OpenSearchCatalog {
            client: Client::new(config)?,
            index: config.index.clone(),
            refresh: config.refresh,
        };
        if config.create_index {
            ensure_index(&catalog.client, &catalog.index).await?;
        }
        Ok(catalog)
    }

    fn doc_path(&self, id: &ImageId) -> String {
        format!("/{}/_doc/{}", self.index, id.as_str())
    }

    async fn fetch(&self, id: &ImageId) -> Result<Option<Versioned>> {
        let reply = self
            .client
            .send(Method::GET, &self.doc_path(id), &[], None)
            .await?;
        // A missing document is 404 with `"found": false` and no `error`.
        if reply.status == StatusCode::NOT_FOUND && reply.error_type().is_empty() {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(failure(&self.index, &reply));
        }
        if reply.body["found"] != Value::Bool(true) {
            return Ok(None);
        }
        let doc: Doc = serde_json::from_value(reply.body["_source"].clone())
            .map_err(|e| Error::Internal(format!("opensearch document {id}: {e}")))?;
        let num = |k: &str| reply.body[k].as_u64().ok_or_else(|| Error::internal(k));
        Ok(Some(Versioned {
            doc,
            seq_no: num("_seq_no")?,
            primary_term: num("_primary_term")?,
        }))
    }

    async fn owned(&self, owner: &Owner, id: &ImageId) -> Result<Option<Versioned>> {
        Ok(self
            .fetch(id)
            .await?
            .filter(|v| v.doc.image.owner == *owner))
    }

    fn refresh(&self) -> (&'static str, String) {
        ("refresh", self.refresh.as_param().to_string())
    }

    /// Writes `doc`: over the version read (`Some`), or as a new document (`None`, `_create`
    /// fails if one appeared meanwhile). `false` on a version conflict (409).
    async fn write(&self, doc: &Doc, read: Option<(u64, u64)>) -> Result<bool> {
        let id = doc.image.id.as_str();
        let (path, query) = match read {
            Some((seq_no, term)) => (
                format!("/{}/_doc/{id}", self.index),
                vec![
                    ("if_seq_no", seq_no.to_string()),
                    ("if_primary_term", term.to_string()),
                    self.refresh(),
                ],
            ),
            None => (
                format!("/{}/_create/{id}", self.index),
                vec![self.refresh()],
            ),
        };
        // Through text, not `to_value`: that widens f32 confidences (0.3 → 0.30000001192…).
        let body: Value = serde_json::to_vec(doc)
            .and_then(|b| serde_json::from_slice(&b))
            .map_err(Error::internal)?;
        let reply = self
            .client
            .send(Method::PUT, &path, &query, Some(&body))
            .await?;
        match reply.status {
            s if s.is_success() => Ok(true),
            StatusCode::CONFLICT => Ok(false),
            _ => Err(failure(&self.index, &reply)),
        }
    }

    /// Applies `change` to the owner's image and writes it back, retrying on conflicts.
    /// `false` if the image is absent; `change` returning `false` means nothing to write.
    async fn modify(
        &self,
        owner: &Owner,
        id: &ImageId,
        change: impl Fn(&mut Doc) -> bool + Send + Sync,
    ) -> Result<bool> {
        for _ in 0..ATTEMPTS {
            let Some(mut v) = self.owned(owner, id).await? else {
                return Ok(false);
            };
            if !change(&mut v.doc) {
                return Ok(true);
            }
            if self.write(&v.doc, Some((v.seq_no, v.primary_term))).await? {
                return Ok(true);
            }
        }
        Err(contended(id))
    }

    async fn search(&self, body: &Value) -> Result<Value> {
        let path = format!("/{}/_search", self.index);
        self.client
            .ok(&self.index, Method::POST, &path, &[], Some(body))
            .await
    }
}

fn contended(id: &ImageId) -> Error {
    Error::Unavailable(format!(
        "image {id} changed {ATTEMPTS} times while being updated; try again"
    ))
}

/// The `_source` of every hit.
fn hits(reply: &Value) -> Result<Vec<Image>> {
    let hits = reply["hits"]["hits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    hits.into_iter()
        .map(|h| {
            serde_json::from_value::<Doc>(h["_source"].clone())
                .map(|d| d.image)
                .map_err(|e| Error::Internal(format!("opensearch hit: {e}")))
        })
        .collect()
}

#[async_trait]
impl Catalog for OpenSearchCatalog {
    async fn upsert_image(&self, image: &NewImage) -> Result<()> {
        for _ in 0..ATTEMPTS {
            let written = match self.fetch(&image.id).await? {
                // Ids are unique across owners: never overwrite someone else's image.
                Some(v) if v.doc.image.owner != image.owner => {
                    return Err(Error::Conflict("image id already in use".into()))
                }
                Some(v) => {
                    let doc = Doc::new(image, Some(&v.doc));
                    self.write(&doc, Some((v.seq_no, v.primary_term))).await?
                }
                None => self.write(&Doc::new(image, None), None).await?,
            };
            if written {
                return Ok(());
            }
        }
        Err(contended(&image.id))
    }

    async fn get_image(&self, owner: &Owner, id: &ImageId) -> Result<Option<Image>> {
        Ok(self.owned(owner, id).await?.map(|v| v.doc.image))
    }

    async fn delete_image(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        for _ in 0..ATTEMPTS {
            // The owner check is the read: only the version read (the owner's) is deleted.
            let Some(v) = self.owned(owner, id).await? else {
                return Ok(false);
            };
            let query = [
                ("if_seq_no", v.seq_no.to_string()),
                ("if_primary_term", v.primary_term.to_string()),
                self.refresh(),
            ];
            let reply = self
                .client
                .send(Method::DELETE, &self.doc_path(id), &query, None)
                .await?;
            match reply.status {
                s if s.is_success() => return Ok(true),
                // Deleted by someone else since the read.
                StatusCode::NOT_FOUND if reply.error_type().is_empty() => return Ok(false),
                StatusCode::CONFLICT => continue,
                _ => return Err(failure(&self.index, &reply)),
            }
        }
        Err(contended(id))
    }

    async fn list_images(&self, owner: &Owner, query: &ImageQuery) -> Result<Page> {
        query.check()?;
        let limit = query.limit;
        let mut images = hits(&self.search(&list_body(owner, query)).await?)?;
        let next = if images.len() > limit {
            images.truncate(limit);
            images.last().map(|i| Cursor(i.id.clone()))
        } else {
            None
        };
        Ok(Page { images, next })
    }

    async fn set_auto_labels(&self, owner: &Owner, id: &ImageId, labels: &[Label]) -> Result<bool> {
        self.modify(owner, id, |d| {
            d.set_auto(labels);
            true
        })
        .await
    }

    async fn mark_failed(&self, owner: &Owner, id: &ImageId, reason: &str) -> Result<bool> {
        self.modify(owner, id, |d| {
            d.set_status(ImageStatus::Failed, Some(reason));
            true
        })
        .await
    }

    async fn mark_pending(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        self.modify(owner, id, |d| {
            d.set_status(ImageStatus::Pending, None);
            true
        })
        .await
    }

    async fn add_manual_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        self.modify(owner, id, |d| {
            d.add_manual(tag);
            true
        })
        .await
    }

    async fn remove_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        self.modify(owner, id, |d| d.remove(tag)).await
    }

    async fn find_by_sha256(&self, owner: &Owner, sha256: &str) -> Result<Option<Image>> {
        let reply = self.search(&sha256_body(owner, sha256)).await?;
        Ok(hits(&reply)?.into_iter().next())
    }

    async fn tag_counts(
        &self,
        owner: &Owner,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagCount>> {
        let mut counts = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let reply = self
                .search(&counts_body(owner, prefix, after.as_ref()))
                .await?;
            let agg = &reply["aggregations"]["tags"];
            let buckets = agg["buckets"].as_array().cloned().unwrap_or_default();
            for b in &buckets {
                let (Some(name), Some(count)) = (b["key"]["tag"].as_str(), b["doc_count"].as_u64())
                else {
                    return Err(Error::Internal(format!("opensearch bucket: {b}")));
                };
                if count == 0 || prefix.is_some_and(|p| !name.starts_with(p)) {
                    continue;
                }
                if let Ok(name) = TagName::parse(name) {
                    counts.push(TagCount { name, count });
                }
            }
            match agg.get("after_key") {
                Some(key) if buckets.len() >= COUNT_PAGE => after = Some(key.clone()),
                _ => break,
            }
        }
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        counts.truncate(limit);
        Ok(counts)
    }
}
