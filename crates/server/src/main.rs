use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use imgtag_server::{
    config::TaggerConfig, shutdown_signal, telemetry, Application, Config, Overrides,
};

/// imgtag: an image-tagging API with a built-in neural tagger.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Tag image files offline and print their tags.
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
    /// Print the OpenAPI 3.1 description of the HTTP API (what GET /openapi.json answers).
    ///
    /// Example: imgtag openapi --base-path /Prod > openapi.json
    Openapi {
        /// Path prefix the routes live under, e.g. /Prod.
        #[arg(long, default_value = "")]
        base_path: String,
    },
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Tag {
            files,
            json,
            config,
        }) => {
            let cfg = match Config::load(config.as_deref(), &Overrides::default()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return std::process::ExitCode::from(2);
                }
            };
            let TaggerConfig::Builtin(tagger) = cfg.tagger;
            let code = imgtag_vision::cli::run_tag(&files, json, tagger, &cfg.app.labels);
            std::process::ExitCode::from(code.clamp(0, 255) as u8)
        }
        Some(Command::Openapi { base_path }) => {
            let http = imgtag_http::HttpConfig {
                base_path,
                ..Default::default()
            };
            let spec = imgtag_http::openapi_spec(&http.normalised_base());
            match serde_json::to_string_pretty(&spec) {
                Ok(text) => {
                    println!("{text}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

fn serve(args: ServeArgs) -> std::process::ExitCode {
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
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
