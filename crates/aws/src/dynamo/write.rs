//! Writes: read the image, compute its next state, write that state together with the label
//! memberships, tag counts, id claim and hash entry in one `TransactWriteItems`.
//!
//! The image item carries a version; every transaction is conditioned on the version it was
//! planned from, and every count decrement on the count it read. A concurrent write therefore
//! cancels the transaction instead of corrupting it, and the write is planned again from the
//! new state (with back-off), so counts stay exact under any interleaving.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::Utc;
use imgtag_core::{Error, Image, ImageId, Label, Owner, Result, TagName};

use super::errors::{sdk, Backoff};
use super::ops::Cond;
use super::schema::{
    by_name, claim_pk, conf, hash_sk, image_item, image_sk, key, member_sk, owner_pk, s,
    sort_labels, Stored, CLAIM_SK, CONF,
};
use super::DynamoCatalog;

/// DynamoDB's limit on actions per transaction.
const MAX_TX_ITEMS: usize = 100;

/// Cancellation reasons that mean "lost a race": plan again and retry.
const RACES: &[&str] = &[
    "ConditionalCheckFailed",
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// The state an image should be in after a write.
pub(super) enum Target {
    Put(Box<Image>),
    Delete,
}

impl Target {
    pub(super) fn put(img: Image) -> Self {
        Target::Put(Box::new(img))
    }
}

/// One tag whose label differs between the current and the target state.
struct Change<'a> {
    tag: &'a TagName,
    old: Option<&'a Label>,
    new: Option<&'a Label>,
}

impl Change<'_> {
    /// A label that appears or disappears moves a count too; one that only changes its
    /// confidence or source rewrites its membership item alone.
    fn items(&self) -> usize {
        if self.old.is_some() == self.new.is_some() {
            1
        } else {
            2
        }
    }
}

/// Hashes go into sort keys, so only hex ones are indexed (others cannot be looked up).
fn hashable(sha256: &str) -> bool {
    !sha256.is_empty() && sha256.bytes().all(|b| b.is_ascii_hexdigit())
}

impl DynamoCatalog {
    /// Applies `f` (current image → target state, `None` = nothing to do) and writes the result
    /// atomically. `Ok(false)` when `f` declines.
    pub(super) async fn mutate<F>(&self, owner: &Owner, id: &ImageId, f: F) -> Result<bool>
    where
        F: Fn(Option<&Image>) -> Result<Option<Target>> + Send + Sync,
    {
        let mut backoff = Backoff::new();
        loop {
            let cur = self.load(owner, id).await?;
            let Some(target) = f(cur.as_ref().map(|s| &s.image))? else {
                return Ok(false);
            };
            if cur.is_none() {
                // Checked here for a clear answer; the claim's condition in the transaction
                // settles a race with another owner (the retry then lands here).
                if self
                    .claim_owner(id)
                    .await?
                    .is_some_and(|o| o != owner.as_str())
                {
                    return Err(Error::Conflict(format!("image id {id} is taken")));
                }
            }
            let (items, last) = self.plan(owner, id, cur.as_ref(), &target).await?;
            if !self.transact(items).await? {
                tracing::debug!(image.id = %id, "DynamoDB catalog: write lost a race, retrying");
                backoff.wait("image write").await?;
            } else if last {
                return Ok(true);
            }
            // A first part of a large change landed: plan the rest from the new state.
        }
    }

