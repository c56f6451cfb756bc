//! Which adapter serves each port: `[blobs]`, `[catalog]`, `[accounts]`, `[secrets]`, each
//! selected by `type` (the embedded one when absent), plus `[aws]`, the connection defaults of
//! every AWS adapter. These types parse without the `aws` cargo feature, so a config naming an
//! AWS adapter in a build without it fails with a clear message instead of "unknown field".

use std::path::PathBuf;

use imgtag_local::AccountsConfig;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

/// Deserializes an internally tagged section whose `type` may be left out (meaning `default`):
/// `[accounts] min_password_len = 8` keeps working as it did before `type` existed.
fn with_default_type<'de, D, T>(d: D, default: &str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let mut v = serde_json::Value::deserialize(d)?;
    if let Some(section) = v.as_object_mut() {
        section
            .entry("type")
            .or_insert_with(|| serde_json::Value::from(default));
    }
    T::deserialize(v).map_err(D::Error::custom)
}

/// `[aws]`: region and endpoint for every AWS adapter. A section's own `region` /
/// `endpoint_url` win; unset everywhere, the SDK's default chain applies (`AWS_REGION`,
/// profile, instance metadata) and the real AWS endpoints.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AwsConfig {
    pub region: Option<String>,
    /// A custom endpoint: an emulator such as moto, or an S3-compatible store.
    pub endpoint_url: Option<String>,
}

impl AwsConfig {
    /// These defaults, overridden by the values a section sets itself.
    pub fn merged(&self, region: &Option<String>, endpoint_url: &Option<String>) -> AwsConfig {
        AwsConfig {
            region: region.clone().or_else(|| self.region.clone()),
            endpoint_url: endpoint_url.clone().or_else(|| self.endpoint_url.clone()),
        }
    }
}

/// Where image files live.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum BlobsConfig {
    /// Files in a folder, uploads and downloads through this server.
    Local {
        /// Default `<data_dir>/blobs`. Several instances behind a load balancer point this at
        /// one shared folder (NFS, a shared volume).
        #[serde(default)]
        dir: Option<PathBuf>,
    },
    /// An S3 bucket; clients upload and download straight from it with pre-signed requests.
    S3(S3Config),
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig::Local { dir: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// Bucket in the path (`http://host/bucket/key`): emulators and most S3-compatible stores.
    #[serde(default)]
    pub force_path_style: bool,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The image index.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum CatalogConfig {
    /// The embedded database in `<data_dir>`.
    #[default]
    Sqlite,
    /// A DynamoDB table (on-demand, single-table design).
    Dynamodb(DynamoConfig),
    /// A PostgreSQL database, shared by several instances.
    Postgres(PostgresConfig),
    /// An OpenSearch 2.x / Elasticsearch 8.x index (the `opensearch` cargo feature).
    #[serde(alias = "elasticsearch")]
    Opensearch(crate::opensearch_wiring::OpenSearchSection),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoConfig {
    pub table: String,
    /// Create the table at start-up if it does not exist (needs `dynamodb:CreateTable`).
    #[serde(default)]
    pub create_table: bool,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// User accounts and tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum AccountsBackend {
    /// Accounts in the embedded database, tokens signed by this server.
    Local(AccountsConfig),
    /// A Cognito user pool.
    Cognito(CognitoConfig),
    /// Accounts in PostgreSQL, shared by several instances, with the JWT signing key and the
    /// URL-signing secret stored there too (so every instance signs with the same keys).
    Postgres(PgAccountsConfig),
}

/// `[accounts] type = "postgres"`: the connection (a catalog or queue with the same `url` and
/// `schema` shares its pool) and the local accounts' settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgAccountsConfig {
    pub url: String,
    pub schema: Option<String>,
    #[serde(default = "default_pg_max_connections")]
    pub max_connections: u32,
    #[serde(default = "default_pg_acquire_timeout_secs")]
    pub acquire_timeout_secs: u64,
    #[serde(default = "default_min_password_len")]
    pub min_password_len: usize,
    #[serde(default = "default_token_ttl_secs")]
    pub token_ttl_secs: u64,
    #[serde(default = "default_refresh_ttl_secs")]
    pub refresh_ttl_secs: u64,
}

fn default_token_ttl_secs() -> u64 {
    AccountsConfig::default().token_ttl_secs
}

fn default_refresh_ttl_secs() -> u64 {
    AccountsConfig::default().refresh_ttl_secs
}

impl PgAccountsConfig {
    /// The connection part.
    pub fn postgres(&self) -> PostgresConfig {
        PostgresConfig {
            url: self.url.clone(),
            schema: self.schema.clone(),
            max_connections: self.max_connections,
            acquire_timeout_secs: self.acquire_timeout_secs,
        }
    }

    /// The accounts part.
    pub fn accounts(&self) -> AccountsConfig {
        AccountsConfig {
            min_password_len: self.min_password_len,
            token_ttl_secs: self.token_ttl_secs,
            refresh_ttl_secs: self.refresh_ttl_secs,
        }
    }
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for PgAccountsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgAccountsConfig")
            .field("postgres", &self.postgres())
            .field("accounts", &self.accounts())
            .finish()
    }
}

