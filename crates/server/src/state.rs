//! `build_state`: the one place that picks adapters from configuration.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use imgtag_core::secrets::{CachedSecrets, DirSecrets, EnvSecrets};
use imgtag_core::services::App;
use imgtag_core::signing::Signer;
use imgtag_core::{Accounts, BlobStore, Catalog, JobQueue, Secrets};
use imgtag_http::AppState;
use imgtag_local::{FsBlobStore, LocalAccounts, SqliteDb};

use crate::aws_wiring as aws;
use crate::config::{
    AccountsBackend, BlobsConfig, CatalogConfig, Config, QueueConfig, SecretsConfig,
};
use crate::postgres_wiring as pg;

/// The built-in tagger, loaded on its first image.
mod lazy_tagger;
/// `[tagger]` → the `Tagger` port (remote taggers behind their cargo features).
mod taggers;

const SIGNING_KEY_FILE: &str = "signing.key";

/// Wires the adapters named by `config`. `public_url` is the API root clients reach, including
/// the base path.
pub async fn build_state(config: &Config, public_url: &str) -> anyhow::Result<AppState> {
    let dir = &config.server.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = SqliteDb::open_in_dir(dir).context("opening the database")?;
    // PostgreSQL catalogs, queues and accounts on one database share a pool.
    let mut pools = pg::Pools::default();
    // With accounts in PostgreSQL (several instances), the URL-signing secret is kept there
    // too: a policy or link signed by one instance must verify on every other.
    let secret = match &config.accounts {
        AccountsBackend::Postgres(c) => pools.url_signing_secret(c).await?,
        _ => load_or_create_secret(dir)?,
    };
    let signer = Arc::new(Signer::new(secret));
    let (blobs, signer): (Arc<dyn BlobStore>, _) = match &config.blobs {
        BlobsConfig::Local { dir: blob_dir } => {
            let root = blob_dir.clone().unwrap_or_else(|| dir.join("blobs"));
            let fs = FsBlobStore::new(root, signer.clone(), public_url.to_string());
            (Arc::new(fs), Some(signer))
        }
        // S3 is the upload target and the file server: this server signs nothing itself.
        BlobsConfig::S3(c) => (aws::s3(&config.aws, c).await?, None),
    };
    let catalog: Arc<dyn Catalog> = match &config.catalog {
        CatalogConfig::Sqlite => Arc::new(db.catalog()),
        CatalogConfig::Dynamodb(c) => aws::dynamodb(&config.aws, c).await?,
        CatalogConfig::Postgres(c) => pools.catalog(c).await?,
        CatalogConfig::Opensearch(c) => crate::opensearch_wiring::catalog(config, c).await?,
    };
    let accounts: Arc<dyn Accounts> = match &config.accounts {
        AccountsBackend::Local(c) => {
            Arc::new(LocalAccounts::open(&db, dir, c.clone()).context("opening local accounts")?)
        }
        AccountsBackend::Cognito(c) => aws::cognito(&config.aws, c).await?,
        AccountsBackend::Postgres(c) => pools.accounts(c).await?,
    };
    let tagger = taggers::build(config).await?;
    let queue: Arc<dyn JobQueue> = match &config.queue {
        QueueConfig::Sqlite => Arc::new(db.queue()),
        QueueConfig::Postgres(c) => pools.queue(c).await?,
        QueueConfig::Sqs(c) => aws::sqs(&config.aws, c).await?,
    };
    let app = App::new(catalog, blobs, queue, tagger, accounts, config.app.clone())
        .with_thumbnailer(Arc::new(crate::thumbs::ImageThumbnailer));
    Ok(AppState {
        app,
        config: Arc::new(config.http.clone()),
        public_url: public_url.into(),
        signer,
    })
}

/// The configured secret source, read once per process (for taggers that need an API key).
pub async fn build_secrets(config: &Config) -> anyhow::Result<Arc<dyn Secrets>> {
    let source: Arc<dyn Secrets> = match &config.secrets {
        SecretsConfig::Env { prefix } => Arc::new(EnvSecrets::new(prefix.clone())),
        SecretsConfig::Dir { dir } => Arc::new(DirSecrets::new(dir.clone())),
        SecretsConfig::Ssm { .. } | SecretsConfig::Secretsmanager { .. } => {
            aws::secrets(&config.aws, &config.secrets).await?
        }
    };
    Ok(Arc::new(CachedSecrets::new(source)))
}

/// The secret that signs upload policies and file URLs, created once with mode 0600.
fn load_or_create_secret(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(SIGNING_KEY_FILE);
    if let Ok(bytes) = std::fs::read(&path) {
        anyhow::ensure!(bytes.len() >= 32, "{} is too short", path.display());
        return Ok(bytes);
    }
    let secret: [u8; 32] = rand::random();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(&secret)?;
    f.sync_all()?;
    Ok(secret.to_vec())
}
