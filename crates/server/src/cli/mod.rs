//! The `imgtag` command line: serve (the default), offline tagging, bulk import, retagging,
//! account administration, OpenAPI output and shell completions.

mod context;
mod import;
mod jobs;
mod migrate;
mod migrate_copy;
mod migrate_open;
mod migrate_verify;
mod progress;
mod retag;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::config::TaggerConfig;
use crate::{shutdown_signal, telemetry, Application, Config, Overrides};

const EXAMPLES: &str = "Examples:
  imgtag                                   serve on http://127.0.0.1:8080 (data in ./imgtag-data)
  imgtag user add alice                    create an account
  imgtag import ~/Pictures --user alice    store and tag a folder of photos
  imgtag tag photo.jpg                     print a photo's tags, nothing stored";

/// imgtag: an image-tagging API with a built-in neural tagger.
#[derive(Parser)]
#[command(version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web page (the default command).
    #[command(
        after_help = "Examples:\n  imgtag serve --addr 0.0.0.0:8080 --data-dir /var/lib/imgtag\n  \
                            imgtag serve --config imgtag.toml"
    )]
    Serve(ServeArgs),
    /// Tag image files offline and print their tags (nothing is stored).
    #[command(
        after_help = "Examples:\n  imgtag tag cat.jpg coffee.png\n  imgtag tag --json *.jpg"
    )]
    Tag {
        /// Image files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Configuration file (TOML); its [tagger] section applies.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Store and tag every photo in a folder for one user, with progress; re-runs skip
    /// files already imported (same SHA-256), so it is safe to interrupt.
    Import(import::ImportArgs),
    /// Tag stored images again, e.g. after changing the label policy.
    Retag(retag::RetagArgs),
    /// Copy accounts, images, labels and pending work to another setup (e.g. a data folder
    /// to PostgreSQL + S3), then check the counts; resumable, the source is only read.
    Migrate(migrate::MigrateArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Print the OpenAPI 3.1 description of the HTTP API (what GET /openapi.json answers).
    #[command(after_help = "Example:\n  imgtag openapi --base-path /Prod > openapi.json")]
    Openapi {
        /// Path prefix the routes live under, e.g. /Prod.
        #[arg(long, default_value = "")]
        base_path: String,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  imgtag completions bash > ~/.local/share/bash-completion/completions/imgtag\n  \
                            imgtag completions zsh > ~/.zfunc/_imgtag\n  \
                            imgtag completions fish > ~/.config/fish/completions/imgtag.fish"
    )]
    Completions { shell: clap_complete::Shell },
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Configuration file (TOML).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    addr: Option<String>,
    /// Data directory [default: ./imgtag-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Path prefix for every route, e.g. /Prod.
    #[arg(long)]
    base_path: Option<String>,
    /// Tagging workers (0 = none) [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Tag {
            files,
            json,
            config,
        }) => match Config::load(config.as_deref(), &Overrides::default()) {
            Ok(cfg) => {
                // Remote taggers need the server's secrets and wiring; `tag` is the offline tool.
                let TaggerConfig::Builtin(tagger) = cfg.tagger else {
                    return fail(anyhow::anyhow!(
                        "`imgtag tag` runs the built-in model only; the config's [tagger] type \
                         is a remote tagger (use `imgtag serve`, or type = \"builtin\")"
                    ));
                };
                let code = imgtag_vision::cli::run_tag(&files, json, tagger, &cfg.app.labels);
                ExitCode::from(code.clamp(0, 255) as u8)
            }
            Err(e) => fail(e),
        },
        Some(Command::Openapi { base_path }) => {
            let http = imgtag_http::HttpConfig {
                base_path,
                ..Default::default()
            };
            let spec = imgtag_http::openapi_spec(&http.normalised_base());
            match serde_json::to_string_pretty(&spec) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.into()),
            }
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "imgtag", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Some(Command::Import(args)) => block_on(import::run(args)),
        Some(Command::Retag(args)) => block_on(retag::run(args)),
        Some(Command::Migrate(args)) => block_on(migrate::run(args)),
        Some(Command::User(cmd)) => block_on(async { user::run(cmd).await.map(|()| true) }),
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

/// Runs a command; `Ok(false)` means it finished but some items failed (exit code 1).
fn block_on(f: impl std::future::Future<Output = anyhow::Result<bool>>) -> ExitCode {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(f) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(e),
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::from(2)
}

fn serve(args: ServeArgs) -> ExitCode {
    telemetry::init();
    let flags = Overrides {
        addr: args.addr,
        data_dir: args.data_dir,
        base_path: args.base_path,
        workers: args.workers,
    };
    let run = async move {
        let config = Config::load(args.config.as_deref(), &flags)?;
        let app = Application::build(config).await?;
        app.run_until(shutdown_signal()).await
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
