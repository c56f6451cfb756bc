//! Fills a catalog with a synthetic library for `bench/catalog`: an account `bench` with N
//! tagged images of 5 labels each (Zipf-like tag frequencies over 310 tags), plus other
//! owners' images, written through the catalog's own bulk import (`Catalog::put_records`).
//! Prints the account's bearer token on stdout.
//!
//!     cargo run --release -p imgtag --example catalog_fill -- --data-dir DIR --images 1000000
//!
//! With `--postgres-url` (a build with `--features postgres`) the catalog and the account go
//! to that database instead, as `[catalog]` / `[accounts] type = "postgres"` would put them.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::Parser;
use imgtag_core::{Accounts, BlobKey, Catalog, Image, ImageId, ImageStatus, Label, Owner, TagName};
use imgtag_local::{AccountsConfig, LocalAccounts, SqliteDb};
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    /// The data directory `imgtag serve --data-dir` will use (its SQLite catalog and accounts).
    #[arg(long, required_unless_present = "postgres_url")]
    data_dir: Option<PathBuf>,
    /// Fill this PostgreSQL database (default schema) instead of a data directory.
    #[arg(long, conflicts_with = "data_dir")]
    postgres_url: Option<String>,
    /// Images of the `bench` account.
    #[arg(long, default_value_t = 1_000_000)]
    images: usize,
    /// Other owners, each with a tenth as many images (they share the indexes).
    #[arg(long, default_value_t = 3)]
    other_owners: usize,
    /// Images per transaction.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
}

/// Tag names by popularity rank: `tag-000` is the most common.
const TAGS: usize = 310;
const LABELS_PER_IMAGE: usize = 5;

/// Cumulative Zipf(s = 1) weights over the ranks.
fn zipf_cdf() -> Vec<f64> {
    let weights: Vec<f64> = (1..=TAGS).map(|r| 1.0 / r as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

fn image(owner: &Owner, i: usize, rng: &mut impl Rng, cdf: &[f64]) -> anyhow::Result<Image> {
    let id = ImageId::new();
    let mut ranks: Vec<usize> = Vec::with_capacity(LABELS_PER_IMAGE);
    while ranks.len() < LABELS_PER_IMAGE {
        let u: f64 = rng.gen();
        let r = cdf.partition_point(|&c| c < u).min(TAGS - 1);
        if !ranks.contains(&r) {
            ranks.push(r);
        }
    }
    let labels = ranks
        .into_iter()
        .map(|r| {
            let name = TagName::parse(&format!("tag-{r:03}"))?;
            Ok(Label::auto(name, rng.gen_range(0.3..1.0)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let created = Utc::now() - Duration::seconds(i as i64);
    Ok(Image {
        blob_key: BlobKey::parse(&format!("images/{owner}/{id}"))?,
        id,
        owner: owner.clone(),
        name: format!("photo-{i}.jpg"),
        content_type: "image/jpeg".into(),
        size: 2_000_000,
        width: Some(4000),
        height: Some(3000),
        sha256: format!("{i:064x}"),
        status: ImageStatus::Tagged,
        failure_reason: None,
        labels,
        created_at: created,
        updated_at: created,
    })
}

async fn fill(c: &dyn Catalog, owner: &Owner, n: usize, batch: usize) -> anyhow::Result<()> {
    let cdf = zipf_cdf();
    let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
    let bar = indicatif::ProgressBar::new(n as u64);
    let mut done = 0;
    while done < n {
        let k = batch.min(n - done);
        let images = (done..done + k)
            .map(|i| image(owner, i, &mut rng, &cdf))
            .collect::<anyhow::Result<Vec<_>>>()?;
        c.put_records(&images).await?;
        done += k;
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    Ok(())
}

type Stores = (Arc<dyn Catalog>, Arc<dyn Accounts>);

fn open_sqlite(dir: &std::path::Path) -> anyhow::Result<Stores> {
    std::fs::create_dir_all(dir)?;
    let db = SqliteDb::open_in_dir(dir).context("opening the database")?;
    let accounts = LocalAccounts::open(&db, dir, AccountsConfig::default())?;
    Ok((Arc::new(db.catalog()), Arc::new(accounts)))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> anyhow::Result<Stores> {
    use imgtag_postgres::{PgConfig, PgDb};
    let db = PgDb::connect(&PgConfig::new(url))
        .await
        .context("connecting to PostgreSQL")?;
    let accounts = db.accounts(AccountsConfig::default()).await?;
    Ok((Arc::new(db.catalog()), Arc::new(accounts)))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_: &str) -> anyhow::Result<Stores> {
    anyhow::bail!("--postgres-url needs a build with `--features postgres`")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (catalog, accounts) = match (&args.postgres_url, &args.data_dir) {
        (Some(url), _) => open_postgres(url).await?,
        (None, Some(dir)) => open_sqlite(dir)?,
        (None, None) => unreachable!("clap requires one of them"),
    };
    for i in 0..args.other_owners {
        let other = Owner::parse(&format!("other{i}"))?;
        fill(&*catalog, &other, args.images / 10, args.batch).await?;
    }
    accounts.sign_up("bench", "bench-password").await?;
    let session = accounts.sign_in("bench", "bench-password").await?;
    let owner = accounts.verify(&session.token).await?.owner;
    fill(&*catalog, &owner, args.images, args.batch).await?;
    eprintln!(
        "{} images x {LABELS_PER_IMAGE} labels for {owner} (+{} other owners x {})",
        args.images,
        args.other_owners,
        args.images / 10
    );
    println!("{}", session.token);
    Ok(())
}
