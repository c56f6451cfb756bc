//! `[catalog] type = "opensearch"` (alias `"elasticsearch"`): the catalog on OpenSearch 2.x /
//! Elasticsearch 8.x, behind the `opensearch` cargo feature. The section parses in every
//! build, so naming it in a build without the feature fails at start-up with a message saying
//! how to get one that has it.

use std::sync::Arc;

use imgtag_core::Catalog;
use serde::Deserialize;

use crate::config::Config;

/// `[catalog]` with `type = "opensearch"`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSearchSection {
    /// `https://search-photos-abc.eu-west-1.es.amazonaws.com`, `http://127.0.0.1:9200`.
    pub url: String,
    /// One document per image; created with imgtag's mapping when `create_index` is set.
    #[serde(default = "default_index")]
    pub index: String,
    #[serde(default = "default_true")]
    pub create_index: bool,
    /// `"wait_for"` (default) or `"true"`: either way a write is searchable when it returns.
    #[serde(default = "default_refresh")]
    pub refresh: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default)]
    pub auth: OpenSearchAuth,
}

/// `[catalog.auth]`, selected by `type`.
#[derive(Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum OpenSearchAuth {
    #[default]
    None,
    /// `password`, or `password_secret`: a name looked up through `[secrets]`.
    Basic {
        username: String,
        password: Option<String>,
        password_secret: Option<String>,
    },
    /// Amazon OpenSearch Service (`service = "es"`) or Serverless (`"aoss"`); credentials
    /// from the standard AWS chain, region from here, `[aws]`, or the chain.
    Sigv4 {
        #[serde(default = "default_service")]
        service: String,
        region: Option<String>,
    },
}

fn default_index() -> String {
    "imgtag-images".into()
}
fn default_true() -> bool {
    true
}
fn default_refresh() -> String {
    "wait_for".into()
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_service() -> String {
    "es".into()
}

// The password never reaches a log line.
impl std::fmt::Debug for OpenSearchSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.auth {
            OpenSearchAuth::None => "none".to_string(),
            OpenSearchAuth::Basic { username, .. } => format!("basic ({username})"),
            OpenSearchAuth::Sigv4 { service, region } => format!("sigv4 ({service}, {region:?})"),
        };
        f.debug_struct("OpenSearchSection")
            .field("url", &self.url)
            .field("index", &self.index)
            .field("create_index", &self.create_index)
            .field("refresh", &self.refresh)
            .field("auth", &auth)
            .finish()
    }
}

#[cfg(feature = "opensearch")]
pub async fn catalog(config: &Config, c: &OpenSearchSection) -> anyhow::Result<Arc<dyn Catalog>> {
    use anyhow::Context;
    use imgtag_opensearch::{Auth, OpenSearchCatalog, OpenSearchConfig, Refresh, SigV4};

    let refresh = match c.refresh.as_str() {
        "wait_for" => Refresh::WaitFor,
        "true" => Refresh::Immediate,
        other => anyhow::bail!("catalog.refresh = {other:?}: use \"wait_for\" or \"true\""),
    };
    let auth = match &c.auth {
        OpenSearchAuth::None => Auth::None,
        OpenSearchAuth::Basic {
            username,
            password,
            password_secret,
        } => {
            let password = match (password, password_secret) {
                (Some(p), None) => imgtag_core::SecretValue::new(p.clone()),
                (None, Some(name)) => crate::build_secrets(config)
                    .await?
                    .get(name)
                    .await
                    .with_context(|| format!("reading the opensearch password secret {name:?}"))?,
                _ => anyhow::bail!(
                    "[catalog.auth] type = \"basic\" needs exactly one of `password` and \
                     `password_secret`"
                ),
            };
            Auth::Basic {
                username: username.clone(),
                password,
            }
        }
        OpenSearchAuth::Sigv4 { service, region } => {
            let region = region.clone().or_else(|| config.aws.region.clone());
            let (provider, region) = imgtag_opensearch::default_chain(region)
                .await
                .context("loading AWS credentials for SigV4")?;
            Auth::SigV4(SigV4::new(service, &region, provider))
        }
    };
    let os = OpenSearchConfig {
        create_index: c.create_index,
        auth,
        refresh,
        timeout: std::time::Duration::from_secs(c.timeout_secs),
        ..OpenSearchConfig::new(&c.url, &c.index)
    };
    let catalog = OpenSearchCatalog::connect(&os)
        .await
        .with_context(|| format!("opening the opensearch index {} at {}", c.index, c.url))?;
    Ok(Arc::new(catalog))
}

