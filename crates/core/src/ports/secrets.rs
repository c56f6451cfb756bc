use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;

/// A secret value (an API key, a password). `Debug` never shows it, so it can sit in structs
/// that are logged; only [`SecretValue::expose`] reveals it, at the point of use.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Arc<str>);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(Arc::from(value.into()))
    }
    /// The value itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// Named secrets (API keys of remote taggers, ...).
///
/// Contract:
/// - `get` returns the value named `name`, [`crate::Error::NotFound`] (`"secret"`) when the
///   source has no such secret, `Unavailable` when the source cannot be reached (retrying may
///   help). Names are source-specific: an SSM parameter name, a Secrets Manager secret id, an
///   environment variable, a file name.
/// - Neither the value nor anything derived from it appears in errors or logs.
#[async_trait]
pub trait Secrets: Send + Sync {
    async fn get(&self, name: &str) -> Result<SecretValue>;
}
