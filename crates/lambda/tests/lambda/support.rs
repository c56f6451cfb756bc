//! A fresh bucket, user pool and table on the emulator, wired as a Lambda function would be.

use std::path::Path;

use async_trait::async_trait;
use aws_config::SdkConfig;
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use imgtag_aws::testing;
use imgtag_core::{Prediction, TagError, Tagger};
use imgtag_http::AppState;
use imgtag_server::config::{
    AccountsBackend, AwsConfig, BlobsConfig, CatalogConfig, CognitoConfig, DynamoConfig,
    QueueConfig, S3Config, SqsConfig,
};
use imgtag_server::Config;
use serde_json::{json, Value};

use crate::events::{self, Api};

pub struct Moto {
    pub sdk: SdkConfig,
    pub bucket: String,
    pub pool: String,
    /// The FIFO job queue both functions are wired to, as in the template.
    pub jobs: String,
    pub state: AppState,
    pub _dir: tempfile::TempDir,
}

/// `None` (after a loud notice) when no emulator is configured; panics under CI.
pub async fn moto(auto_confirm: bool) -> Option<Moto> {
    let url = testing::moto_url()?;
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        // What `bootstrap` sets by default: REST events' `/Prod/...` reaches the Router as `/...`.
        ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    let sdk = testing::sdk_config(&url).await;
    let bucket = testing::unique("imgtag-lambda");
    testing::create_bucket(&sdk, &bucket).await;
    let (pool, client) = testing::create_user_pool(&sdk).await;
    let jobs = imgtag_aws::sqs::SqsQueue::create_fifo(&sdk, &testing::unique("imgtag-jobs"))
        .await
        .expect("job queue")
        .url()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    // As the template sets it: S3 → SQS → the tagging function records uploads.
    config.app.poll_direct_uploads = false;
    config.aws = AwsConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url.clone()),
    };
    config.blobs = BlobsConfig::S3(S3Config {
        bucket: bucket.clone(),
        force_path_style: true,
        region: None,
        endpoint_url: None,
    });
    config.catalog = CatalogConfig::Dynamodb(DynamoConfig {
        table: testing::unique("imgtag-lambda"),
        create_table: true,
        region: None,
        endpoint_url: None,
    });
    config.accounts = AccountsBackend::Cognito(CognitoConfig {
        user_pool_id: pool.clone(),
        client_id: client,
        issuer: None,
        jwks_url: None,
        auto_confirm,
        min_password_len: 6,
        region: None,
        endpoint_url: None,
    });
    config.queue = QueueConfig::Sqs(SqsConfig {
        url: jobs.clone(),
        region: None,
        endpoint_url: None,
    });
    let state = imgtag_lambda::load_state(&config).await.expect("state");
    Some(Moto {
        sdk,
        bucket,
        pool,
        jobs,
        state,
        _dir: dir,
    })
}

impl Moto {
    pub fn router(&self) -> Router {
        imgtag_http::router(self.state.clone())
    }

    /// Sends one API Gateway event through the API handler.
    pub async fn call(&self, request: lambda_http::Request) -> (u16, Response) {
        let response = imgtag_lambda::api::handle(self.router(), request)
            .await
            .unwrap();
        (response.status().as_u16(), response)
    }

    /// Signs up (public route, REST) and signs in; returns the ID token.
    pub async fn sign_up_and_in(&self, name: &str) -> String {
        let creds = json!({"username": name, "password": "Abc123!"});
        let (status, _) = self
            .call(events::request(
                Api::Rest,
                "POST",
                "/signup",
                None,
                Some(&creds),
            ))
            .await;
        assert_eq!(status, 201);
        self.sign_in(name).await
    }

    pub async fn sign_in(&self, name: &str) -> String {
        let creds = json!({"username": name, "password": "Abc123!"});
        let (status, r) = self
            .call(events::request(
                Api::Rest,
                "POST",
                "/signin",
                None,
                Some(&creds),
            ))
            .await;
        let body = json_body(r).await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .build(),
        )
    }
}

pub async fn json_body(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// The claims of a JWT, unverified (tests read `sub` to play API Gateway's authorizer).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn fixture_image(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A tagger whose service is down.
pub struct Down;

#[async_trait]
impl Tagger for Down {
    fn name(&self) -> &str {
        "down"
    }
    async fn tag(&self, _image: Bytes) -> Result<Vec<Prediction>, TagError> {
        Err(TagError::Unavailable("tagging service unreachable".into()))
    }
}
