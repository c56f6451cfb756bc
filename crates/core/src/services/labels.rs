use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::domain::{Label, TagName};
use crate::ports::Prediction;

/// User renames and drops, applied to every tagger's output before it reaches the catalog.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelPolicy {
    /// `from = "to"`: label `from` is stored as `to`.
    pub aliases: BTreeMap<String, String>,
    /// Labels never stored.
    pub ignore: BTreeSet<String>,
}

impl LabelPolicy {
    /// Renames, drops and merges (a merged label keeps the highest confidence and the boxes of
    /// all merged predictions). Result is sorted by confidence, highest first, then by name, so
    /// equal inputs give equal outputs.
    pub fn apply(&self, predictions: &[Prediction]) -> Vec<Label> {
        let mut best: BTreeMap<TagName, Label> = BTreeMap::new();
        for p in predictions {
            let name = match self.aliases.get(p.name.as_str()) {
                Some(to) => match TagName::parse(to) {
                    Ok(t) => t,
                    Err(_) => continue,
                },
                None => p.name.clone(),
            };
            if self.ignore.contains(name.as_str()) || self.ignore.contains(p.name.as_str()) {
                continue;
            }
            let label = best
                .entry(name.clone())
                .or_insert_with(|| Label::auto(name, 0.0));
            label.confidence = label.confidence.max(p.confidence.clamp(0.0, 1.0));
            label.boxes.extend_from_slice(&p.boxes);
        }
        let mut labels: Vec<Label> = best.into_values().collect();
        labels.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.name.cmp(&b.name))
        });
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: &str, c: f32) -> Prediction {
        Prediction::new(TagName::parse(n).unwrap(), c)
    }

    #[test]
    fn renames_drops_and_merges() {
        let policy = LabelPolicy {
            aliases: [("tabby cat".to_string(), "cat".to_string())].into(),
            ignore: ["animal".to_string()].into(),
        };
        let out = policy.apply(&[
            p("cat", 0.5),
            p("tabby cat", 0.7),
            p("animal", 0.9),
            p("pet", 0.2),
        ]);
        let names: Vec<_> = out
            .iter()
            .map(|l| (l.name.as_str(), l.confidence))
            .collect();
        assert_eq!(names, vec![("cat", 0.7), ("pet", 0.2)]);
    }
}