impl Default for AccountsBackend {
    fn default() -> Self {
        AccountsBackend::Local(AccountsConfig::default())
    }
}

/// `[accounts]`: `type` defaults to `local`.
pub(super) fn accounts_section<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<AccountsBackend, D::Error> {
    with_default_type(d, "local")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoConfig {
    pub user_pool_id: String,
    /// An app client without a secret, allowing `USER_PASSWORD_AUTH` and `REFRESH_TOKEN_AUTH`.
    pub client_id: String,
    /// Expected token issuer; default `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    pub issuer: Option<String>,
    /// Where the pool's signing keys are; default `<issuer>/.well-known/jwks.json` (with an
    /// `endpoint_url`: `<endpoint>/<pool>/.well-known/jwks.json`).
    pub jwks_url: Option<String>,
    /// Confirm sign-ups with AdminConfirmSignUp (pools without an auto-confirming
    /// pre-sign-up trigger, and emulators).
    #[serde(default)]
    pub auto_confirm: bool,
    /// Shortest accepted password; the pool's own policy applies on top.
    #[serde(default = "default_min_password_len")]
    pub min_password_len: usize,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

fn default_min_password_len() -> usize {
    6
}

/// Where API keys and other secrets come from (each read once per process).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretsConfig {
    /// Environment variables `<prefix><NAME>`.
    Env {
        #[serde(default = "default_env_prefix")]
        prefix: String,
    },
    /// One file per secret in a directory (Docker / Kubernetes secrets).
    Dir { dir: PathBuf },
    /// SSM Parameter Store parameters `<prefix><name>` (SecureString, decrypted).
    Ssm {
        #[serde(default)]
        prefix: String,
        region: Option<String>,
        endpoint_url: Option<String>,
    },
    /// Secrets Manager secrets `<prefix><name>`.
    Secretsmanager {
        #[serde(default)]
        prefix: String,
        region: Option<String>,
        endpoint_url: Option<String>,
    },
}

fn default_env_prefix() -> String {
    "IMGTAG_SECRET_".into()
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig::Env {
            prefix: default_env_prefix(),
        }
    }
}

/// `[secrets]`: `type` defaults to `env`.
pub(super) fn secrets_section<'de, D: Deserializer<'de>>(d: D) -> Result<SecretsConfig, D::Error> {
    with_default_type(d, "env")
}

/// `[blobs]`: `type` defaults to `local`.
pub(super) fn blobs_section<'de, D: Deserializer<'de>>(d: D) -> Result<BlobsConfig, D::Error> {
    with_default_type(d, "local")
}

/// `[catalog]`: `type` defaults to `sqlite`.
pub(super) fn catalog_section<'de, D: Deserializer<'de>>(d: D) -> Result<CatalogConfig, D::Error> {
    with_default_type(d, "sqlite")
}

/// The job queue that tagging (and other background work) goes through.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum QueueConfig {
    /// The embedded database in `<data_dir>`: one process.
    #[default]
    Sqlite,
    /// A PostgreSQL table shared by several instances; a crashed instance's jobs come back
    /// when their lease ends.
    Postgres(PostgresConfig),
    /// An SQS FIFO queue (the `aws` cargo feature): what a Lambda deployment's functions share.
    Sqs(SqsConfig),
}

/// `[queue] type = "sqs"`: region and endpoint default to `[aws]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// The FIFO queue's URL, `https://sqs.<region>.amazonaws.com/<account>/<name>.fifo`.
    pub url: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// `[queue]`: `type` defaults to `sqlite`.
pub(super) fn queue_section<'de, D: Deserializer<'de>>(d: D) -> Result<QueueConfig, D::Error> {
    with_default_type(d, "sqlite")
}

