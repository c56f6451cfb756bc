-- User accounts, refresh tokens, sign-in throttling and the keys every instance shares.
-- Same shape as the embedded adapter's tables (crates/local/src/migrations.rs), with
-- database times so instances with skewed clocks agree on expiry.

CREATE TABLE users (
    id             text COLLATE "C" PRIMARY KEY,
    username       text NOT NULL,
    -- ASCII-lower-cased: usernames are compared case-insensitively; "C" sorts like SQLite.
    username_lower text COLLATE "C" NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL
);

-- Only the SHA-256 of a refresh token is stored.
CREATE TABLE refresh_tokens (
    token_hash text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Consecutive failed sign-ins per (lower-cased) username, known or not.
CREATE TABLE signin_failures (
    username_lower  text COLLATE "C" PRIMARY KEY,
    failures        bigint NOT NULL,
    last_failure_at timestamptz NOT NULL
);

-- Secrets every instance must hold the same copy of (the JWT signing key, the key that signs
-- upload policies and file URLs). Created once by whichever instance comes first
-- (INSERT ... ON CONFLICT DO NOTHING), never changed afterwards.
CREATE TABLE shared_keys (
    name       text COLLATE "C" PRIMARY KEY,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
