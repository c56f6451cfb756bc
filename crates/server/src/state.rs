//! `build_state`: the one place that picks adapters from configuration.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use imgtag_core::services::App;
use imgtag_core::signing::Signer;
use imgtag_http::AppState;
use imgtag_local::{FsBlobStore, LocalAccounts, SqliteDb};
use imgtag_vision::BuiltinTagger;

use crate::config::{Config, TaggerConfig};

const SIGNING_KEY_FILE: &str = "signing.key";

/// Wires the adapters named by `config`. `public_url` is the API root clients reach, including
/// the base path.
pub fn build_state(config: &Config, public_url: &str) -> anyhow::Result<AppState> {
    let dir = &config.server.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = SqliteDb::open_in_dir(dir).context("opening the database")?;
    let signer = Arc::new(Signer::new(load_or_create_secret(dir)?));
    let blobs = FsBlobStore::new(dir.join("blobs"), signer.clone(), public_url.to_string());
    let accounts =
        LocalAccounts::open(&db, dir, config.accounts.clone()).context("opening local accounts")?;
    let tagger = match &config.tagger {
        TaggerConfig::Builtin(c) => {
            BuiltinTagger::load(c.clone()).context("loading the built-in model")?
        }
    };
    let app = App::new(
        Arc::new(db.catalog()),
        Arc::new(blobs),
        Arc::new(db.queue()),
        Arc::new(tagger),
        Arc::new(accounts),
        config.app.clone(),
    )
    .with_thumbnailer(Arc::new(crate::thumbs::ImageThumbnailer));
    Ok(AppState {
        app,
        config: Arc::new(config.http.clone()),
        public_url: public_url.into(),
        signer: Some(signer),
    })
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
