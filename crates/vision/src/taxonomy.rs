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
    /// Per class, the index of the first class with its name (classes sharing a name, such as
    /// ImageNet's two tabby classes, score as one tag). Computed once, not per image.
    first_of_name: Vec<usize>,
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
        let first_of_name = {
            let mut first: HashMap<&str, usize> = HashMap::new();
            classes
                .iter()
                .enumerate()
                .map(|(i, c)| *first.entry(c.as_str()).or_insert(i))
                .collect()
        };
        Ok(Taxonomy {
            classes,
            concepts,
            first_of_name,
        })
    }

    /// Every class and concept with its probability. A class's is its softmax probability
    /// (classes sharing a name, ImageNet's splits of one thing, add up). A concept's is the sum
    /// over its [`CONCEPT_TOP_K`] most probable classes only, so `cat` ≈ 0.93 when three cat
    /// breeds share the mass, while hundreds of near-zero animal classes on a photo of grass
    /// (diffuse mass, ~0.6 in total) do not add up to a confident `animal`.
    pub fn scores(&self, probs: &[f32]) -> Vec<(&str, f32)> {
        let mut class_score = vec![0.0f32; self.classes.len()];
        for (&slot, &p) in self.first_of_name.iter().zip(probs) {
            class_score[slot] += p;
        }
        let mut out: Vec<(&str, f32)> =
            Vec::with_capacity(self.classes.len() + self.concepts.len());
        for (i, name) in self.classes.iter().enumerate() {
            if self.first_of_name[i] == i {
                out.push((name.as_str(), class_score[i]));
            }
        }
        for (name, members) in &self.concepts {
            out.push((
                name.as_str(),
                top_k_sum(members.iter().map(|&i| probs[i])).min(1.0),
            ));
        }
        out
    }
}

/// How many member classes a concept's score sums. Chosen on the labelled photos of
/// `bench/quality`: 5 keeps `cat`, `dog`, `bird` confident when the breeds or species split
/// the mass, and keeps diffuse mass (no single class above a few percent) below the floor.
pub const CONCEPT_TOP_K: usize = 5;

/// Sum of the `CONCEPT_TOP_K` largest values.
fn top_k_sum(values: impl Iterator<Item = f32>) -> f32 {
    let mut top = [0.0f32; CONCEPT_TOP_K];
    for v in values {
        // `top` stays sorted, largest first; NaN never enters (comparison is false).
        if v > top[CONCEPT_TOP_K - 1] {
            let mut i = CONCEPT_TOP_K - 1;
            while i > 0 && top[i - 1] < v {
                top[i] = top[i - 1];
                i -= 1;
            }
            top[i] = v;
        }
    }
    top.iter().sum()
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concepts_sum_their_strongest_members_only() {
        let t = Taxonomy::parse(
            "0\ta\ttabby cat\tanimal,cat\n1\tb\ttabby cat\tanimal,cat\n2\tc\tgrass\t\n\
             3\td\tbee\tanimal\n4\te\tant\tanimal\n5\tf\tcrab\tanimal\n6\tg\teel\tanimal\n\
             7\th\towl\tanimal\n",
        )
        .unwrap();
        let get = |s: &[(&str, f32)], n: &str| s.iter().find(|(k, _)| *k == n).unwrap().1;
        // Two classes with one name are one tag with their summed probability.
        let s = t.scores(&[0.5, 0.3, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!((get(&s, "tabby cat") - 0.8).abs() < 1e-6);
        assert_eq!(s.iter().filter(|(k, _)| *k == "tabby cat").count(), 1);
        assert!((get(&s, "cat") - 0.8).abs() < 1e-6);
        // Diffuse mass over many members: only the top five count.
        let s = t.scores(&[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3]);
        assert!((get(&s, "animal") - 0.7).abs() < 1e-6, "{s:?}");
    }

    #[test]
    fn top_k_sum_keeps_the_largest() {
        assert_eq!(
            top_k_sum([1.0, 5.0, 2.0, 4.0, 3.0, 6.0, 0.5].into_iter()),
            20.0
        );
        assert_eq!(top_k_sum([f32::NAN, 1.0].into_iter()), 1.0);
        assert_eq!(top_k_sum(std::iter::empty()), 0.0);
    }
}

#[cfg(test)]
mod builtin_tests {
    use super::*;

    /// Concepts too general to be a class's only parent (tools/make_taxonomy.py `TOP_LEVEL`).
    const TOP_LEVEL: [&str; 5] = ["animal", "device", "structure", "plant", "food"];

    #[test]
    fn every_class_has_a_readable_name_and_a_searchable_parent_below_the_top() {
        let t = Taxonomy::builtin().unwrap();
        assert_eq!(t.classes.len(), 1000);
        let mut parents: Vec<Vec<&str>> = vec![Vec::new(); t.classes.len()];
        for (concept, members) in &t.concepts {
            for &i in members {
                parents[i].push(concept.as_str());
            }
        }
        for (i, name) in t.classes.iter().enumerate() {
            assert!(imgtag_core::TagName::parse(name).is_ok(), "{i}: {name}");
            assert_eq!(name, &name.to_lowercase(), "{i}: {name}");
            let wordnet_id = name.len() == 9 && name[1..].bytes().all(|b| b.is_ascii_digit());
            assert!(!name.contains('_') && !wordnet_id, "{i}: {name}");
            let below: Vec<&&str> = parents[i]
                .iter()
                .filter(|p| !TOP_LEVEL.contains(p))
                .collect();
            assert!(!below.is_empty(), "{i} {name}: only {:?}", parents[i]);
        }
    }

    #[test]
    fn what_people_search_for_finds_the_classes() {
        let t = Taxonomy::builtin().unwrap();
        let class = |n: &str| t.classes.iter().position(|c| c == n);
        let has = |c: &str, concept: &str| {
            let i = class(c).unwrap_or_else(|| panic!("no class {c}"));
            t.concepts
                .iter()
                .any(|(name, m)| name == concept && m.contains(&i))
        };
        for (c, concept) in [
            ("fox squirrel", "squirrel"),
            ("fox squirrel", "rodent"),
            ("grey whale", "whale"),
            ("macaw", "parrot"),
            ("chimpanzee", "ape"),
            ("dining table", "table"),
            ("tabby cat", "cat"),
            ("hard disk", "computer hardware"),
            ("red fox", "fox"),
            ("ox", "cattle"),
        ] {
            assert!(has(c, concept), "{c} is not under {concept}");
        }
        // ImageNet's odd names are gone; its split `tiger cat` is one `tabby cat` tag.
        for odd in [
            "tiger cat",
            "hard disc",
            "pay-phone",
            "ashcan",
            "notebook",
            "mouse",
        ] {
            assert!(class(odd).is_none(), "{odd}");
        }
        assert_eq!(t.classes.iter().filter(|c| *c == "tabby cat").count(), 2);
    }
}
