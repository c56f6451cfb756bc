//! Scene tags (`beach`, `mountain`, `underwater`, ...) from ImageNet classes (`models/scenes.tsv`),
//! aggregated like the taxonomy's parent concepts: a scene's score is the sum of its classes'
//! probabilities.

/// The hand-written scene table, embedded so the tagger needs no file at run time.
const SCENES_TSV: &str = include_str!("../../../models/scenes.tsv");

/// Scene name → indices of its member classes.
#[derive(Debug)]
pub struct Scenes(pub Vec<(String, Vec<usize>)>);

impl Scenes {
    /// The embedded table, resolved against the class names in logit order.
    pub fn builtin(classes: &[String]) -> anyhow::Result<Self> {
        Self::parse(SCENES_TSV, classes)
    }

    /// Parses `scene \t class,class,...` lines (`#` comments); every class must exist.
    pub fn parse(text: &str, classes: &[String]) -> anyhow::Result<Self> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (scene, members) = line
                .split_once('\t')
                .ok_or_else(|| anyhow::anyhow!("scenes line {}: expected 2 columns", n + 1))?;
            let indices = members
                .split(',')
                .map(|m| {
                    classes.iter().position(|c| c == m).ok_or_else(|| {
                        anyhow::anyhow!("scenes line {}: unknown class {m:?}", n + 1)
                    })
                })
                .collect::<anyhow::Result<Vec<usize>>>()?;
            out.push((scene.to_string(), indices));
        }
        Ok(Scenes(out))
    }

    /// Each scene with the summed probability of its classes (capped at 1).
    pub fn scores<'a>(&'a self, probs: &[f32]) -> impl Iterator<Item = (&'a str, f32)> + 'a {
        let sums: Vec<f32> = self
            .0
            .iter()
            .map(|(_, m)| m.iter().map(|&i| probs[i]).sum::<f32>().min(1.0))
            .collect();
        self.0
            .iter()
            .zip(sums)
            .map(|((name, _), s)| (name.as_str(), s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::Taxonomy;

    #[test]
    fn the_table_resolves_and_sums_its_classes() {
        let tax = Taxonomy::builtin().unwrap();
        let scenes = Scenes::builtin(&tax.classes).unwrap();
        let mut probs = vec![0.0f32; tax.classes.len()];
        let at = |n: &str| tax.classes.iter().position(|c| c == n).unwrap();
        probs[at("seashore")] = 0.3;
        probs[at("sandbar")] = 0.25;
        probs[at("alp")] = 0.1;
        let got: Vec<(&str, f32)> = scenes.scores(&probs).collect();
        let score = |s: &str| got.iter().find(|(n, _)| *n == s).unwrap().1;
        assert!((score("beach") - 0.55).abs() < 1e-6);
        assert!((score("mountain") - 0.1).abs() < 1e-6);
        assert_eq!(score("underwater"), 0.0);
    }

    #[test]
    fn an_unknown_class_is_an_error() {
        let classes = vec!["seashore".to_string()];
        let err = Scenes::parse("beach\tseashore,moon beach\n", &classes).unwrap_err();
        assert!(err.to_string().contains("moon beach"), "{err}");
    }
}