#[cfg(not(feature = "opensearch"))]
pub async fn catalog(_: &Config, _: &OpenSearchSection) -> anyhow::Result<Arc<dyn Catalog>> {
    anyhow::bail!(
        "catalog.type = \"opensearch\" needs the OpenSearch adapter, which this build of imgtag \
         does not include: build it with `cargo build -p imgtag --features opensearch`"
    )
}

#[cfg(test)]
// figment's `Jail` closures must return its (large) `figment::Error`.
#[allow(clippy::result_large_err)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{CatalogConfig, Overrides};

    fn load(toml: &str) -> Result<Config, String> {
        let mut out = Err(String::new());
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", toml)?;
            out = Config::load(Some(Path::new("c.toml")), &Overrides::default())
                .map_err(|e| e.to_string());
            Ok(())
        });
        out
    }

    fn section(toml: &str) -> OpenSearchSection {
        match load(toml).unwrap().catalog {
            CatalogConfig::Opensearch(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn opensearch_sections_parse() {
        let c = section(
            "[catalog]\ntype = \"opensearch\"\nurl = \"https://es:9200\"\n\
             [catalog.auth]\ntype = \"basic\"\nusername = \"imgtag\"\npassword = \"pw-7hq2x\"\n",
        );
        assert_eq!((c.index.as_str(), c.create_index), ("imgtag-images", true));
        assert_eq!((c.refresh.as_str(), c.timeout_secs), ("wait_for", 30));
        assert!(matches!(&c.auth, OpenSearchAuth::Basic { username, .. } if username == "imgtag"));
        // The password never reaches a log line through `Debug`.
        assert!(!format!("{c:?}").contains("pw-7hq2x"));

        let c = section(
            "[catalog]\ntype = \"elasticsearch\"\nurl = \"https://x\"\nindex = \"photos\"\n\
             create_index = false\n[catalog.auth]\ntype = \"sigv4\"\nregion = \"eu-west-1\"\n",
        );
        assert_eq!((c.index.as_str(), c.create_index), ("photos", false));
        match c.auth {
            OpenSearchAuth::Sigv4 { service, region } => {
                assert_eq!(
                    (service.as_str(), region.as_deref()),
                    ("es", Some("eu-west-1"))
                )
            }
            _ => panic!("not sigv4"),
        }
        assert!(matches!(
            section("[catalog]\ntype = \"opensearch\"\nurl = \"http://x\"\n").auth,
            OpenSearchAuth::None
        ));
        for bad in [
            "[catalog]\ntype = \"opensearch\"\n", // no url
            "[catalog]\ntype = \"opensearch\"\nurl = \"x\"\nbogus = 1\n",
            "[catalog]\ntype = \"opensearch\"\nurl = \"x\"\n[catalog.auth]\ntype = \"kerberos\"\n",
            "[catalog]\ntype = \"opensearch\"\nurl = \"x\"\n[catalog.auth]\ntype = \"basic\"\n",
        ] {
            assert!(load(bad).is_err(), "accepted: {bad}");
        }
    }

    #[cfg(not(feature = "opensearch"))]
    #[tokio::test]
    async fn naming_opensearch_without_the_feature_says_how_to_get_it() {
        let c = section("[catalog]\ntype = \"opensearch\"\nurl = \"http://127.0.0.1:1\"\n");
        let err = match catalog(&Config::default(), &c).await {
            Ok(_) => panic!("an opensearch catalog without the feature"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("--features opensearch"), "{err}");
    }

    #[cfg(feature = "opensearch")]
    #[tokio::test]
    async fn basic_auth_needs_exactly_one_password_source() {
        let c = section(
            "[catalog]\ntype = \"opensearch\"\nurl = \"http://127.0.0.1:1\"\n\
             [catalog.auth]\ntype = \"basic\"\nusername = \"u\"\npassword = \"p\"\n\
             password_secret = \"s\"\n",
        );
        let err = match catalog(&Config::default(), &c).await {
            Ok(_) => panic!("two password sources accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("exactly one"), "{err}");
    }
}
