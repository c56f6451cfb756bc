//! From scored names to the final, filtered label list.

use std::collections::HashMap;

use imgtag_core::{Prediction, TagName};

use crate::BuiltinConfig;

/// Applies the confidence floor and top-k; highest confidence first, ties broken by name so the
/// output is deterministic. Renames and drops are the core `LabelPolicy`'s job (`[app.labels]`),
/// applied to every tagger's output, so they are not duplicated here.
pub fn select(scores: Vec<(&str, f32)>, cfg: &BuiltinConfig) -> Vec<Prediction> {
    let mut best: HashMap<TagName, f32> = HashMap::new();
    for (name, confidence) in scores {
        // `is_ge` is false for NaN too, so a NaN score never becomes a label.
        if !confidence
            .partial_cmp(&cfg.min_confidence)
            .is_some_and(|o| o.is_ge())
        {
            continue;
        }
        // Names come from the checked-in taxonomy; one that is not a valid tag is skipped rather
        // than failing the whole image.
        let Ok(tag) = TagName::parse(name) else {
            tracing::warn!(label = name, "skipping label that is not a valid tag name");
            continue;
        };
        let slot = best.entry(tag).or_insert(0.0);
        *slot = slot.max(confidence.clamp(0.0, 1.0));
    }
    let mut out: Vec<Prediction> = best
        .into_iter()
        .map(|(name, confidence)| Prediction::new(name, confidence))
        .collect();
    out.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.as_str().cmp(b.name.as_str()))
    });
    out.truncate(cfg.top_k);
    out
}
