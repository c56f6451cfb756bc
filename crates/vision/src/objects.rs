//! Tags from object detections (CenterNet, COCO-80): each detected class under its readable
//! name with every box found, its parent concepts (`dog` → `animal`, `cup` → `tableware`), and
//! `person` / `people` / `group` from the persons, whether or not a face shows
//! (`models/objects.tsv`).

use imgtag_core::{Prediction, TagName};

use crate::detect::{Object, COCO};
use crate::BuiltinConfig;

/// The class table, embedded like the taxonomy.
const OBJECTS_TSV: &str = include_str!("../../../models/objects.tsv");

/// The classifier's score for a detected animal's own tag (its `cat` concept for a detected
/// cat) from which the detection counts at the general object floor instead of the animals'
/// higher one: two independent networks naming the same animal. On `bench/quality` the backed
/// detections had 0.08-0.93 (a cat half hidden behind a mug: detector 0.26, classifier 0.08);
/// the detector's wrong species 0.000-0.021 (a lion as `dog`, a cheetah as `bird`, a drawn
/// sheep as `cow`, mountain rocks as `sheep`).
pub const ANIMAL_BACKING: f32 = 0.05;

/// The classifier's `animal` score from which it is taken to have seen the photo's animal
/// itself: a detected animal it does not back is then the detector's wrong species and is
/// dropped, whatever its score (a cheetah the classifier names at 0.75, `animal` 0.87, is `dog`
/// 0.70 to the detector at 384 px). Below it, the classifier is unsure and the animals' floor
/// decides.
pub const ANIMAL_SEEN: f32 = 0.5;

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
    /// [`BuiltinConfig::animal_min_confidence`] for animals the classifier does not back
    /// (`classifier(tag)`, its score for the same tag, below [`ANIMAL_BACKING`]; none at all
    /// when its `animal` is at least [`ANIMAL_SEEN`]: it saw another animal), else
    /// [`BuiltinConfig::object_min_confidence`]. A tag's confidence is its best detection's; a
    /// parent's, its best child's (evidence is merged by max, never summed).
    pub fn labels(
        &self,
        objects: &[Object],
        classifier: impl Fn(&str) -> f32,
        cfg: &BuiltinConfig,
    ) -> Vec<Prediction> {
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
            } else if parents.iter().any(|p| p.as_str() == "animal")
                && classifier(tag.as_str()) < ANIMAL_BACKING
            {
                if classifier("animal") >= ANIMAL_SEEN {
                    continue;
                }
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

    /// No classifier backing.
    fn none(_: &str) -> f32 {
        0.0
    }

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
        let one = t.labels(&[obj("person", 0.8)], none, &cfg);
        assert_eq!(conf(&one, "person"), Some(0.8));
        assert_eq!(conf(&one, "people"), None);
        let three = t.labels(
            &[obj("person", 0.8), obj("person", 0.7), obj("person", 0.6)],
            none,
            &cfg,
        );
        assert_eq!(conf(&three, "people"), Some(0.7));
        assert_eq!(conf(&three, "group"), Some(0.6));
        let person = three.iter().find(|p| p.name.as_str() == "person").unwrap();
        assert_eq!(person.boxes.len(), 3);
        // Below the floor a person counts for nothing.
        let faint = t.labels(&[obj("person", 0.8), obj("person", 0.05)], none, &cfg);
        assert_eq!(conf(&faint, "people"), None);
    }

    #[test]
    fn animals_need_more_evidence_than_things() {
        let cfg = BuiltinConfig::default();
        let t = ObjectTags::builtin().unwrap();
        let out = t.labels(&[obj("sheep", 0.45), obj("bottle", 0.45)], none, &cfg);
        assert_eq!(conf(&out, "sheep"), None);
        assert_eq!(conf(&out, "animal"), None);
        assert_eq!(conf(&out, "bottle"), Some(0.45));
        // Backed by the classifier naming the same animal, it counts like any object; backing
        // for another animal does not help.
        let cat = |tag: &str| if tag == "cat" { 0.08 } else { 0.0 };
        let out = t.labels(&[obj("cat", 0.3), obj("dog", 0.3)], cat, &cfg);
        assert_eq!(conf(&out, "cat"), Some(0.3));
        assert_eq!(conf(&out, "animal"), Some(0.3));
        assert_eq!(conf(&out, "dog"), None);
        let faint = |_: &str| ANIMAL_BACKING / 2.0;
        assert_eq!(
            conf(&t.labels(&[obj("cat", 0.3)], faint, &cfg), "cat"),
            None
        );
    }

    #[test]
    fn a_species_the_classifier_contradicts_is_dropped() {
        let cfg = BuiltinConfig::default();
        let t = ObjectTags::builtin().unwrap();
        // The classifier sure of an animal (a cheetah), none of it a dog: the detector's
        // confident `dog` is its wrong species.
        let cheetah = |tag: &str| match tag {
            "animal" => 0.87,
            "cheetah" => 0.75,
            _ => 0.0,
        };
        let out = t.labels(&[obj("dog", 0.7), obj("cup", 0.4)], cheetah, &cfg);
        assert_eq!(conf(&out, "dog"), None);
        assert_eq!(conf(&out, "cup"), Some(0.4));
        // Unsure of any animal, the floor decides; backed, the species stays.
        let unsure = |tag: &str| if tag == "animal" { 0.3 } else { 0.0 };
        assert_eq!(
            conf(&t.labels(&[obj("dog", 0.7)], unsure, &cfg), "dog"),
            Some(0.7)
        );
        let dog = |tag: &str| {
            if tag == "animal" || tag == "dog" {
                0.9
            } else {
                0.0
            }
        };
        assert_eq!(
            conf(&t.labels(&[obj("dog", 0.3)], dog, &cfg), "dog"),
            Some(0.3)
        );
    }

    #[test]
    fn parents_take_the_best_child_not_the_sum() {
        let cfg = BuiltinConfig::default();
        let t = ObjectTags::builtin().unwrap();
        let out = t.labels(
            &[obj("dog", 0.7), obj("cat", 0.65), obj("cup", 0.6)],
            none,
            &cfg,
        );
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
