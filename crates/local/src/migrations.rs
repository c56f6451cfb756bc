//! Schema migrations, embedded and applied in order. `PRAGMA user_version` records how many
//! have run, so a migration runs exactly once per database file. Never edit a released
//! migration: append a new one.

use imgtag_core::{Error, Result};
use rusqlite::Connection;

use crate::db::sql_err;

const MIGRATIONS: &[&str] = &[
    // 1: catalog, queue, accounts.
    r#"
    CREATE TABLE images (
        id             TEXT PRIMARY KEY,
        owner          TEXT NOT NULL,
        name           TEXT NOT NULL,
        blob_key       TEXT NOT NULL,
        content_type   TEXT NOT NULL,
        size           INTEGER NOT NULL,
        width          INTEGER,
        height         INTEGER,
        sha256         TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending', 'tagged', 'failed')),
        failure_reason TEXT,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
    );
    -- Listing is always one owner's images, newest (highest id) first.
    CREATE INDEX images_owner_id ON images (owner, id);

    -- `owner` is copied from the image so tag counts and tag filters use one index.
    CREATE TABLE labels (
        image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        owner      TEXT NOT NULL,
        name       TEXT NOT NULL,
        confidence REAL NOT NULL,
        source     TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
        PRIMARY KEY (image_id, name)
    ) WITHOUT ROWID;
    CREATE INDEX labels_owner_name ON labels (owner, name, image_id);

    -- AUTOINCREMENT: ids are never reused, so a stale lease token can never match a new job.
    CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        key         TEXT NOT NULL,
        payload     TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'dead')),
        attempt     INTEGER NOT NULL DEFAULT 0,
        due_at      INTEGER NOT NULL,
        lease_until INTEGER,
        last_error  TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    -- At most one waiting job per key: enqueue dedups against it.
    CREATE UNIQUE INDEX jobs_waiting_key ON jobs (key) WHERE state = 'waiting';
    CREATE INDEX jobs_state_due ON jobs (state, due_at);

    CREATE TABLE users (
        id             TEXT PRIMARY KEY,
        username       TEXT NOT NULL,
        username_lower TEXT NOT NULL UNIQUE,
        password_hash  TEXT NOT NULL,
        created_at     TEXT NOT NULL
    );

    CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

    -- Consecutive failed sign-ins per (lower-cased) username, known or not.
    CREATE TABLE signin_failures (
        username_lower  TEXT PRIMARY KEY,
        failures        INTEGER NOT NULL,
        last_failure_at INTEGER NOT NULL
    );
    "#,
    // 2: `imgtag import` skips files the owner already has.
    r#"
    CREATE INDEX images_owner_sha256 ON images (owner, sha256);
    "#,
    // 3: where in the image a label was found (detector labels such as `face`): a JSON array
    // of {x, y, w, h} fractions, NULL for whole-image labels.
    r#"
    ALTER TABLE labels ADD COLUMN boxes TEXT;
    "#,
    // 4: sign-in failures are pruned by age on every failure.
    r#"
    CREATE INDEX signin_failures_last ON signin_failures (last_failure_at);
    "#,
    // 5: tag counts maintained by triggers, so `GET /tags` reads a few rows instead of
    // grouping every label. Triggers run inside the writing statement's transaction (and for
    // ON DELETE CASCADE from `images`), so the counts are exact whatever path writes labels.
    // REPLACE conflict resolution would skip the delete trigger: never use it on `labels`.
    r#"
    CREATE TABLE tag_counts (
        owner TEXT NOT NULL,
        name  TEXT NOT NULL,
        n     INTEGER NOT NULL,
        PRIMARY KEY (owner, name)
    ) WITHOUT ROWID;
    -- An owner's tags by count, most used first: `GET /tags` without a prefix.
    CREATE INDEX tag_counts_owner_n ON tag_counts (owner, n DESC, name);
    INSERT INTO tag_counts (owner, name, n)
        SELECT owner, name, COUNT(*) FROM labels GROUP BY owner, name;

    CREATE TRIGGER labels_count_insert AFTER INSERT ON labels BEGIN
        INSERT INTO tag_counts (owner, name, n) VALUES (new.owner, new.name, 1)
            ON CONFLICT (owner, name) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER labels_count_delete AFTER DELETE ON labels BEGIN
        UPDATE tag_counts SET n = n - 1 WHERE owner = old.owner AND name = old.name;
        DELETE FROM tag_counts WHERE owner = old.owner AND name = old.name AND n <= 0;
    END;
    -- No code renames a label today; this keeps the counts exact if some day one does.
    CREATE TRIGGER labels_count_update AFTER UPDATE OF owner, name ON labels
    WHEN old.owner IS NOT new.owner OR old.name IS NOT new.name BEGIN
        INSERT INTO tag_counts (owner, name, n) VALUES (new.owner, new.name, 1)
            ON CONFLICT (owner, name) DO UPDATE SET n = n + 1;
        UPDATE tag_counts SET n = n - 1 WHERE owner = old.owner AND name = old.name;
        DELETE FROM tag_counts WHERE owner = old.owner AND name = old.name AND n <= 0;
    END;
    "#,
    // 6: a by-tag page walks one tag's labels newest image first and filters on confidence
    // from the index alone. The old (owner, name, image_id) index only served the GROUP BY
    // counts that `tag_counts` replaced, and is a prefix of this one.
    r#"
    CREATE INDEX labels_owner_name_image ON labels (owner, name, image_id, confidence);
    DROP INDEX labels_owner_name;
    "#,
    // 7: a number per owner that every write to their images or labels moves, in the same
    // transaction, whichever process writes: `Catalog::version`, what answer caches key on.
    r#"
    CREATE TABLE catalog_versions (
        owner TEXT PRIMARY KEY,
        v     INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER images_version_insert AFTER INSERT ON images BEGIN
        INSERT INTO catalog_versions (owner, v) VALUES (new.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
    END;
    CREATE TRIGGER images_version_update AFTER UPDATE ON images BEGIN
        INSERT INTO catalog_versions (owner, v) VALUES (new.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
        INSERT INTO catalog_versions (owner, v) VALUES (old.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
    END;
    CREATE TRIGGER images_version_delete AFTER DELETE ON images BEGIN
        INSERT INTO catalog_versions (owner, v) VALUES (old.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
    END;
    CREATE TRIGGER labels_version_insert AFTER INSERT ON labels BEGIN
        INSERT INTO catalog_versions (owner, v) VALUES (new.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
    END;
    CREATE TRIGGER labels_version_update AFTER UPDATE ON labels BEGIN
        INSERT INTO catalog_versions (owner, v) VALUES (new.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
        INSERT INTO catalog_versions (owner, v) VALUES (old.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
    END;
    CREATE TRIGGER labels_version_delete AFTER DELETE ON labels BEGIN
        INSERT INTO catalog_versions (owner, v) VALUES (old.owner, 1)
            ON CONFLICT (owner) DO UPDATE SET v = v + 1;
    END;
    "#,
];

/// Fails unless the schema is exactly this build's (a database opened read-only cannot be
/// brought up to date).
pub(crate) fn check_current(conn: &Connection) -> Result<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_err)?;
    let known = MIGRATIONS.len() as i64;
    if current != known {
        return Err(Error::Internal(format!(
            "database schema version {current} differs from this build's ({known}); run \
             this imgtag's `serve` on it once, or use the matching imgtag"
        )));
    }
    Ok(())
}

/// Applies every migration the database has not seen, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_err)?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(Error::Internal(format!(
            "database schema version {current} is newer than this build ({known}); \
             upgrade imgtag"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(sql_err)?;
        tx.execute_batch(sql).map_err(sql_err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
    }
    Ok(())
}
