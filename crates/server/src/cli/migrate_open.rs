//! Where `imgtag migrate` reads and writes: parsing `--from` / `--to`, and opening the
//! adapters. The destination is wired exactly as `imgtag serve` would wire it; the source
//! only as far as reading needs, and read-only where the adapter allows: the SQLite file is
//! opened read-only (nothing is written to the data folder, not even a key), the source's
//! job queue is never opened (pending work is derived from image statuses). PostgreSQL and
//! DynamoDB sources are only read, though connecting to PostgreSQL applies its schema
//! migrations as `imgtag serve` would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use imgtag_core::signing::Signer;
use imgtag_core::{Accounts, BlobStore, Catalog, JobQueue};
use imgtag_local::{FsBlobStore, LocalAccounts, SqliteDb, DB_FILE};

use crate::aws_wiring as aws;
use crate::config::{AccountsBackend, BlobsConfig, CatalogConfig, QueueConfig};
use crate::postgres_wiring as pg;
use crate::{build_state, Config, Overrides};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    From,
    To,
}

/// One side of a migration: the configuration `imgtag serve` would run with there.
pub struct Endpoint {
    pub config: Config,
}

impl Endpoint {
    /// `*.toml` = a config file; `postgres://` = catalog, queue and accounts in that database
    /// (files from the environment / defaults); anything else = a data folder.
    pub fn parse(arg: &str, side: Side) -> anyhow::Result<Self> {
        let config = if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            postgres_shorthand(arg)?
        } else if arg.ends_with(".toml") {
            Config::load(Some(Path::new(arg)), &Overrides::default())?
        } else {
            let dir = PathBuf::from(arg);
            if side == Side::From {
                anyhow::ensure!(
                    dir.join(DB_FILE).is_file(),
                    "{arg} is not an imgtag data folder (no {DB_FILE} in it)"
                );
            }
            let flags = Overrides {
                data_dir: Some(dir),
                ..Default::default()
            };
            let mut c = Config::load(None, &flags)?;
            // The folder stands for the embedded setup, whatever the environment says.
            c.catalog = CatalogConfig::Sqlite;
            c.queue = QueueConfig::Sqlite;
            c.blobs = BlobsConfig::Local { dir: None };
            if !matches!(c.accounts, AccountsBackend::Local(_)) {
                c.accounts = AccountsBackend::Local(Default::default());
            }
            c
        };
        Ok(Endpoint { config })
    }
}

fn postgres_shorthand(url: &str) -> anyhow::Result<Config> {
    let mut c = Config::load(None, &Overrides::default())?;
    let section = serde_json::json!({ "type": "postgres", "url": url });
    c.catalog = serde_json::from_value(section.clone()).context("catalog settings")?;
    c.queue = serde_json::from_value(section.clone()).context("queue settings")?;
    c.accounts = serde_json::from_value(section).context("accounts settings")?;
    Ok(c)
}

/// One line saying where each part lives (no secrets: URLs are reduced to their host).
pub fn describe(c: &Config) -> String {
    let dir = c.server.data_dir.display();
    let host = |url: &str| {
        let rest = url.split("://").nth(1).unwrap_or(url);
        let host = rest.rsplit('@').next().unwrap_or(rest);
        format!("postgres {}", host.split(['/', '?']).next().unwrap_or(host))
    };
    let catalog = match &c.catalog {
        CatalogConfig::Sqlite => format!("sqlite in {dir}"),
        CatalogConfig::Dynamodb(d) => format!("dynamodb table {}", d.table),
        CatalogConfig::Postgres(p) => host(&p.url),
        CatalogConfig::Opensearch(o) => format!("opensearch index {}", o.index),
    };
    let blobs = match &c.blobs {
        BlobsConfig::Local { dir: Some(d) } => format!("files in {}", d.display()),
        BlobsConfig::Local { dir: None } => format!("files in {dir}/blobs"),
        BlobsConfig::S3(s) => format!("s3 bucket {}", s.bucket),
    };
    let accounts = match &c.accounts {
        AccountsBackend::Local(_) => format!("local in {dir}"),
        AccountsBackend::Cognito(_) => "cognito".to_string(),
        AccountsBackend::Postgres(p) => host(&p.url),
    };
    let queue = match &c.queue {
        QueueConfig::Sqlite => format!("sqlite in {dir}"),
        QueueConfig::Postgres(p) => host(&p.url),
        QueueConfig::Sqs(q) => format!("sqs {}", q.url),
    };
    format!("catalog {catalog}; blobs {blobs}; accounts {accounts}; queue {queue}")
}

