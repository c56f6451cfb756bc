//! Where the AWS clients connect: the SDK's default chain (environment, profile, SSO, ECS /
//! EC2 roles) for credentials and region, with an optional region and endpoint override (an
//! emulator, or an S3-compatible store).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde::Deserialize;

/// Connection settings shared by every AWS adapter (`[aws]` in the server's config); each
/// adapter section may override them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AwsOptions {
    /// e.g. `eu-west-1`; unset = the SDK's default chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    /// e.g. `http://127.0.0.1:5000` for an emulator; unset = the real AWS endpoints.
    pub endpoint_url: Option<String>,
}

impl AwsOptions {
    /// `self`, with the values `over` sets replacing ours.
    pub fn overridden_by(&self, over: &AwsOptions) -> AwsOptions {
        AwsOptions {
            region: over.region.clone().or_else(|| self.region.clone()),
            endpoint_url: over
                .endpoint_url
                .clone()
                .or_else(|| self.endpoint_url.clone()),
        }
    }

    /// Loads the SDK configuration (credentials are resolved lazily, on first use).
    pub async fn load(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = &self.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &self.endpoint_url {
            loader = loader.endpoint_url(e.trim_end_matches('/'));
        }
        loader.load().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_override_the_shared_values() {
        let shared = AwsOptions {
            region: Some("eu-west-1".into()),
            endpoint_url: Some("http://emulator".into()),
        };
        let over = AwsOptions {
            region: Some("us-east-2".into()),
            endpoint_url: None,
        };
        let merged = shared.overridden_by(&over);
        assert_eq!(merged.region.as_deref(), Some("us-east-2"));
        assert_eq!(merged.endpoint_url.as_deref(), Some("http://emulator"));
    }
}