    /// The transaction from `cur` towards `target`, and whether it reaches `target`. A change
    /// too big for one transaction is applied in steps of label changes first, each step a
    /// consistent state (labels, memberships and counts agree).
    async fn plan(
        &self,
        owner: &Owner,
        id: &ImageId,
        cur: Option<&Stored>,
        target: &Target,
    ) -> Result<(Vec<TransactWriteItem>, bool)> {
        let pk = owner_pk(owner);
        let old = cur.map(|s| by_name(&s.image.labels)).unwrap_or_default();
        let new = match target {
            Target::Put(img) => by_name(&img.labels),
            Target::Delete => BTreeMap::new(),
        };
        let tags: BTreeSet<&TagName> = old.keys().chain(new.keys()).copied().collect();
        let mut changes: Vec<Change> = tags
            .into_iter()
            .map(|tag| Change {
                tag,
                old: old.get(tag).copied(),
                new: new.get(tag).copied(),
            })
            .filter(|c| c.old != c.new)
            .collect();
        let fixed = self.fixed_items(owner, id, cur, target)?;
        let total = 1 + fixed.len() + changes.iter().map(Change::items).sum::<usize>();
        let last = total <= MAX_TX_ITEMS;
        if !last {
            let mut budget = MAX_TX_ITEMS - 1;
            let fits = changes
                .iter()
                .take_while(|c| match budget.checked_sub(c.items()) {
                    Some(b) => {
                        budget = b;
                        true
                    }
                    None => false,
                })
                .count();
            changes.truncate(fits);
        }

        let removed: Vec<&TagName> = changes
            .iter()
            .filter(|c| c.new.is_none())
            .map(|c| c.tag)
            .collect();
        let counts = if removed.is_empty() {
            HashMap::new()
        } else {
            self.read_counts(owner, &removed).await?
        };
        let mut items = Vec::with_capacity(MAX_TX_ITEMS);
        for c in &changes {
            let sk = member_sk(c.tag, id);
            match c.new {
                Some(l) => {
                    let mut item = key(pk.clone(), sk);
                    item.insert(CONF.to_string(), conf(l.confidence));
                    items.push(self.put(item, None)?);
                }
                None => items.push(self.delete(key(pk.clone(), sk), None)?),
            }
            match (c.old, c.new) {
                (None, Some(_)) => items.push(self.count_up(&pk, c.tag)?),
                (Some(_), None) => {
                    let now = counts.get(c.tag.as_str()).copied().unwrap_or(0);
                    items.extend(self.count_down(&pk, c.tag, now)?);
                }
                _ => {}
            }
        }

        let guard = || cur.map(|s| Cond::version(s.ver));
        let next_ver = cur.map_or(1, |s| s.ver + 1);
        let image_op = match (last, target, cur) {
            (true, Target::Put(img), _) => {
                items.extend(fixed);
                let cond = guard().unwrap_or_else(Cond::absent);
                self.put(image_item(img, next_ver), Some(cond))?
            }
            (true, Target::Delete, _) => {
                items.extend(fixed);
                self.delete(key(pk.clone(), image_sk(id)), guard())?
            }
            (false, _, Some(s)) => {
                let step = with_changes(&s.image, &changes);
                self.put(image_item(&step, next_ver), guard())?
            }
            // A new image has no labels, so its first write always fits.
            (false, _, None) => return Err(Error::internal("oversized insert transaction")),
        };
        items.push(image_op);
        Ok((items, last))
    }

    /// The id claim and the hash entry that go with the final step.
    fn fixed_items(
        &self,
        owner: &Owner,
        id: &ImageId,
        cur: Option<&Stored>,
        target: &Target,
    ) -> Result<Vec<TransactWriteItem>> {
        let pk = owner_pk(owner);
        let hash_key = |sha: &str| key(pk.clone(), hash_sk(sha, id));
        let claim_key = || key(claim_pk(id), CLAIM_SK.to_string());
        let old_sha = cur.map(|s| s.image.sha256.as_str()).filter(|h| hashable(h));
        let mut items = Vec::new();
        match target {
            Target::Put(img) => {
                if cur.is_none() {
                    let mut claim = claim_key();
                    claim.insert("owner".to_string(), s(owner.as_str()));
                    items.push(self.put(claim, Some(Cond::claim(owner)))?);
                }
                let new_sha = Some(img.sha256.as_str()).filter(|h| hashable(h));
                if old_sha != new_sha {
                    if let Some(h) = old_sha {
                        items.push(self.delete(hash_key(h), None)?);
                    }
                    if let Some(h) = new_sha {
                        items.push(self.put(hash_key(h), None)?);
                    }
                }
            }
            Target::Delete => {
                items.push(self.delete(claim_key(), None)?);
                if let Some(h) = old_sha {
                    items.push(self.delete(hash_key(h), None)?);
                }
            }
        }
        Ok(items)
    }

    /// Sends one transaction: `true` if it committed, `false` if it lost a race.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            // Makes the SDK's own retry of a committed-but-unanswered request a no-op.
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await;
        let e = match sent {
            Ok(_) => return Ok(true),
            Err(e) => e,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
        {
            let codes: Vec<&str> = c
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .filter(|c| *c != "None")
                .collect();
            if codes.iter().all(|c| RACES.contains(c)) {
                return Ok(false);
            }
            return Err(Error::Internal(format!(
                "DynamoDB transaction cancelled: {codes:?}: {}",
                c.message().unwrap_or_default()
            )));
        }
        Err(sdk("TransactWriteItems", e))
    }
}

/// `img` with `changes` applied to its labels: an intermediate step of a large change.
fn with_changes(img: &Image, changes: &[Change]) -> Image {
    let touched: BTreeSet<&TagName> = changes.iter().map(|c| c.tag).collect();
    let mut labels: Vec<Label> = img
        .labels
        .iter()
        .filter(|l| !touched.contains(&l.name))
        .cloned()
        .collect();
    labels.extend(changes.iter().filter_map(|c| c.new.cloned()));
    sort_labels(&mut labels);
    Image {
        labels,
        updated_at: Utc::now(),
        ..img.clone()
    }
}
