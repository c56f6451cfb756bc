//! `imgtag retag`: tags existing images again (after a model or label-policy change).

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Args;
use imgtag_core::services::App;
use imgtag_core::{ImageId, ImageStatus, Owner, TagName};

use super::context::{workers, DataArgs};
use super::jobs::produce_and_tag;

#[derive(Args, Debug)]
#[command(
    group(clap::ArgGroup::new("which").required(true).multiple(true).args(["all", "user", "tag"])),
    after_help = "Examples:\n  imgtag retag --all\n  imgtag retag --user alice\n  \
                  imgtag retag --tag cat              (every user's images tagged cat)\n  \
                  imgtag retag --user alice --tag cat"
)]
pub struct RetagArgs {
    /// Every image of every user.
    #[arg(long, conflicts_with = "user")]
    pub all: bool,
    /// Only this user's images.
    #[arg(long, short)]
    pub user: Option<String>,
    /// Only images carrying this tag.
    #[arg(long, short)]
    pub tag: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
}

pub async fn run(args: RetagArgs) -> anyhow::Result<bool> {
    let (app, config) = args.data.open().await?;
    let tag = args.tag.as_deref().map(TagName::parse).transpose()?;
    let owners: Vec<Owner> = match &args.user {
        Some(name) => {
            let user = app
                .accounts
                .find_user(name)
                .await?
                .with_context(|| format!("no user named {name}"))?;
            vec![user.owner]
        }
        None => app
            .accounts
            .list_users()
            .await?
            .into_iter()
            .map(|u| u.owner)
            .collect(),
    };
    let mut chosen: Vec<(Owner, ImageId)> = Vec::new();
    for owner in owners {
        for id in app.image_ids(&owner, tag.as_ref()).await? {
            chosen.push((owner.clone(), id));
        }
    }
    println!("retagging {} image(s)", chosen.len());
    let (chosen_ref, app_ref) = (&chosen, &app);
    produce_and_tag(
        &app,
        workers(&config),
        chosen.len() as u64,
        "retagging",
        |_, stop| async move { enqueue_all(app_ref, chosen_ref, &stop).await },
    )
    .await?;
    report(&app, &chosen).await
}

async fn enqueue_all(
    app: &App,
    chosen: &[(Owner, ImageId)],
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    for (owner, id) in chosen {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match app.retag(owner, id.as_str()).await {
            // Deleted meanwhile: nothing to do.
            Ok(_) | Err(imgtag_core::Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn report(app: &App, chosen: &[(Owner, ImageId)]) -> anyhow::Result<bool> {
    let (mut tagged, mut pending, mut failed) = (0, 0, Vec::new());
    for (owner, id) in chosen {
        match app.catalog.get_image(owner, id).await? {
            Some(i) if i.status == ImageStatus::Tagged => tagged += 1,
            Some(i) if i.status == ImageStatus::Failed => {
                failed.push((i.id, i.failure_reason.unwrap_or_default()))
            }
            Some(_) => pending += 1,
            None => {}
        }
    }
    println!("tagged: {tagged}");
    println!("failed: {}", failed.len());
    for (id, why) in &failed {
        println!("  {id}: {why}");
    }
    if pending > 0 {
        println!("not finished: {pending} image(s) still pending; they are tagged by the next `imgtag serve` or retag");
    }
    Ok(failed.is_empty())
}
