//! `[tagger]` → the `Tagger` port. Clarifai needs the `clarifai` cargo feature (an HTTPS
//! client) and Rekognition the `aws` one; without them, naming one fails at start with the
//! feature to build with.

use std::sync::Arc;

use imgtag_core::Tagger;

use crate::config::{check_min_confidence, Config, TaggerConfig};

pub(super) async fn build(config: &Config) -> anyhow::Result<Arc<dyn Tagger>> {
    Ok(match &config.tagger {
        TaggerConfig::Builtin(c) => {
            check_min_confidence(c.min_confidence)?;
            Arc::new(super::lazy_tagger::LazyBuiltin::new(c.clone())?)
        }
        TaggerConfig::Clarifai(c) => {
            check_min_confidence(c.min_confidence)?;
            remote::clarifai(config, c).await?
        }
        TaggerConfig::Rekognition(c) => {
            check_min_confidence(c.min_confidence)?;
            anyhow::ensure!(
                (1..=1000).contains(&c.max_labels),
                "[tagger] max_labels must be between 1 and 1000, not {}",
                c.max_labels
            );
            remote::rekognition(config, c).await?
        }
    })
}

#[cfg(feature = "clarifai")]
mod clarifai_enabled {
    use super::*;
    use crate::config::ClarifaiConfig;
    use anyhow::Context;
    use imgtag_clarifai::{ClarifaiSettings, ClarifaiTagger};
    use imgtag_core::Error;

    pub async fn clarifai(config: &Config, c: &ClarifaiConfig) -> anyhow::Result<Arc<dyn Tagger>> {
        anyhow::ensure!(
            c.timeout_secs > 0,
            "[tagger] timeout_secs must be at least 1"
        );
        let secrets = super::super::build_secrets(config).await?;
        // Read once at start: a missing key is a configuration error, not a failed image.
        let key = match secrets.get(&c.key_parameter).await {
            Ok(k) => k,
            Err(Error::NotFound(_)) => anyhow::bail!(
                "the Clarifai key (secret {:?}, [tagger] key_parameter) is not in the \
                 configured secret source {:?}: store it there first",
                c.key_parameter,
                config.secrets
            ),
            Err(e) => {
                return Err(anyhow::anyhow!("{e}"))
                    .with_context(|| format!("reading the Clarifai key {:?}", c.key_parameter))
            }
        };
        let settings = ClarifaiSettings {
            base_url: c.base_url.clone(),
            user_id: c.user_id.clone(),
            app_id: c.app_id.clone(),
            model: c.model.clone(),
            model_version: c.model_version.clone(),
            min_confidence: c.min_confidence,
            timeout: std::time::Duration::from_secs(c.timeout_secs),
        };
        Ok(Arc::new(
            ClarifaiTagger::new(settings, &key).map_err(|e| anyhow::anyhow!("{e}"))?,
        ))
    }
}

#[cfg(feature = "aws")]
mod aws_enabled {
    use super::*;
    use crate::config::RekognitionConfig;
    use imgtag_aws::rekognition::{RekognitionSettings, RekognitionTagger};

    pub async fn rekognition(
        config: &Config,
        c: &RekognitionConfig,
    ) -> anyhow::Result<Arc<dyn Tagger>> {
        let merged = config.aws.merged(&c.region, &c.endpoint_url);
        let sdk = imgtag_aws::AwsOptions {
            region: merged.region,
            endpoint_url: merged.endpoint_url,
        }
        .load()
        .await;
        let settings = RekognitionSettings {
            min_confidence: c.min_confidence,
            max_labels: c.max_labels,
        };
        Ok(Arc::new(RekognitionTagger::new(&sdk, settings)))
    }
}

/// The remote taggers, or the start-up error naming the missing feature.
#[allow(unused_imports)] // which imports are used depends on the features
mod remote {
    use super::*;
    use crate::config::{ClarifaiConfig, RekognitionConfig};

    #[cfg(feature = "aws")]
    pub use super::aws_enabled::rekognition;
    #[cfg(feature = "clarifai")]
    pub use super::clarifai_enabled::clarifai;

    #[cfg(not(feature = "clarifai"))]
    pub async fn clarifai(_: &Config, _: &ClarifaiConfig) -> anyhow::Result<Arc<dyn Tagger>> {
        anyhow::bail!(
            "[tagger] type = \"clarifai\" needs the Clarifai tagger, which this build of imgtag \
             does not include: build it with `cargo build -p imgtag --features clarifai` (or \
             `--features aws`)"
        )
    }

    #[cfg(not(feature = "aws"))]
    pub async fn rekognition(_: &Config, _: &RekognitionConfig) -> anyhow::Result<Arc<dyn Tagger>> {
        anyhow::bail!(
            "[tagger] type = \"rekognition\" needs the AWS adapters, which this build of imgtag \
             does not include: build it with `cargo build -p imgtag --features aws`"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClarifaiConfig, RekognitionConfig};

    async fn error_of(tagger: TaggerConfig) -> String {
        let config = Config {
            tagger,
            ..Config::default()
        };
        match build(&config).await {
            Ok(_) => panic!("built"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[tokio::test]
    async fn out_of_range_settings_stop_the_start() {
        let c = ClarifaiConfig {
            min_confidence: 50.0,
            ..ClarifaiConfig::default()
        };
        assert!(error_of(TaggerConfig::Clarifai(c))
            .await
            .contains("between 0 and 1"));
        let r = RekognitionConfig {
            max_labels: 0,
            ..RekognitionConfig::default()
        };
        assert!(error_of(TaggerConfig::Rekognition(r))
            .await
            .contains("max_labels"));
    }

    #[cfg(not(feature = "clarifai"))]
    #[tokio::test]
    async fn a_tagger_not_compiled_in_names_the_feature_to_build_with() {
        let e = error_of(TaggerConfig::Clarifai(ClarifaiConfig::default())).await;
        assert!(e.contains("--features clarifai"), "{e}");
    }

    #[cfg(not(feature = "aws"))]
    #[tokio::test]
    async fn rekognition_without_aws_names_the_feature() {
        let e = error_of(TaggerConfig::Rekognition(RekognitionConfig::default())).await;
        assert!(e.contains("--features aws"), "{e}");
    }
}
