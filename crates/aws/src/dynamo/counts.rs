//! Per-owner tag counts (`T#<tag>` items, attribute `n`).
//!
//! Counts change only inside the transaction that changes the labels, so they are exact.
//! A count that would drop to 0 is deleted instead (no orphan tags), and every decrement is
//! conditioned on the value it was planned from, so a concurrent change to the same count
//! cancels the transaction and the write is re-planned rather than drifting.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use imgtag_core::{Owner, Result, TagCount, TagName};

use super::errors::build;
use super::ops::Cond;
use super::read::Range;
use super::schema::{self, corrupt, get_n, get_s, key, n, owner_pk, tag_sk, COUNT};
use super::DynamoCatalog;

impl DynamoCatalog {
    /// The current counts of `tags` (strongly consistent); an absent count is left out.
    pub(super) async fn read_counts(
        &self,
        owner: &Owner,
        tags: &[&TagName],
    ) -> Result<HashMap<String, u64>> {
        let keys = tags
            .iter()
            .map(|t| key(owner_pk(owner), tag_sk(t.as_str())))
            .collect();
        let mut out = HashMap::new();
        for item in self.batch_get(keys).await? {
            let sk = get_s(&item, schema::SK)?;
            let tag = sk.strip_prefix("T#").ok_or_else(|| corrupt("count key"))?;
            out.insert(tag.to_string(), get_n(&item, COUNT)?);
        }
        Ok(out)
    }

    /// +1 for `tag`; creates the count at 1 when absent.
    pub(super) fn count_up(&self, pk: &str, tag: &TagName) -> Result<TransactWriteItem> {
        let up = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk.to_string(), tag_sk(tag.as_str()))))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", COUNT)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().update(up).build())
    }

    /// −1 for `tag`, whose count was read as `current`. At 1 the item is deleted, but only if
    /// it is still 1; above 1 it is decremented only while it stays above 0.
    pub(super) fn count_down(
        &self,
        pk: &str,
        tag: &TagName,
        current: u64,
    ) -> Result<Option<TransactWriteItem>> {
        let k = key(pk.to_string(), tag_sk(tag.as_str()));
        let item = match current {
            // The label was there but its count is not: nothing to take away. Never expected,
            // since both change together; logged so it is seen.
            0 => {
                tracing::warn!(tag = %tag, "DynamoDB catalog: label without a count");
                return Ok(None);
            }
            1 => self.delete(k, Some(Cond::count_is_one()))?,
            _ => {
                let up = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(k))
                    .update_expression("ADD #n :minus")
                    .condition_expression("#n > :one")
                    .expression_attribute_names("#n", COUNT)
                    .expression_attribute_values(":minus", n(-1))
                    .expression_attribute_values(":one", n(1))
                    .build()
                    .map_err(build)?;
                TransactWriteItem::builder().update(up).build()
            }
        };
        Ok(Some(item))
    }

    /// All of the owner's counts under `prefix`, sorted by count descending then name. Reads
    /// every matching count item: one per distinct tag of the owner, a few KB per hundred.
    pub(super) async fn counts(
        &self,
        owner: &Owner,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagCount>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let range = Range::Prefix(tag_sk(&prefix.unwrap_or_default().to_lowercase()));
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.query_page(owner, &range, true, None, start).await?;
            for item in &items {
                let sk = get_s(item, schema::SK)?;
                let name = sk.strip_prefix("T#").ok_or_else(|| corrupt("count key"))?;
                let count: u64 = get_n(item, COUNT)?;
                if count > 0 {
                    let name = TagName::parse(name).map_err(|_| corrupt("count tag"))?;
                    out.push(TagCount { name, count });
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        out.truncate(limit);
        Ok(out)
    }
}
