//! Reads: one image, batches of items, query pages, the content-hash lookup, id claims.
//!
//! Every read is strongly consistent: a write acknowledged by the catalog is visible to the
//! next call, as the conformance suite (and a user who just tagged an image) expects.

use aws_sdk_dynamodb::types::KeysAndAttributes;
use imgtag_core::{Image, ImageId, Owner, Result};

use super::errors::{build, sdk, Backoff};
use super::schema::{
    self, claim_pk, get_s, hash_prefix, id_suffix, image_sk, key, owner_pk, parse_image, s, Item,
    Stored, CLAIM_SK,
};
use super::DynamoCatalog;

/// Which sort keys of an owner's partition a query reads.
pub(super) enum Range {
    /// Sort keys starting with this.
    Prefix(String),
    /// Sort keys between the two, inclusive.
    Between(String, String),
}

/// BatchGetItem's limit on keys per request.
const BATCH_GET_MAX: usize = 100;

impl DynamoCatalog {
    /// The image (owner, id) with its version, or `None` if absent or another owner's.
    pub(super) async fn load(&self, owner: &Owner, id: &ImageId) -> Result<Option<Stored>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(owner_pk(owner), image_sk(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", e))?;
        out.item.as_ref().map(parse_image).transpose()
    }

    /// The owner holding `id`, if any owner does.
    pub(super) async fn claim_owner(&self, id: &ImageId) -> Result<Option<String>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(claim_pk(id), CLAIM_SK.to_string())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("GetItem", e))?;
        out.item
            .as_ref()
            .map(|i| get_s(i, "owner").map(str::to_string))
            .transpose()
    }

    /// The items with these (distinct) keys that exist, in no particular order.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(build)?,
            );
            let mut backoff = Backoff::new();
            while let Some(req) = pending.take() {
                let mut resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(|e| sdk("BatchGetItem", e))?;
                if let Some(items) = resp.responses.as_mut().and_then(|r| r.remove(&self.table)) {
                    out.extend(items);
                }
                // Keys DynamoDB did not get to (throttling, 16 MB limit) are asked again.
                pending = resp
                    .unprocessed_keys
                    .as_mut()
                    .and_then(|u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    backoff.wait("BatchGetItem").await?;
                }
            }
        }
        Ok(out)
    }

    /// The images `ids` that still exist, in the order of `ids`.
    pub(super) async fn images(&self, owner: &Owner, ids: &[ImageId]) -> Result<Vec<Image>> {
        let keys = ids
            .iter()
            .map(|id| key(owner_pk(owner), image_sk(id)))
            .collect();
        let mut found: std::collections::HashMap<ImageId, Image> = self
            .batch_get(keys)
            .await?
            .iter()
            .map(|i| parse_image(i).map(|s| (s.image.id.clone(), s.image)))
            .collect::<Result<_>>()?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// One page of a query in the owner's partition: items and the key to continue from.
    pub(super) async fn query_page(
        &self,
        owner: &Owner,
        range: &Range,
        newest_first: bool,
        limit: Option<usize>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>)> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .scan_index_forward(!newest_first)
            .set_limit(limit.map(|l| l.min(i32::MAX as usize) as i32))
            .set_exclusive_start_key(start)
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#sk", schema::SK)
            .expression_attribute_values(":pk", s(owner_pk(owner)));
        let q = match range {
            Range::Prefix(p) => q
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
                .expression_attribute_values(":p", s(p)),
            Range::Between(lo, hi) => q
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":lo", s(lo))
                .expression_attribute_values(":hi", s(hi)),
        };
        let out = q.send().await.map_err(|e| sdk("Query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// The owner's newest image with this content hash.
    pub(super) async fn by_sha256(&self, owner: &Owner, sha256: &str) -> Result<Option<Image>> {
        // Hashes are hex; anything else cannot match and must not reach a key prefix.
        if sha256.is_empty() || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let range = Range::Prefix(hash_prefix(sha256));
        let (items, _) = self.query_page(owner, &range, true, Some(1), None).await?;
        let Some(item) = items.first() else {
            return Ok(None);
        };
        let id = id_suffix(get_s(item, schema::SK)?)?;
        Ok(self.load(owner, &id).await?.map(|s| s.image))
    }
}
