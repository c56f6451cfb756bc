//! Settings of the built-in tagger.

use serde::Deserialize;

/// Configuration of [`crate::BuiltinTagger`]. Every field has a default, so an empty config section
/// (or `BuiltinConfig::default()`) gives a working tagger.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// No `deny_unknown_fields`: the server may embed this struct with `#[serde(flatten)]` or in an
// internally tagged enum, which that attribute breaks.
#[serde(default)]
pub struct BuiltinConfig {
    /// Labels below this confidence are dropped. 0.25 keeps what the model is fairly sure of and
    /// leaves textures and drawings with no or almost no tags (their best class is typically < 0.2).
    pub min_confidence: f32,
    /// At most this many labels per image, highest confidence first.
    pub top_k: usize,
    /// Images with more pixels (width x height, from the header) are refused before decoding.
    pub max_pixels: u64,
    /// Worker threads for decoding and inference; 0 = one per available core.
    pub threads: usize,
}

impl Default for BuiltinConfig {
    fn default() -> Self {
        BuiltinConfig {
            min_confidence: 0.25,
            top_k: 10,
            // 50 MP: every phone camera's full-resolution output passes, a 20000x20000 bomb does not.
            max_pixels: 50_000_000,
            threads: 0,
        }
    }
}

impl BuiltinConfig {
    /// Number of worker threads to actually use.
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}
