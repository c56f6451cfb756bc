//! Configuration: defaults, then a TOML file, then `IMGTAG__SECTION__KEY` environment
//! variables, then command-line flags; later layers win.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use imgtag_core::services::Settings;
use imgtag_http::HttpConfig;
use imgtag_vision::BuiltinConfig;
use serde::Deserialize;

mod backends;
pub use backends::*;
mod taggers;
pub use taggers::*;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub http: HttpConfig,
    /// Upload limits, URL lifetimes, retries, label renames.
    pub app: Settings,
    #[serde(deserialize_with = "backends::accounts_section")]
    pub accounts: AccountsBackend,
    pub tagger: TaggerConfig,
    /// Where image files live (`type = "local"` or `"s3"`).
    #[serde(deserialize_with = "backends::blobs_section")]
    pub blobs: BlobsConfig,
    /// The image index (`type = "sqlite"` or `"dynamodb"`).
    #[serde(deserialize_with = "backends::catalog_section")]
    pub catalog: CatalogConfig,
    /// The job queue (`type = "sqlite"`, `"postgres"` or `"sqs"`).
    #[serde(deserialize_with = "backends::queue_section")]
    pub queue: QueueConfig,
    /// Where secrets such as API keys come from (`type = "env"`, `"dir"`, `"ssm"`,
    /// `"secretsmanager"`).
    #[serde(deserialize_with = "backends::secrets_section")]
    pub secrets: SecretsConfig,
    /// Defaults for every AWS adapter: `region`, `endpoint_url`.
    pub aws: AwsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: String,
    /// Where the database, files and keys live.
    pub data_dir: PathBuf,
    /// URL clients reach this server at (default: `http://<addr>`); used in signed URLs.
    pub public_url: Option<String>,
    /// Tagging workers; unset = one per core, 0 = none (API only).
    pub workers: Option<usize>,
    /// Seconds to wait for in-flight requests and jobs on shutdown.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("imgtag-data"),
            public_url: None,
            workers: None,
            shutdown_grace_secs: 30,
        }
    }
}

/// Which tagger labels uploads.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum TaggerConfig {
    /// The embedded EfficientNet-Lite2 model.
    Builtin(BuiltinConfig),
    /// Clarifai's API (`--features clarifai` or `aws`).
    Clarifai(ClarifaiConfig),
    /// Amazon Rekognition (`--features aws`).
    Rekognition(RekognitionConfig),
}

impl Default for TaggerConfig {
    fn default() -> Self {
        TaggerConfig::Builtin(BuiltinConfig::default())
    }
}

/// Values given as command-line flags (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub addr: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub base_path: Option<String>,
    pub workers: Option<usize>,
}

impl Config {
    /// Loads the layers. A missing `file` is an error; no file means defaults + env + flags.
    pub fn load(file: Option<&Path>, flags: &Overrides) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(RawDefaults::default()));
        if let Some(f) = file {
            anyhow::ensure!(f.exists(), "config file {} not found", f.display());
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("IMGTAG__").split("__"));
        if let Some(v) = &flags.addr {
            fig = fig.merge(Serialized::default("server.addr", v));
        }
        if let Some(v) = &flags.data_dir {
            fig = fig.merge(Serialized::default("server.data_dir", v));
        }
        if let Some(v) = &flags.base_path {
            fig = fig.merge(Serialized::default("http.base_path", v));
        }
        if let Some(v) = flags.workers {
            fig = fig.merge(Serialized::default("server.workers", v));
        }
        Ok(fig.extract()?)
    }
}

/// An empty document: every section falls back to its serde default.
#[derive(serde::Serialize, Default)]
struct RawDefaults {}

#[cfg(test)]
// figment's `Jail` closures must return its (large) `figment::Error`; nothing to box here.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "[server]\naddr = \"127.0.0.1:1\"\nworkers = 3\n[http]\nbase_path = \"/Prod\"\n",
            )?;
            jail.set_env("IMGTAG__SERVER__ADDR", "127.0.0.1:2");
            let flags = Overrides {
                workers: Some(0),
                ..Default::default()
            };
            let c = Config::load(Some(Path::new("c.toml")), &flags).unwrap();
            assert_eq!(c.server.addr, "127.0.0.1:2");
            assert_eq!(c.server.workers, Some(0));
            assert_eq!(c.http.base_path, "/Prod");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nadr = \"x\"\n")?;
            assert!(Config::load(Some(Path::new("c.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../README.md");
        let toml = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("README has a TOML example");
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", toml)?;
            let c = Config::load(Some(Path::new("c.toml")), &Overrides::default()).unwrap();
            assert_eq!(c.app.labels.aliases["tabby cat"], "cat");
            let TaggerConfig::Builtin(t) = c.tagger else {
                panic!("the README example uses the built-in tagger")
            };
            assert_eq!(t.top_k, 10);
            Ok(())
        });
    }
}
