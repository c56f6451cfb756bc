//! `imgtag import DIR --user NAME`: stores and tags every photo under a folder, through the
//! same services as the API. Re-running skips what is already there, so it is safe to stop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Args;
use imgtag_core::services::{App, Imported};
use imgtag_core::{Error, ImageId, ImageStatus, Owner};

use super::context::{workers, DataArgs};
use super::jobs::produce_and_tag;
use super::progress::Progress;

/// File name extensions taken for images; everything else in the folder is left alone.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "webp", "gif", "bmp", "tif", "tiff",
];

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  imgtag import ~/Pictures --user alice\n  \
                        imgtag import ./photos --user alice > import.log   (plain progress lines)")]
pub struct ImportArgs {
    /// Folder to import (searched recursively; hidden files and folders are skipped).
    pub dir: PathBuf,
    /// The account that will own the images.
    #[arg(long, short)]
    pub user: String,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Default)]
struct Summary {
    new: Vec<(PathBuf, ImageId)>,
    skipped: usize,
    rejected: Vec<(PathBuf, String)>,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<bool> {
    let (app, config) = args.data.open().await?;
    let user = app.accounts.find_user(&args.user).await?.with_context(|| {
        format!(
            "no user named {0}; create it with `imgtag user add {0}`",
            args.user
        )
    })?;
    let files = image_files(&args.dir)?;
    println!(
        "importing {} file(s) from {} for {}",
        files.len(),
        args.dir.display(),
        user.username
    );
    let (owner, files, app_ref) = (&user.owner, &files, &app);
    let (summary, interrupted) = produce_and_tag(
        &app,
        workers(&config),
        files.len() as u64,
        "importing",
        |progress, stop| async move { store_all(app_ref, owner, files, &progress, &stop).await },
    )
    .await?;
    report(&app, owner, &summary, interrupted).await
}

async fn store_all(
    app: &App,
    owner: &Owner,
    files: &[PathBuf],
    progress: &Progress,
    stop: &AtomicBool,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let max = app.settings.max_upload_bytes;
    for path in files {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = match std::fs::metadata(path) {
            Ok(m) if m.len() > max => Err(format!("larger than the {max}-byte limit")),
            Ok(_) => match std::fs::read(path) {
                Ok(bytes) => match app.import_bytes(owner, &name, bytes.into()).await {
                    Ok(done) => Ok(done),
                    Err(e) if is_bad_file(&e) => Err(e.to_string()),
                    Err(e) => return Err(e.into()),
                },
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(Imported::New(image)) => summary.new.push((path.clone(), image.id)),
            Ok(Imported::Existing(_)) => {
                summary.skipped += 1;
                progress.inc();
            }
            Err(why) => {
                progress.println(format!("failed: {}: {why}", path.display()));
                summary.rejected.push((path.clone(), why));
                progress.inc();
            }
        }
    }
    Ok(summary)
}

/// Bad files are reported and skipped; anything else (storage, queue) stops the import, which
/// a re-run resumes.
fn is_bad_file(e: &Error) -> bool {
    matches!(
        e,
        Error::Invalid { .. } | Error::TooLarge(_) | Error::UnsupportedMedia(_)
    )
}

/// Image files under `dir`, sorted, hidden entries skipped.
fn image_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(dir.is_dir(), "{} is not a folder", dir.display());
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let is_image = entry.path().extension().is_some_and(|x| {
            let x = x.to_string_lossy().to_ascii_lowercase();
            IMAGE_EXTENSIONS.contains(&x.as_str())
        });
        if entry.file_type().is_file() && is_image {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// Prints the summary; `Ok(false)` when some file failed.
async fn report(app: &App, owner: &Owner, s: &Summary, interrupted: bool) -> anyhow::Result<bool> {
    let (mut tagged, mut pending, mut failed) = (0, 0, Vec::new());
    for (path, id) in &s.new {
        match app.catalog.get_image(owner, id).await? {
            Some(img) if img.status == ImageStatus::Tagged => tagged += 1,
            Some(img) if img.status == ImageStatus::Failed => {
                failed.push((path, img.failure_reason.unwrap_or_default()))
            }
            Some(_) => pending += 1,
            None => {}
        }
    }
    println!("imported: {} ({tagged} tagged)", s.new.len());
    println!("skipped (already imported): {}", s.skipped);
    println!("failed: {}", s.rejected.len() + failed.len());
    for (path, why) in &s.rejected {
        println!("  {}: {why}", path.display());
    }
    for (path, why) in &failed {
        println!("  {}: tagging failed: {why}", path.display());
    }
    if pending > 0 || interrupted {
        println!("not finished: {pending} image(s) still pending; run the same command again");
    }
    Ok(s.rejected.is_empty() && failed.is_empty())
}