/// A PostgreSQL database (`[catalog]` / `[queue]` with `type = "postgres"`). A catalog and a
/// queue with the same `url` and `schema` share one connection pool.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:5432/database` (`?sslmode=require` for TLS).
    pub url: String,
    /// Schema for imgtag's tables, created if missing; default: the server's `search_path`.
    pub schema: Option<String>,
    /// Connections per instance.
    #[serde(default = "default_pg_max_connections")]
    pub max_connections: u32,
    /// Seconds a request waits for a free connection before failing as unavailable.
    #[serde(default = "default_pg_acquire_timeout_secs")]
    pub acquire_timeout_secs: u64,
}

fn default_pg_max_connections() -> u32 {
    10
}

fn default_pg_acquire_timeout_secs() -> u64 {
    10
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

#[cfg(test)]
// figment's `Jail` closures must return its (large) `figment::Error`; nothing to box here.
#[allow(clippy::result_large_err)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Config, Overrides};

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

    #[test]
    fn the_embedded_adapters_are_the_default() {
        let c = load("").unwrap();
        assert!(matches!(c.blobs, BlobsConfig::Local { dir: None }));
        assert!(matches!(c.catalog, CatalogConfig::Sqlite));
        assert!(matches!(c.accounts, AccountsBackend::Local(_)));
        assert!(matches!(c.secrets, SecretsConfig::Env { .. }));
        // A section without `type` is the embedded adapter with its settings.
        let c = load("[accounts]\nmin_password_len = 9\n[blobs]\n").unwrap();
        match c.accounts {
            AccountsBackend::Local(a) => assert_eq!(a.min_password_len, 9),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aws_adapters_parse() {
        let c = load(
            r#"
[aws]
region = "eu-west-1"
endpoint_url = "http://127.0.0.1:5100"
[blobs]
type = "s3"
bucket = "photos"
force_path_style = true
[catalog]
type = "dynamodb"
table = "imgtag"
create_table = true
[accounts]
type = "cognito"
user_pool_id = "eu-west-1_Abc"
client_id = "client"
auto_confirm = true
[secrets]
type = "ssm"
prefix = "/imgtag/"
region = "us-east-2"
"#,
        )
        .unwrap();
        match &c.blobs {
            BlobsConfig::S3(s) => assert!(s.bucket == "photos" && s.force_path_style),
            other => panic!("{other:?}"),
        }
        match &c.catalog {
            CatalogConfig::Dynamodb(d) => assert!(d.table == "imgtag" && d.create_table),
            other => panic!("{other:?}"),
        }
        match &c.accounts {
            AccountsBackend::Cognito(a) => {
                assert_eq!(a.user_pool_id, "eu-west-1_Abc");
                assert!(a.auto_confirm);
                assert_eq!(a.min_password_len, 6);
            }
            other => panic!("{other:?}"),
        }
        match &c.secrets {
            SecretsConfig::Ssm {
                prefix,
                region,
                endpoint_url,
            } => {
                let merged = c.aws.merged(region, endpoint_url);
                assert_eq!(prefix, "/imgtag/");
                assert_eq!(merged.region.as_deref(), Some("us-east-2"));
                assert_eq!(
                    merged.endpoint_url.as_deref(),
                    Some("http://127.0.0.1:5100")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mistakes_are_errors() {
        for bad in [
            "[blobs]\ntype = \"s3\"\n",                             // no bucket
            "[blobs]\ntype = \"s3\"\nbucket = \"b\"\nbuckit = 1\n", // unknown key
            "[blobs]\ntype = \"gcs\"\n",
            "[accounts]\ntype = \"cognito\"\nclient_id = \"c\"\n",
            "[accounts]\nuser_pool_id = \"x\"\n", // a Cognito key on local accounts
            "[catalog]\ntype = \"dynamodb\"\n",
        ] {
            assert!(load(bad).is_err(), "accepted: {bad}");
        }
    }

    #[test]
    fn scale_out_sections_parse() {
        let c = load(
            r#"
[blobs]
type = "local"
dir = "/shared/blobs"
[accounts]
type = "postgres"
url = "postgres://imgtag:pw-7qx@db:5432/imgtag"
schema = "imgtag"
min_password_len = 10
"#,
        )
        .unwrap();
        match &c.blobs {
            BlobsConfig::Local { dir } => {
                assert_eq!(dir.as_deref(), Some(Path::new("/shared/blobs")))
            }
            other => panic!("{other:?}"),
        }
        match &c.accounts {
            AccountsBackend::Postgres(p) => {
                assert_eq!(p.accounts().min_password_len, 10);
                assert_eq!(p.accounts().token_ttl_secs, 3600);
                assert_eq!(p.postgres().schema.as_deref(), Some("imgtag"));
                assert_eq!(p.postgres().max_connections, 10);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            !format!("{c:?}").contains("pw-7qx"),
            "the password stays out of logs"
        );
        for bad in [
            "[blobs]\ntype = \"local\"\ndri = \"/x\"\n",
            "[accounts]\ntype = \"postgres\"\n", // no url
            "[accounts]\ntype = \"postgres\"\nurl = \"x\"\nclient_id = \"c\"\n",
        ] {
            assert!(load(bad).is_err(), "accepted: {bad}");
        }
    }

    #[test]
    fn the_sqs_queue_parses_from_a_file_and_from_the_environment() {
        let c = load(
            "[aws]\nregion = \"eu-west-1\"\n[queue]\ntype = \"sqs\"\n\
             url = \"https://sqs.eu-west-1.amazonaws.com/1/jobs.fifo\"\n",
        )
        .unwrap();
        match &c.queue {
            QueueConfig::Sqs(q) => {
                assert!(q.url.ends_with("/jobs.fifo"));
                let merged = c.aws.merged(&q.region, &q.endpoint_url);
                assert_eq!(merged.region.as_deref(), Some("eu-west-1"));
            }
            other => panic!("{other:?}"),
        }
        assert!(load("[queue]\ntype = \"sqs\"\n").is_err(), "no url");
        assert!(load("[queue]\ntype = \"sqs\"\nurl = \"u\"\nurll = 1\n").is_err());
        figment::Jail::expect_with(|jail| {
            jail.set_env("IMGTAG__QUEUE__TYPE", "sqs");
            jail.set_env("IMGTAG__QUEUE__URL", "https://sqs.x/1/q.fifo");
            let c = Config::load(None, &Overrides::default()).unwrap();
            match c.queue {
                QueueConfig::Sqs(q) => assert_eq!(q.url, "https://sqs.x/1/q.fifo"),
                other => panic!("{other:?}"),
            }
            Ok(())
        });
    }

    #[test]
    fn environment_variables_select_adapters_too() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("IMGTAG__BLOBS__TYPE", "s3");
            jail.set_env("IMGTAG__BLOBS__BUCKET", "from-env");
            let c = Config::load(None, &Overrides::default()).unwrap();
            match c.blobs {
                BlobsConfig::S3(s) => assert_eq!(s.bucket, "from-env"),
                other => panic!("{other:?}"),
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod readme {
    use std::path::Path;

    use crate::config::{Config, Overrides};

    /// The example in the README's "Running against AWS" section is a working configuration.
    #[test]
    #[allow(clippy::result_large_err)]
    fn the_readme_aws_example_parses() {
        let readme = include_str!("../../../../README.md");
        let toml = readme
            .split("## Running against AWS")
            .nth(1)
            .and_then(|s| s.split("```toml\n").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("README has an AWS TOML example");
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", toml)?;
            let c = Config::load(Some(Path::new("c.toml")), &Overrides::default()).unwrap();
            assert!(matches!(c.blobs, super::BlobsConfig::S3(_)));
            assert!(matches!(c.catalog, super::CatalogConfig::Dynamodb(_)));
            assert!(matches!(c.accounts, super::AccountsBackend::Cognito(_)));
            assert!(matches!(c.secrets, super::SecretsConfig::Ssm { .. }));
            Ok(())
        });
    }

    /// The example in the README's "Scaling out" section is a working configuration.
    #[test]
    #[allow(clippy::result_large_err)]
    fn the_readme_scaling_out_example_parses() {
        let readme = include_str!("../../../../README.md");
        let toml = readme
            .split("## Scaling out")
            .nth(1)
            .and_then(|s| s.split("```toml\n").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("README has a scaling-out TOML example");
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", toml)?;
            let c = Config::load(Some(Path::new("c.toml")), &Overrides::default()).unwrap();
            assert!(matches!(
                c.blobs,
                super::BlobsConfig::Local { dir: Some(_) }
            ));
            assert!(matches!(c.catalog, super::CatalogConfig::Postgres(_)));
            assert!(matches!(c.queue, super::QueueConfig::Postgres(_)));
            assert!(matches!(c.accounts, super::AccountsBackend::Postgres(_)));
            Ok(())
        });
    }
}