/// The adapters a migration uses on one side.
pub struct Adapters {
    pub catalog: Arc<dyn Catalog>,
    pub blobs: Arc<dyn BlobStore>,
    pub accounts: Arc<dyn Accounts>,
    /// Destination only: where pending images get their tagging job.
    pub queue: Option<Arc<dyn JobQueue>>,
}

/// The destination, wired by `build_state` as `imgtag serve` would.
pub async fn open_destination(e: &Endpoint) -> anyhow::Result<Adapters> {
    let state = build_state(&e.config, &format!("http://{}", e.config.server.addr)).await?;
    let app = state.app;
    Ok(Adapters {
        catalog: app.catalog.clone(),
        blobs: app.blobs.clone(),
        accounts: app.accounts.clone(),
        queue: Some(app.queue.clone()),
    })
}

/// The source, for reading only.
pub async fn open_source(e: &Endpoint) -> anyhow::Result<Adapters> {
    let c = &e.config;
    let dir = &c.server.data_dir;
    let embedded = matches!(c.catalog, CatalogConfig::Sqlite)
        || matches!(c.accounts, AccountsBackend::Local(_));
    let db = if embedded {
        let path = dir.join(DB_FILE);
        Some(
            SqliteDb::open_read_only(&path)
                .with_context(|| format!("opening {} read-only", path.display()))?,
        )
    } else {
        None
    };
    let mut pools = pg::Pools::default();
    let blobs: Arc<dyn BlobStore> = match &c.blobs {
        BlobsConfig::Local { dir: blob_dir } => {
            let root = blob_dir.clone().unwrap_or_else(|| dir.join("blobs"));
            anyhow::ensure!(root.is_dir(), "no files folder at {}", root.display());
            // Only read: the signer is never used for a link anyone follows.
            let signer = Arc::new(Signer::new(rand::random::<[u8; 32]>().to_vec()));
            Arc::new(FsBlobStore::new(root, signer, "http://127.0.0.1".into()))
        }
        BlobsConfig::S3(s) => aws::s3(&c.aws, s).await?,
    };
    let catalog: Arc<dyn Catalog> = match (&c.catalog, &db) {
        (CatalogConfig::Sqlite, Some(db)) => Arc::new(db.catalog()),
        (CatalogConfig::Dynamodb(d), _) => aws::dynamodb(&c.aws, d).await?,
        (CatalogConfig::Postgres(p), _) => pools.catalog(p).await?,
        (CatalogConfig::Opensearch(o), _) => crate::opensearch_wiring::catalog(c, o).await?,
        (CatalogConfig::Sqlite, None) => unreachable!("opened above"),
    };
    let accounts: Arc<dyn Accounts> = match (&c.accounts, &db) {
        (AccountsBackend::Local(a), Some(db)) => {
            Arc::new(LocalAccounts::open_detached(db, a.clone())?)
        }
        (AccountsBackend::Cognito(a), _) => aws::cognito(&c.aws, a).await?,
        (AccountsBackend::Postgres(a), _) => pools.accounts(a).await?,
        (AccountsBackend::Local(_), None) => unreachable!("opened above"),
    };
    Ok(Adapters {
        catalog,
        blobs,
        accounts,
        queue: None,
    })
}
