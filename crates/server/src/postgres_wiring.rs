//! The PostgreSQL adapters behind the `postgres` cargo feature: `[catalog] type = "postgres"`,
//! `[queue] type = "postgres"` and `[accounts] type = "postgres"`. Without the feature, a configuration that names one fails
//! at start-up with a message saying how to get a build that has them.

use std::sync::Arc;

use imgtag_core::{Accounts, Catalog, JobQueue};

use crate::config::{PgAccountsConfig, PostgresConfig};

#[cfg(feature = "postgres")]
mod enabled {
    use super::*;
    use anyhow::Context;
    use imgtag_postgres::{PgConfig, PgDb};

    /// Databases connected so far: a catalog and a queue on the same database (URL and
    /// schema) share one pool.
    #[derive(Default)]
    pub struct Pools {
        open: Vec<(String, Option<String>, PgDb)>,
    }

    impl Pools {
        async fn db(&mut self, c: &PostgresConfig) -> anyhow::Result<PgDb> {
            if let Some((_, _, db)) = self
                .open
                .iter()
                .find(|(url, schema, _)| *url == c.url && *schema == c.schema)
            {
                return Ok(db.clone());
            }
            let config = PgConfig {
                url: c.url.clone(),
                schema: c.schema.clone(),
                max_connections: c.max_connections,
                acquire_timeout: std::time::Duration::from_secs(c.acquire_timeout_secs),
            };
            // The URL may hold a password: the error names the database by schema only.
            let db = PgDb::connect(&config).await.with_context(|| {
                format!(
                    "connecting to PostgreSQL (schema {})",
                    c.schema.as_deref().unwrap_or("default")
                )
            })?;
            self.open
                .push((c.url.clone(), c.schema.clone(), db.clone()));
            Ok(db)
        }

        pub async fn catalog(&mut self, c: &PostgresConfig) -> anyhow::Result<Arc<dyn Catalog>> {
            Ok(Arc::new(self.db(c).await?.catalog()))
        }

        pub async fn queue(&mut self, c: &PostgresConfig) -> anyhow::Result<Arc<dyn JobQueue>> {
            Ok(Arc::new(self.db(c).await?.queue()))
        }

        pub async fn accounts(
            &mut self,
            c: &PgAccountsConfig,
        ) -> anyhow::Result<Arc<dyn Accounts>> {
            let db = self.db(&c.postgres()).await?;
            let accounts = db
                .accounts(c.accounts())
                .await
                .context("reading the JWT signing key from PostgreSQL")?;
            Ok(Arc::new(accounts))
        }

        /// The secret that signs upload policies and file URLs, shared through the database
        /// so an upload signed by one instance can land on another.
        pub async fn url_signing_secret(
            &mut self,
            c: &PgAccountsConfig,
        ) -> anyhow::Result<Vec<u8>> {
            let db = self.db(&c.postgres()).await?;
            db.shared_secret(imgtag_postgres::URL_SIGNING_KEY)
                .await
                .context("reading the URL-signing secret from PostgreSQL")
        }
    }
}

#[cfg(feature = "postgres")]
pub use enabled::*;

#[cfg(not(feature = "postgres"))]
mod disabled {
    use super::*;

    fn missing(what: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{what} needs the PostgreSQL adapters, which this build of imgtag does not \
             include: build it with `cargo build -p imgtag --features postgres`"
        )
    }

    /// Stands in for the connected databases of a build with the feature.
    // Braces, not a unit struct: `state.rs` builds both variants with `Pools::default()`.
    #[derive(Default)]
    pub struct Pools {}

    impl Pools {
        pub async fn catalog(&mut self, _: &PostgresConfig) -> anyhow::Result<Arc<dyn Catalog>> {
            Err(missing("catalog.type = \"postgres\""))
        }

        pub async fn queue(&mut self, _: &PostgresConfig) -> anyhow::Result<Arc<dyn JobQueue>> {
            Err(missing("queue.type = \"postgres\""))
        }

        pub async fn accounts(
            &mut self,
            _: &PgAccountsConfig,
        ) -> anyhow::Result<Arc<dyn Accounts>> {
            Err(missing("accounts.type = \"postgres\""))
        }

        pub async fn url_signing_secret(
            &mut self,
            _: &PgAccountsConfig,
        ) -> anyhow::Result<Vec<u8>> {
            Err(missing("accounts.type = \"postgres\""))
        }
    }
}

