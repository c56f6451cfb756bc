//! Tags from object detections (CenterNet, COCO-80): each detected class under its readable
//! name with every box found, its parent concepts (`dog` → `animal`, `cup` → `tableware`), and
//! `person` / `people` / `group` from the persons, whether or not a face shows
//! (`models/objects.tsv`).

use imgtag_core::{Prediction, TagName};

use crate::detect::{Object, COCO};
use crate::BuiltinConfig;

/// The class table, embedded like the taxonomy.
const OBJECTS_TSV: &str = include_str!("../../../models/objects.tsv");

/// Per COCO class: its tag and parent concepts.
#[derive(Debug)]
pub struct ObjectTags {
    classes: Vec<(&'static str, TagName, Vec<TagName>)>,
}

impl ObjectTags {
    /// The embedded table; checks it names COCO's 80 classes in the detector's order.
    pub fn builtin() -> anyhow::Result<Self> {
        let mut classes = Vec::with_capacity(COCO.len());
        for line in OBJECTS_TSV.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            anyhow::ensure!(cols.len() == 4, "objects.tsv: 4 columns: {line}");
            let i = classes.len();
            anyhow::ensure!(
                cols[0] == i.to_string() && COCO.get(i) == Some(&cols[1]),
                "objects.tsv: line for class {i} is {line}"
            );
            let parents = cols[3]
                .split(',')
                .filter(|p| !p.is_empty())
                .map(TagName::parse)
                .collect::<Result<_, _>>()?;
            classes.push((COCO[i], TagName::parse(cols[2])?, parents));
        }
        anyhow::ensure!(classes.len() == COCO.len(), "objects.tsv: not 80 classes");
        Ok(ObjectTags { classes })
    }

    /// Labels for the objects found (best first), keeping those at or above their floor:
    /// [`BuiltinConfig::person_min_confidence`] for persons,
    /// [`BuiltinConfig::animal_min_confidence`] for animals, else
    /// [`BuiltinConfig::object_min_confidence`]. A tag's confidence is its best detection's; a
    /// parent's, its best child's (evidence is merged by max, never summed).
    pub fn labels(&self, objects: &[Object], cfg: &BuiltinConfig) -> Vec<Prediction> {
        let mut out: Vec<Prediction> = Vec::new();
        let mut add = |name: &TagName, confidence: f32, bbox| {
            let slot = match out.iter().position(|p| &p.name == name) {
                Some(i) => i,
                None => {
                    out.push(Prediction::new(name.clone(), 0.0));
                    out.len() - 1
                }
            };
            let p = &mut out[slot];
            p.confidence = p.confidence.max(confidence.clamp(0.0, 1.0));
            p.boxes.extend(bbox);
        };
        let mut persons: Vec<f32> = Vec::new();
        for o in objects {
            let Some((_, tag, parents)) = self.classes.iter().find(|(c, ..)| *c == o.class) else {
                continue;
            };
            let floor = if o.class == "person" {
                cfg.person_min_confidence
            } else if parents.iter().any(|p| p.as_str() == "animal") {
                cfg.animal_min_confidence
            } else {
                cfg.object_min_confidence
            };
            if o.score < floor {
                continue;
            }
            add(tag, o.score, Some(o.bbox));
            for p in parents {
                add(p, o.score, None);
            }
            if o.class == "person" {
                persons.push(o.score);
            }
        }
        persons.sort_by(|a, b| b.total_cmp(a));
        // "At least n persons" is only as certain as the n-th best.
        let mut at_least = |n: usize, name: &str| {
            if let Some(&s) = persons.get(n - 1) {
                add(&TagName::parse(name).expect("valid tag"), s, None);
            }
        };
        at_least(2, "people");
        at_least(cfg.group_min_faces.max(2), "group");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgtag_core::BBox;

    fn obj(class: &'static str, score: f32) -> Object {
        Object {
            class,
            score,
            bbox: BBox {
                x: 0.1,
                y: 0.2,
                w: 0.3,
                h: 0.4,
            },
        }
    }

    fn conf(p: &[Prediction], name: &str) -> Option<f32> {
        p.iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| p.confidence)
    }

    #[test]
    fn table_names_every_class_with_valid_tags() {
        let t = ObjectTags::builtin().unwrap();
        assert_eq!(t.classes.len(), 80);
        let tag = |c: &str| t.classes.iter().find(|(n, ..)| *n == c).unwrap();
        assert_eq!(tag("couch").1.as_str(), "sofa");
        assert_eq!(tag("tv").1.as_str(), "television");
        assert!(tag("dining table").2.iter().any(|p| p.as_str() == "table"));
        assert!(tag("cup").2.iter().any(|p| p.as_str() == "tableware"));
        assert!(tag("dog").2.iter().any(|p| p.as_str() == "animal"));
        assert!(tag("car").2.iter().any(|p| p.as_str() == "vehicle"));
    }

    #[test]
    fn persons_make_people_and_group_by_count_with_every_box() {
        let cfg = BuiltinConfig::default();
        let t = ObjectTags::builtin().unwrap();
        let one = t.labels(&[obj("person", 0.8)], &cfg);
        assert_eq!(conf(&one, "person"), Some(0.8));
        assert_eq!(conf(&one, "people"), None);
        let three = t.labels(
            &[obj("person", 0.8), obj("person", 0.7), obj("person", 0.6)],
            &cfg,
        );
        assert_eq!(conf(&three, "people"), Some(0.7));
        assert_eq!(conf(&three, "group"), Some(0.6));
        let person = three.iter().find(|p| p.name.as_str() == "person").unwrap();
        assert_eq!(person.boxes.len(), 3);
        // Below the floor a person counts for nothing.
        let faint = t.labels(&[obj("person", 0.8), obj("person", 0.05)], &cfg);
        assert_eq!(conf(&faint, "people"), None);
    }

    #[test]
    fn animals_need_more_evidence_than_things() {
        let cfg = BuiltinConfig::default();
        let t = ObjectTags::builtin().unwrap();
        let out = t.labels(&[obj("sheep", 0.45), obj("bottle", 0.45)], &cfg);
        assert_eq!(conf(&out, "sheep"), None);
        assert_eq!(conf(&out, "animal"), None);
        assert_eq!(conf(&out, "bottle"), Some(0.45));
    }

    #[test]
    fn parents_take_the_best_child_not_the_sum() {
        let cfg = BuiltinConfig::default();
        let t = ObjectTags::builtin().unwrap();
        let out = t.labels(&[obj("dog", 0.7), obj("cat", 0.65), obj("cup", 0.6)], &cfg);
        assert_eq!(conf(&out, "animal"), Some(0.7));
        assert_eq!(conf(&out, "tableware"), Some(0.6));
        assert!(out
            .iter()
            .find(|p| p.name.as_str() == "animal")
            .unwrap()
            .boxes
            .is_empty());
    }
}
