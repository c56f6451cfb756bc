//! The AWS adapters behind the `aws` cargo feature. Without it, a configuration that names one
//! fails at start-up with a message saying how to get a build that has them.

use std::sync::Arc;

use imgtag_core::{Accounts, BlobStore, Catalog, JobQueue, Secrets};

use crate::config::{AwsConfig, CognitoConfig, DynamoConfig, S3Config, SecretsConfig, SqsConfig};

#[cfg(feature = "aws")]
mod enabled {
    use super::*;
    use anyhow::Context;
    use imgtag_aws::cognito::{CognitoAccounts, CognitoSettings};
    use imgtag_aws::dynamo::DynamoCatalog;
    use imgtag_aws::s3::S3BlobStore;
    use imgtag_aws::secrets::{SecretsManagerSecrets, SsmSecrets};
    use imgtag_aws::sqs::SqsQueue;
    use imgtag_aws::AwsOptions;

    async fn sdk(
        shared: &AwsConfig,
        region: &Option<String>,
        endpoint_url: &Option<String>,
    ) -> imgtag_aws::SdkConfig {
        let c = shared.merged(region, endpoint_url);
        AwsOptions {
            region: c.region,
            endpoint_url: c.endpoint_url,
        }
        .load()
        .await
    }

    pub async fn s3(shared: &AwsConfig, c: &S3Config) -> anyhow::Result<Arc<dyn BlobStore>> {
        let config = sdk(shared, &c.region, &c.endpoint_url).await;
        Ok(Arc::new(S3BlobStore::new(
            &config,
            c.bucket.clone(),
            c.force_path_style,
        )))
    }

    pub async fn dynamodb(
        shared: &AwsConfig,
        c: &DynamoConfig,
    ) -> anyhow::Result<Arc<dyn Catalog>> {
        let config = sdk(shared, &c.region, &c.endpoint_url).await;
        let client = imgtag_aws::aws_sdk_dynamodb::Client::new(&config);
        let catalog = DynamoCatalog::new(client, c.table.clone());
        if c.create_table {
            catalog
                .create_table()
                .await
                .with_context(|| format!("creating DynamoDB table {}", c.table))?;
        }
        Ok(Arc::new(catalog))
    }

    pub async fn sqs(shared: &AwsConfig, c: &SqsConfig) -> anyhow::Result<Arc<dyn JobQueue>> {
        let config = sdk(shared, &c.region, &c.endpoint_url).await;
        Ok(Arc::new(SqsQueue::new(&config, c.url.clone())))
    }

    pub async fn cognito(
        shared: &AwsConfig,
        c: &CognitoConfig,
    ) -> anyhow::Result<Arc<dyn Accounts>> {
        let config = sdk(shared, &c.region, &c.endpoint_url).await;
        let settings = CognitoSettings {
            user_pool_id: c.user_pool_id.clone(),
            client_id: c.client_id.clone(),
            issuer: c.issuer.clone(),
            jwks_url: c.jwks_url.clone(),
            auto_confirm: c.auto_confirm,
            min_password_len: c.min_password_len,
        };
        Ok(Arc::new(
            CognitoAccounts::new(&config, settings).context("configuring Cognito accounts")?,
        ))
    }

    pub async fn secrets(
        shared: &AwsConfig,
        c: &SecretsConfig,
    ) -> anyhow::Result<Arc<dyn Secrets>> {
        Ok(match c {
            SecretsConfig::Ssm {
                prefix,
                region,
                endpoint_url,
            } => Arc::new(SsmSecrets::new(
                &sdk(shared, region, endpoint_url).await,
                prefix.clone(),
            )),
            SecretsConfig::Secretsmanager {
                prefix,
                region,
                endpoint_url,
            } => Arc::new(SecretsManagerSecrets::new(
                &sdk(shared, region, endpoint_url).await,
                prefix.clone(),
            )),
            other => anyhow::bail!("not an AWS secret source: {other:?}"),
        })
    }
}

#[cfg(feature = "aws")]
pub use enabled::*;

#[cfg(not(feature = "aws"))]
mod disabled {
    use super::*;

    fn missing(what: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{what} needs the AWS adapters, which this build of imgtag does not include: \
             build it with `cargo build -p imgtag --features aws`"
        )
    }

    pub async fn s3(_: &AwsConfig, _: &S3Config) -> anyhow::Result<Arc<dyn BlobStore>> {
        Err(missing("blobs.type = \"s3\""))
    }

    pub async fn dynamodb(_: &AwsConfig, _: &DynamoConfig) -> anyhow::Result<Arc<dyn Catalog>> {
        Err(missing("catalog.type = \"dynamodb\""))
    }

    pub async fn sqs(_: &AwsConfig, _: &SqsConfig) -> anyhow::Result<Arc<dyn JobQueue>> {
        Err(missing("queue.type = \"sqs\""))
    }

    pub async fn cognito(_: &AwsConfig, _: &CognitoConfig) -> anyhow::Result<Arc<dyn Accounts>> {
        Err(missing("accounts.type = \"cognito\""))
    }

    pub async fn secrets(_: &AwsConfig, c: &SecretsConfig) -> anyhow::Result<Arc<dyn Secrets>> {
        let name = match c {
            SecretsConfig::Ssm { .. } => "secrets.type = \"ssm\"",
            _ => "secrets.type = \"secretsmanager\"",
        };
        Err(missing(name))
    }
}

#[cfg(not(feature = "aws"))]
pub use disabled::*;

#[cfg(all(test, not(feature = "aws")))]
mod tests {
    use crate::config::{BlobsConfig, Config, S3Config};

    #[tokio::test]
    async fn naming_an_aws_adapter_without_the_feature_says_how_to_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        config.blobs = BlobsConfig::S3(S3Config {
            bucket: "b".into(),
            force_path_style: false,
            region: None,
            endpoint_url: None,
        });
        let err = match crate::build_state(&config, "http://x").await {
            Ok(_) => panic!("built without the aws feature"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("blobs.type = \"s3\""), "{err}");
        assert!(err.contains("--features aws"), "{err}");
    }

    #[tokio::test]
    async fn an_sqs_queue_without_the_feature_says_how_to_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        config.queue = crate::config::QueueConfig::Sqs(crate::config::SqsConfig {
            url: "https://sqs.eu-west-1.amazonaws.com/1/jobs.fifo".into(),
            region: None,
            endpoint_url: None,
        });
        let err = match crate::build_state(&config, "http://x").await {
            Ok(_) => panic!("built without the aws feature"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("queue.type = \"sqs\""), "{err}");
        assert!(err.contains("--features aws"), "{err}");
    }
}
