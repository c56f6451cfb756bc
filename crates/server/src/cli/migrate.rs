//! `imgtag migrate --from X --to Y`: copies accounts, images (files, thumbnails, catalog
//! records with their labels) and pending tagging work from one set of adapters to another,
//! then checks per-owner image and tag counts on both sides.
//!
//! Resumable: everything is keyed by id and skipped when already at the destination, so a
//! killed run is finished by running it again, and a second run copies nothing and verifies.
//! The source is opened read-only (see `migrate_open`).

use anyhow::Context;
use clap::Args;
use imgtag_core::{Error, Owner};

use super::migrate_copy::{copy_owner, owner_images, Tally};
use super::migrate_open::{describe, open_destination, open_source, Endpoint, Side};
use super::migrate_verify::verify;
use super::progress::Progress;

#[derive(Args, Debug)]
#[command(after_help = "FROM and TO are each one of:
  a configuration file (*.toml, the format `imgtag serve --config` reads),
  a data folder (the embedded SQLite + files setup in that folder),
  a postgres:// URL (catalog, queue and accounts in that database; files where the
    IMGTAG__ environment or the defaults put them, ./imgtag-data/blobs).

Examples:
  imgtag migrate --from ./imgtag-data --to production.toml
  imgtag migrate --from ./imgtag-data --to /srv/imgtag-data
  imgtag migrate --from old.toml --to new.toml > migrate.log   (plain progress lines)")]
pub struct MigrateArgs {
    /// Where the data is now (never written to).
    #[arg(long)]
    pub from: String,
    /// Where the data goes.
    #[arg(long)]
    pub to: String,
    /// Images copied at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<bool> {
    let from = Endpoint::parse(&args.from, Side::From).context("--from")?;
    let to = Endpoint::parse(&args.to, Side::To).context("--to")?;
    println!("from: {}", describe(&from.config));
    println!("to:   {}", describe(&to.config));
    let src = open_source(&from).await.context("opening the source")?;
    let dst = open_destination(&to)
        .await
        .context("opening the destination")?;

    let owners = copy_users(&*src.accounts, &*dst.accounts).await?;
    let mut lists = Vec::with_capacity(owners.len());
    for owner in &owners {
        lists.push((owner.clone(), owner_images(&src, owner).await?));
    }
    let total: u64 = lists.iter().map(|(_, l)| l.len() as u64).sum();
    println!("copying {total} image(s) of {} account(s)", owners.len());
    let progress = Progress::new(total, "migrating");
    let mut tally = Tally::default();
    for (owner, images) in lists {
        let t = copy_owner(&src, &dst, &owner, images, args.parallel.into(), &progress).await;
        match t {
            Ok(t) => tally.add(t),
            Err(e) => {
                progress.finish();
                return Err(e.context(format!(
                    "copying the images of {owner}; run the same command again to resume"
                )));
            }
        }
    }
    progress.finish();
    println!(
        "images: {} copied, {} already there; {} tagging job(s) queued; {} file(s) missing \
         at the source",
        tally.copied, tally.skipped, tally.queued, tally.missing_blobs
    );
    let diffs = verify(&src, &dst, &owners).await?;
    if diffs.is_empty() {
        println!(
            "verified: image and tag counts match for all {} account(s)",
            owners.len()
        );
        Ok(true)
    } else {
        eprintln!("verification failed: the destination differs from the source:");
        for d in &diffs {
            eprintln!("  {d}");
        }
        Ok(false)
    }
}

/// Copies every account (same owner id and password hash), returning every source owner.
/// A source that cannot export hashes (Cognito) keeps its accounts where they are: its
/// owners' images are still copied, under the same owner ids.
async fn copy_users(
    src: &dyn imgtag_core::Accounts,
    dst: &dyn imgtag_core::Accounts,
) -> anyhow::Result<Vec<Owner>> {
    let users = match src.export_users().await {
        Ok(u) => u,
        Err(Error::Invalid {
            code: "unsupported",
            ..
        }) => {
            let users = src
                .list_users()
                .await
                .context("listing the source accounts")?;
            println!(
                "accounts: the source cannot export password hashes; {} account(s) not \
                 copied (their images are, under the same owner ids)",
                users.len()
            );
            return Ok(users.into_iter().map(|u| u.owner).collect());
        }
        Err(e) => return Err(anyhow::Error::new(e).context("exporting the source accounts")),
    };
    let (mut added, mut there) = (0, 0);
    for user in &users {
        let name = user.username.clone();
        match dst.import_user(user.clone()).await {
            Ok(true) => added += 1,
            Ok(false) => there += 1,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("importing account {name}")))
            }
        }
    }
    println!("accounts: {added} copied, {there} already there");
    Ok(users.into_iter().map(|u| u.owner).collect())
}
