//! ImageNet class names and their general parent concepts (`models/taxonomy.tsv`), and the
//! conversion of class probabilities into tags.

use std::collections::HashMap;

/// The generated taxonomy table, embedded so the tagger needs no file at run time.
const TAXONOMY_TSV: &str = include_str!("../../../models/taxonomy.tsv");

/// Readable class names plus, per concept, the classes it covers.
#[derive(Debug)]
pub struct Taxonomy {
    /// Readable name of each class, in class (logit) order.
    pub classes: Vec<String>,
    /// Concept name → indices of the classes that descend from it in WordNet.
    pub concepts: Vec<(String, Vec<usize>)>,
}

impl Taxonomy {
    /// The embedded taxonomy (1000 ImageNet classes).
    pub fn builtin() -> anyhow::Result<Self> {
        Self::parse(TAXONOMY_TSV)
    }

    /// Parses `index \t synset \t name \t parent,parent,...` lines; `#` lines are comments.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut classes = Vec::new();
        let mut concepts: Vec<(String, Vec<usize>)> = Vec::new();
        let mut concept_index: HashMap<String, usize> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            anyhow::ensure!(
                cols.len() == 4,
                "taxonomy line {}: expected 4 columns",
                n + 1
            );
            let index: usize = cols[0].parse()?;
            anyhow::ensure!(
                index == classes.len(),
                "taxonomy line {}: classes out of order",
                n + 1
            );
            classes.push(cols[2].to_string());
            for parent in cols[3].split(',').filter(|p| !p.is_empty()) {
                let slot = *concept_index.entry(parent.to_string()).or_insert_with(|| {
                    concepts.push((parent.to_string(), Vec::new()));
                    concepts.len() - 1
                });
                concepts[slot].1.push(index);
            }
        }
        Ok(Taxonomy { classes, concepts })
    }

    /// Every class and concept with its probability: a class's softmax probability, a concept's
    /// sum over the classes it covers (so `cat` ≈ 0.93 when three cat breeds share the mass).
    pub fn scores(&self, probs: &[f32]) -> Vec<(&str, f32)> {
        let mut out: Vec<(&str, f32)> = self
            .classes
            .iter()
            .zip(probs)
            .map(|(name, &p)| (name.as_str(), p))
            .collect();
        for (name, members) in &self.concepts {
            let sum: f32 = members.iter().map(|&i| probs[i]).sum();
            out.push((name.as_str(), sum.min(1.0)));
        }
        out
    }
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}
