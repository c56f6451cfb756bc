//! Tag counters: images per (owner, tag), moved in the same transaction as the label write.
//!
//! The caller holds the image's row lock, reads the image's tag names before and after its
//! change, and hands both here; the counters move by the difference. Counter updates of one
//! owner are serialised by a transaction-scoped advisory lock on the owner, taken just before
//! commit: label writes on different images that share tags then never wait on each other's
//! counter rows in a cycle (no deadlocks), and each sees the others' committed counts.

use std::collections::{BTreeMap, BTreeSet};

use imgtag_core::{ImageId, Owner, Result};
use sqlx::PgConnection;

use crate::db::db_err;

/// First key of imgtag's two-key advisory locks (second: a hash of the owner), so they do
/// not collide with another application's locks on the same database.
const LOCK_CLASS: i32 = 0x696d_6774; // "imgt"

/// The names of the labels on image `id`.
pub(crate) async fn names_of(tx: &mut PgConnection, id: &ImageId) -> Result<BTreeSet<String>> {
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM labels WHERE image_id = $1")
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(names.into_iter().collect())
}

/// Names only in `after` (+1) and names only in `before` (-1).
fn deltas(before: &BTreeSet<String>, after: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    (
        after.difference(before).cloned().collect(),
        before.difference(after).cloned().collect(),
    )
}

/// Moves `owner`'s counters from `before` to `after`; counters that reach 0 are deleted.
pub(crate) async fn update(
    tx: &mut PgConnection,
    owner: &Owner,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
) -> Result<()> {
    let (added, removed) = deltas(before, after);
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    lock(tx, owner.as_str()).await?;
    if !added.is_empty() {
        sqlx::query(
            "INSERT INTO tag_counts (owner, name, n)
             SELECT $1, name, 1 FROM unnest($2::text[]) AS a (name)
             ON CONFLICT (owner, name) DO UPDATE SET n = tag_counts.n + 1",
        )
        .bind(owner.as_str())
        .bind(&added)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    if removed.is_empty() {
        return Ok(());
    }
    let hit: Vec<String> = sqlx::query_scalar(
        "UPDATE tag_counts SET n = n - 1 WHERE owner = $1 AND name = ANY($2) AND n > 0
         RETURNING name",
    )
    .bind(owner.as_str())
    .bind(&removed)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    if hit.len() != removed.len() {
        // Only a write from outside imgtag can get here: recount those tags from the labels
        // rather than fail every later write to this image.
        let missed: Vec<&String> = removed.iter().filter(|n| !hit.contains(n)).collect();
        tracing::warn!(owner = %owner, tags = ?missed, "tag counts out of step; recounting");
        sqlx::query(
            "INSERT INTO tag_counts (owner, name, n)
             SELECT $1, m.name, (SELECT count(*) FROM labels l
                                 WHERE l.owner = $1 AND l.name = m.name)
             FROM unnest($2::text[]) AS m (name)
             ON CONFLICT (owner, name) DO UPDATE SET n = excluded.n",
        )
        .bind(owner.as_str())
        .bind(missed)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    sqlx::query("DELETE FROM tag_counts WHERE owner = $1 AND name = ANY($2) AND n = 0")
        .bind(owner.as_str())
        .bind(&removed)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Takes `owner`'s counter lock for the rest of the transaction.
async fn lock(tx: &mut PgConnection, owner: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(owner)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Adds `n` to each (owner, tag) counter (a bulk import's new images), creating counters.
/// The owners' locks are taken in the order of their keys, so two imports never wait on
/// each other in a cycle; every other writer takes one owner's lock only.
pub(crate) async fn add(
    tx: &mut PgConnection,
    added: &BTreeMap<(String, String), i64>,
) -> Result<()> {
    if added.is_empty() {
        return Ok(());
    }
    let owners: BTreeSet<&str> = added.keys().map(|(o, _)| o.as_str()).collect();
    let keys: Vec<i32> =
        sqlx::query_scalar("SELECT DISTINCT hashtext(o) FROM unnest($1::text[]) AS o ORDER BY 1")
            .bind(owners.into_iter().collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
    for key in keys {
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(LOCK_CLASS)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    let (mut owners, mut names, mut ns) = (Vec::new(), Vec::new(), Vec::new());
    for ((o, name), n) in added {
        owners.push(o.as_str());
        names.push(name.as_str());
        ns.push(*n);
    }
    sqlx::query(
        "INSERT INTO tag_counts (owner, name, n)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
         ON CONFLICT (owner, name) DO UPDATE SET n = tag_counts.n + excluded.n",
    )
    .bind(owners)
    .bind(names)
    .bind(ns)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deltas_are_the_two_differences() {
        let (added, removed) = deltas(
            &set(&["cat", "animal", "pet"]),
            &set(&["dog", "animal", "pet"]),
        );
        assert_eq!(
            (added, removed),
            (vec!["dog".to_string()], vec!["cat".to_string()])
        );
        assert_eq!(deltas(&set(&["a"]), &set(&["a"])), (vec![], vec![]));
    }
}