#[cfg(not(feature = "postgres"))]
pub use disabled::*;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{CatalogConfig, Config, Overrides, PostgresConfig, QueueConfig};

    #[allow(clippy::result_large_err)]
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
    fn postgres_sections_parse() {
        let c = load(
            r#"
[catalog]
type = "postgres"
url = "postgres://imgtag:pw-9f3kq@db:5432/imgtag"
schema = "imgtag"
[queue]
type = "postgres"
url = "postgres://imgtag:pw-9f3kq@db:5432/imgtag"
max_connections = 4
"#,
        )
        .unwrap();
        match &c.catalog {
            CatalogConfig::Postgres(p) => {
                assert_eq!(p.schema.as_deref(), Some("imgtag"));
                assert_eq!((p.max_connections, p.acquire_timeout_secs), (10, 10));
            }
            other => panic!("{other:?}"),
        }
        match &c.queue {
            QueueConfig::Postgres(p) => assert_eq!(p.max_connections, 4),
            other => panic!("{other:?}"),
        }
        // The password never reaches a log line through `Debug`.
        assert!(!format!("{c:?}").contains("pw-9f3kq"));
        assert!(matches!(load("").unwrap().queue, QueueConfig::Sqlite));
        for bad in [
            "[queue]\ntype = \"postgres\"\n",                        // no url
            "[queue]\ntype = \"postgres\"\nurl = \"x\"\nurl2 = 1\n", // unknown key
            "[queue]\ntype = \"redis\"\n",
            "[catalog]\ntype = \"postgres\"\n",
        ] {
            assert!(load(bad).is_err(), "accepted: {bad}");
        }
    }

    fn pg(url: &str, schema: Option<String>) -> PostgresConfig {
        PostgresConfig {
            url: url.into(),
            schema,
            max_connections: 2,
            acquire_timeout_secs: 10,
        }
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn naming_postgres_without_the_feature_says_how_to_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        config.queue = QueueConfig::Postgres(pg("postgres://x@127.0.0.1:1/x", None));
        let err = match crate::build_state(&config, "http://x").await {
            Ok(_) => panic!("a postgres queue without the feature"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("--features postgres"), "{err}");
    }

    /// Catalog and queue on PostgreSQL through `build_state`, sharing one pool.
    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn build_state_wires_postgres() {
        use imgtag_core::{ImageId, Job, Owner};

        let Some(url) = imgtag_postgres::testing::pg_url() else {
            return;
        };
        let schema = imgtag_postgres::testing::unique_schema();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        config.catalog = CatalogConfig::Postgres(pg(&url, Some(schema.clone())));
        config.queue = QueueConfig::Postgres(pg(&url, Some(schema.clone())));
        let state = crate::build_state(&config, "http://x").await.unwrap();
        let job = Job::TagImage {
            owner: Owner::parse("alice").unwrap(),
            image: ImageId::new(),
        };
        state.app.queue.enqueue(&job).await.unwrap();
        // Another instance (its own pool) sees the job: it is in PostgreSQL, not on disk.
        let other =
            imgtag_postgres::PgDb::connect(&imgtag_postgres::testing::config(&url, &schema))
                .await
                .unwrap();
        let claimed =
            imgtag_core::JobQueue::claim(&other.queue(), std::time::Duration::from_secs(60))
                .await
                .unwrap()
                .expect("the job enqueued through build_state");
        assert_eq!(claimed.job, job);
        drop(state);
        imgtag_postgres::testing::drop_schema(&url, &schema)
            .await
            .unwrap();
    }
}
