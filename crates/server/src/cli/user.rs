//! `imgtag user add|list|delete|passwd`: account administration on the configured store.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use clap::Subcommand;
use imgtag_core::services::App;

use super::context::DataArgs;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account.
    #[command(
        after_help = "Examples:\n  imgtag user add alice            (asks for the password)\n  \
                            echo 'S3cret!pass' | imgtag user add alice --password-stdin"
    )]
    Add {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List accounts.
    #[command(after_help = "Example:\n  imgtag user list --json")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Delete an account and all of its images, files and thumbnails.
    #[command(after_help = "Example:\n  imgtag user delete alice --yes")]
    Delete {
        username: String,
        /// Confirm the deletion (required: it cannot be undone).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set a new password; the account's open sessions end.
    #[command(after_help = "Examples:\n  imgtag user passwd alice\n  \
                            echo 'N3w!pass' | imgtag user passwd alice --password-stdin")]
    Passwd {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

pub async fn run(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            username,
            password_stdin,
            data,
        } => {
            let password = read_password(password_stdin)?;
            let (app, _) = data.open().await?;
            app.accounts.sign_up(&username, &password).await?;
            println!("created user {username}");
        }
        UserCommand::List { json, data } => {
            let (app, _) = data.open().await?;
            list(&app, json).await?;
        }
        UserCommand::Delete {
            username,
            yes,
            data,
        } => {
            let (app, _) = data.open().await?;
            let user = app
                .accounts
                .find_user(&username)
                .await?
                .with_context(|| format!("no user named {username}"))?;
            let images = app.image_ids(&user.owner, None).await?.len();
            if !yes {
                bail!("this deletes {username} and their {images} image(s); add --yes to confirm");
            }
            let n = app.delete_user(&username).await?;
            println!("deleted user {} and {n} image(s)", user.username);
        }
        UserCommand::Passwd {
            username,
            password_stdin,
            data,
        } => {
            let (app, _) = data.open().await?;
            if app.accounts.find_user(&username).await?.is_none() {
                bail!("no user named {username}");
            }
            let password = read_password(password_stdin)?;
            app.accounts.set_password(&username, &password).await?;
            println!("password changed for {username}");
        }
    }
    Ok(())
}

async fn list(app: &App, json: bool) -> anyhow::Result<()> {
    let users = app.accounts.list_users().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(());
    }
    println!("{:<24} {:<34} CREATED", "USERNAME", "ID");
    for u in &users {
        let created = u
            .created_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        println!("{:<24} {:<34} {created}", u.username, u.owner);
    }
    Ok(())
}

/// From stdin when asked (scripts), else typed twice at a hidden prompt.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_string();
        if password.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!("standard input is not a terminal: pass the password with --password-stdin");
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Repeat password: ")?;
    if first != again {
        bail!("the passwords do not match");
    }
    Ok(first)
}
