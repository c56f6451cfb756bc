//! From scored names to the final, filtered label list.

use std::collections::HashMap;

use imgtag_core::{Prediction, TagName};

use crate::BuiltinConfig;

/// Applies aliases, the ignore list, the confidence floor and top-k; highest confidence first,
/// ties broken by name so the output is deterministic.
pub fn select(scores: Vec<(&str, f32)>, cfg: &BuiltinConfig) -> Vec<Prediction> {
    let ignore: Vec<String> = cfg.ignore.iter().map(|s| normalise(s)).collect();
    let aliases: HashMap<String, &str> = cfg
        .aliases
        .iter()
        .map(|(from, to)| (normalise(from), to.as_str()))
        .collect();
    let mut best: HashMap<TagName, f32> = HashMap::new();
    for (name, confidence) in scores {
        // `is_ge` is false for NaN too, so a NaN score never becomes a label.
        if !confidence
            .partial_cmp(&cfg.min_confidence)
            .is_some_and(|o| o.is_ge())
        {
            continue;
        }
        let renamed = aliases.get(&normalise(name)).copied().unwrap_or(name);
        // Names come from the checked-in taxonomy or from config; one that is not a valid tag
        // (e.g. an alias with a comma) is skipped rather than failing the whole image.
        let Ok(tag) = TagName::parse(renamed) else {
            tracing::warn!(
                label = renamed,
                "skipping label that is not a valid tag name"
            );
            continue;
        };
        if ignore.iter().any(|i| i == tag.as_str()) {
            continue;
        }
        let slot = best.entry(tag).or_insert(0.0);
        *slot = slot.max(confidence.clamp(0.0, 1.0));
    }
    let mut out: Vec<Prediction> = best
        .into_iter()
        .map(|(name, confidence)| Prediction { name, confidence })
        .collect();
    out.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.as_str().cmp(b.name.as_str()))
    });
    out.truncate(cfg.top_k);
    out
}

fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
