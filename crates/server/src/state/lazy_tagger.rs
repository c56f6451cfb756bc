//! The built-in tagger, loaded on its first image. Unpacking the embedded weights is most of a
//! process's start-up, and many processes never tag: the Lambda API function (re-tagging is
//! queued for the tagging function), `imgtag serve --workers 0`. Settings are still checked at
//! start, so a bad `[tagger]` section stops the start as before.

use async_trait::async_trait;
use bytes::Bytes;
use imgtag_core::{Prediction, StoredObject, TagError, Tagger};
use imgtag_vision::{BuiltinConfig, BuiltinTagger};
use tokio::sync::OnceCell;

pub(super) struct LazyBuiltin {
    config: BuiltinConfig,
    loaded: OnceCell<BuiltinTagger>,
}

impl LazyBuiltin {
    pub(super) fn new(config: BuiltinConfig) -> anyhow::Result<Self> {
        // What `BuiltinTagger::load` would refuse, refused now rather than at the first image.
        anyhow::ensure!(config.top_k > 0, "[tagger] top_k must be at least 1");
        Ok(LazyBuiltin {
            config,
            loaded: OnceCell::new(),
        })
    }

    /// The model, loaded once (concurrent first callers wait for the one load).
    async fn model(&self) -> Result<&BuiltinTagger, TagError> {
        self.loaded
            .get_or_try_init(|| async {
                let config = self.config.clone();
                let started = std::time::Instant::now();
                let model = tokio::task::spawn_blocking(move || BuiltinTagger::load(config))
                    .await
                    .map_err(|e| TagError::Unavailable(format!("loading the model: {e}")))?
                    .map_err(|e| {
                        TagError::Unavailable(format!("loading the built-in model: {e:#}"))
                    })?;
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "built-in model loaded"
                );
                Ok(model)
            })
            .await
    }

    #[cfg(test)]
    fn is_loaded(&self) -> bool {
        self.loaded.initialized()
    }
}

#[async_trait]
impl Tagger for LazyBuiltin {
    fn name(&self) -> &str {
        "builtin"
    }

    async fn tag(&self, image: Bytes) -> Result<Vec<Prediction>, TagError> {
        self.model().await?.tag(image).await
    }

    async fn tag_stored(
        &self,
        image: Bytes,
        stored: Option<&StoredObject>,
    ) -> Result<Vec<Prediction>, TagError> {
        self.model().await?.tag_stored(image, stored).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chelsea() -> Bytes {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/images/chelsea.jpg"
        );
        Bytes::from(std::fs::read(p).unwrap())
    }

    #[tokio::test]
    async fn the_model_loads_at_the_first_image_and_tags_it() {
        let t = LazyBuiltin::new(BuiltinConfig::default()).unwrap();
        assert!(!t.is_loaded(), "nothing loaded before an image arrives");
        let labels = t.tag(chelsea()).await.unwrap();
        assert!(t.is_loaded());
        assert!(
            labels.iter().any(|p| p.name.as_str() == "cat"),
            "{labels:?}"
        );
    }

    #[test]
    fn bad_settings_are_refused_at_once() {
        let c = BuiltinConfig {
            top_k: 0,
            ..BuiltinConfig::default()
        };
        assert!(LazyBuiltin::new(c).is_err());
    }
}
