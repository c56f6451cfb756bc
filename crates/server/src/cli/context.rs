//! Opening the configured adapters for a command, exactly as `imgtag serve` would.

use std::path::PathBuf;

use clap::Args;
use imgtag_core::services::App;

use crate::{build_state, Config, Overrides};

/// Where the data lives: the same settings `imgtag serve` reads.
#[derive(Args, Clone, Debug, Default)]
pub struct DataArgs {
    /// Configuration file (TOML).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./imgtag-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl DataArgs {
    pub fn load(&self) -> anyhow::Result<Config> {
        let flags = Overrides {
            data_dir: self.data_dir.clone(),
            ..Default::default()
        };
        Config::load(self.config.as_deref(), &flags)
    }

    /// The application over the configured adapters. Links it makes name the configured public
    /// URL (or the listen address), as the server's would.
    pub async fn open(&self) -> anyhow::Result<(App, Config)> {
        let config = self.load()?;
        let root = match &config.server.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", config.server.addr),
        };
        let public_url = format!("{root}{}", config.http.normalised_base());
        let state = build_state(&config, &public_url).await?;
        Ok((state.app, config))
    }
}

/// Tagging workers for a command: the configured number, else one per core.
pub fn workers(config: &Config) -> usize {
    config
        .server
        .workers
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
