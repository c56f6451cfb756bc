//! AWS Signature V4 for Amazon OpenSearch Service (`es`) and OpenSearch Serverless (`aoss`).
//! Credentials come from a provider (by default the SDK's standard chain: environment,
//! profile, SSO, ECS / EC2 roles) and are cached here until shortly before they expire, since
//! the chain itself may go to the network each time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use imgtag_core::{Error, Result};
use tokio::sync::Mutex;

/// Signs requests for one service and region.
#[derive(Clone)]
pub struct SigV4 {
    service: String,
    region: String,
    provider: SharedCredentialsProvider,
    cached: Arc<Mutex<Option<Credentials>>>,
}

impl std::fmt::Debug for SigV4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4")
            .field("service", &self.service)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The SDK's default credential chain and, when `region` is `None`, its default region
/// (`AWS_REGION`, profile, IMDS). Returns the provider and the region.
pub async fn default_chain(region: Option<String>) -> Result<(SharedCredentialsProvider, String)> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r));
    }
    let sdk = loader.load().await;
    let provider = sdk.credentials_provider().ok_or_else(|| {
        Error::Internal("no AWS credentials provider in the default chain".into())
    })?;
    let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
        Error::Internal("SigV4 needs a region: set `region` or AWS_REGION".into())
    })?;
    Ok((provider, region))
}

impl SigV4 {
    /// `service` is `es` (managed domains) or `aoss` (Serverless collections).
    pub fn new(service: &str, region: &str, provider: SharedCredentialsProvider) -> Self {
        SigV4 {
            service: service.to_string(),
            region: region.to_string(),
            provider,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// Fixed credentials (tests, or keys from configuration).
    pub fn with_static_keys(service: &str, region: &str, key_id: &str, secret: &str) -> Self {
        let creds = Credentials::new(key_id, secret, None, None, "imgtag-static");
        Self::new(service, region, SharedCredentialsProvider::new(creds))
    }

    async fn credentials(&self) -> Result<Credentials> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let c = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| Error::Unavailable(format!("AWS credentials: {e}")))?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// The headers to add: `authorization`, `x-amz-date`, `x-amz-content-sha256` (which
    /// OpenSearch Serverless requires) and `x-amz-security-token` for temporary credentials.
    /// `headers` must include `host` and every other header sent that should be signed.
    pub async fn headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>> {
        let identity = self.credentials().await?.into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params: aws_sigv4::http_request::SigningParams<'_> = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(Error::internal)?
            .into();
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(Error::internal)?;
        let (instructions, _) = sign(request, &params)
            .map_err(Error::internal)?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}
