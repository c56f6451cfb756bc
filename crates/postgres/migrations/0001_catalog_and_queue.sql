-- The catalog and the job queue. Never edit a migration once released: add a new file.
--
-- Identifiers and tag names use the "C" collation: byte order, which for UTF-8 is code point
-- order. Ids (UUIDv7 hex) then sort by creation time and tag names sort exactly as in the
-- SQLite catalog, whatever locale the database was created with.

CREATE TABLE images (
    id             text COLLATE "C" PRIMARY KEY,
    owner          text COLLATE "C" NOT NULL,
    name           text NOT NULL,
    blob_key       text NOT NULL,
    content_type   text NOT NULL,
    size           bigint NOT NULL CHECK (size >= 0),
    width          bigint,
    height         bigint,
    sha256         text COLLATE "C" NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'tagged', 'failed')),
    failure_reason text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- Listing is always one owner's images, newest (highest id) first.
CREATE INDEX images_owner_id ON images (owner, id);
-- `find_by_sha256`: imports skip files the owner already has.
CREATE INDEX images_owner_sha256 ON images (owner, sha256, id);

-- `owner` is copied from the image so tag filters and counts stay within one owner's rows.
CREATE TABLE labels (
    image_id   text COLLATE "C" NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    owner      text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    confidence real NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    source     text NOT NULL CHECK (source IN ('auto', 'manual')),
    PRIMARY KEY (image_id, name)
);
CREATE INDEX labels_owner_name ON labels (owner, name, image_id);

-- Images per (owner, tag), kept in the same transaction as every label write, so `GET /tags`
-- reads a few rows instead of grouping all of an owner's labels. A row whose count drops to
-- 0 is deleted in that transaction: a 0 count is never visible.
CREATE TABLE tag_counts (
    owner text COLLATE "C" NOT NULL,
    name  text COLLATE "C" NOT NULL,
    n     bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (owner, name)
);
CREATE INDEX tag_counts_owner_n ON tag_counts (owner, n DESC, name);

-- A job is `waiting` (due at `due_at`), `running` (leased until `lease_until`) or `dead`
-- (failed for good, kept with its error). Times come from the database clock, so instances
-- with skewed clocks agree on when a lease has expired.
CREATE TABLE jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text COLLATE "C" NOT NULL,
    payload     json NOT NULL,  -- json, not jsonb: kept verbatim (jsonb rejects \u0000)
    state       text NOT NULL CHECK (state IN ('waiting', 'running', 'dead')),
    attempt     integer NOT NULL DEFAULT 0,
    due_at      timestamptz NOT NULL,
    lease_until timestamptz,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one waiting job per key: enqueue dedups against it.
CREATE UNIQUE INDEX jobs_waiting_key ON jobs (key) WHERE state = 'waiting';
-- Claim scans live jobs oldest first; dead letters pile up outside this index.
CREATE INDEX jobs_live ON jobs (id) WHERE state IN ('waiting', 'running');
