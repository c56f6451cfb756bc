//! [`Secrets`] from SSM Parameter Store (SecureString, decrypted) and from Secrets Manager.
//! Wrap them in [`imgtag_core::secrets::CachedSecrets`] to read each value once per process.
//! Errors name the secret, never its value.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use imgtag_core::{Error, Result, SecretValue, Secrets};

const TRANSIENT: &[&str] = &[
    "ThrottlingException",
    "InternalServerError",
    "InternalServiceError",
    "InternalServiceErrorException",
];

fn sdk_err<E, R>(what: &str, name: &str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    crate::sdk_error::sdk_err(format!("{what} {name:?}"), code.as_deref(), e, TRANSIENT)
}

/// Parameters under an optional path prefix: name `clarifai-key` with prefix `/imgtag/` reads
/// `/imgtag/clarifai-key`. SecureStrings are decrypted (the caller needs `kms:Decrypt` on
/// their key).
#[derive(Debug, Clone)]
pub struct SsmSecrets {
    client: aws_sdk_ssm::Client,
    prefix: String,
}

impl SsmSecrets {
    pub fn new(config: &SdkConfig, prefix: impl Into<String>) -> Self {
        SsmSecrets {
            client: aws_sdk_ssm::Client::new(config),
            prefix: prefix.into(),
        }
    }
}

#[async_trait]
impl Secrets for SsmSecrets {
    async fn get(&self, name: &str) -> Result<SecretValue> {
        let full = format!("{}{name}", self.prefix);
        let r = self
            .client
            .get_parameter()
            .name(&full)
            .with_decryption(true)
            .send()
            .await;
        match r {
            Ok(out) => out
                .parameter()
                .and_then(|p| p.value())
                .map(SecretValue::new)
                .ok_or(Error::NotFound("secret")),
            Err(e) if e.code() == Some("ParameterNotFound") => Err(Error::NotFound("secret")),
            Err(e) => Err(sdk_err("SSM parameter", &full, e)),
        }
    }
}

/// Secrets Manager secrets (their `SecretString`) under an optional name prefix.
#[derive(Debug, Clone)]
pub struct SecretsManagerSecrets {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

impl SecretsManagerSecrets {
    pub fn new(config: &SdkConfig, prefix: impl Into<String>) -> Self {
        SecretsManagerSecrets {
            client: aws_sdk_secretsmanager::Client::new(config),
            prefix: prefix.into(),
        }
    }
}

#[async_trait]
impl Secrets for SecretsManagerSecrets {
    async fn get(&self, name: &str) -> Result<SecretValue> {
        let full = format!("{}{name}", self.prefix);
        let r = self.client.get_secret_value().secret_id(&full).send().await;
        match r {
            Ok(out) => out
                .secret_string()
                .map(SecretValue::new)
                .ok_or(Error::NotFound("secret")),
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                Err(Error::NotFound("secret"))
            }
            Err(e) => Err(sdk_err("Secrets Manager secret", &full, e)),
        }
    }
}
