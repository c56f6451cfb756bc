//! Credentials for the POST policy, which is signed outside any SDK operation. The SDK's own
//! identity cache lives inside its clients, so this keeps a copy until shortly before it
//! expires instead of asking the provider chain (possibly IMDS) on every `POST /images`.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use imgtag_core::{Error, Result};
use tokio::sync::Mutex;

/// Renew this long before expiry: a policy signed now must stay valid for its whole lifetime,
/// and S3 refuses a form whose temporary credentials have expired.
const RENEW_BEFORE: Duration = Duration::from_secs(15 * 60);

pub(crate) struct CredentialsCache {
    provider: Option<SharedCredentialsProvider>,
    current: Mutex<Option<Credentials>>,
}

impl CredentialsCache {
    pub(crate) fn new(provider: Option<SharedCredentialsProvider>) -> Self {
        CredentialsCache {
            provider,
            current: Mutex::new(None),
        }
    }

    pub(crate) async fn get(&self) -> Result<Credentials> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref() {
            let fresh = c
                .expiry()
                .is_none_or(|exp| SystemTime::now() + RENEW_BEFORE < exp);
            if fresh {
                return Ok(c.clone());
            }
        }
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| Error::Internal("no AWS credentials are configured".into()))?;
        let c = provider
            .provide_credentials()
            .await
            .map_err(|e| Error::Unavailable(format!("AWS credentials: {e}")))?;
        *current = Some(c.clone());
        Ok(c)
    }
}
