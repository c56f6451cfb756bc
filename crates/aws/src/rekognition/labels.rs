//! Rekognition labels → predictions: confidences 0-100 → 0-1, parents kept as labels.

use std::collections::HashMap;

use aws_sdk_rekognition::types::Label;
use imgtag_core::{BBox, Prediction, TagName};

/// Every label at or above `min_confidence` (0-1), plus each label's parents (all ancestors:
/// Rekognition lists them on every label). A parent Rekognition did not return itself gets the
/// highest confidence of its children. Names that cannot be tags are dropped; unique names,
/// highest first, ties by name.
pub(crate) fn predictions(labels: &[Label], min_confidence: f32) -> Vec<Prediction> {
    let mut direct: HashMap<TagName, Prediction> = HashMap::new();
    let mut parents: HashMap<TagName, f32> = HashMap::new();
    for l in labels {
        let confidence = (l.confidence().unwrap_or(0.0) / 100.0).clamp(0.0, 1.0);
        // NaN never passes.
        if confidence.is_nan() || confidence < min_confidence {
            continue;
        }
        let Some(name) = l.name().and_then(|n| TagName::parse(n).ok()) else {
            continue;
        };
        for p in l.parents() {
            if let Some(pn) = p.name().and_then(|n| TagName::parse(n).ok()) {
                let e = parents.entry(pn).or_insert(confidence);
                *e = e.max(confidence);
            }
        }
        let boxes: Vec<BBox> = l
            .instances()
            .iter()
            .filter_map(|i| i.bounding_box())
            .filter_map(|b| {
                Some(BBox {
                    x: b.left()?,
                    y: b.top()?,
                    w: b.width()?,
                    h: b.height()?,
                })
            })
            .collect();
        let e = direct
            .entry(name.clone())
            .or_insert_with(|| Prediction::new(name, 0.0));
        e.confidence = e.confidence.max(confidence);
        e.boxes.extend(boxes);
    }
    for (name, confidence) in parents {
        direct
            .entry(name.clone())
            .or_insert_with(|| Prediction::new(name, confidence));
    }
    let mut out: Vec<Prediction> = direct.into_values().collect();
    out.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.as_str().cmp(b.name.as_str()))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rekognition::types::{BoundingBox, Instance, Parent};

    fn label(name: &str, confidence: f32, parents: &[&str]) -> Label {
        let mut b = Label::builder().name(name).confidence(confidence);
        for p in parents {
            b = b.parents(Parent::builder().name(*p).build());
        }
        b.build()
    }

    fn pairs(p: &[Prediction]) -> Vec<(&str, f32)> {
        p.iter().map(|p| (p.name.as_str(), p.confidence)).collect()
    }

    #[test]
    fn parents_take_the_best_child_unless_returned_themselves() {
        let labels = [
            label("Cat", 90.0, &["Pet", "Animal", "Mammal"]),
            label("Kitten", 95.0, &["Cat", "Pet", "Animal"]),
            label("Animal", 60.0, &[]),
            label("Blur", 40.0, &["Unfocused"]),
        ];
        let p = predictions(&labels, 0.5);
        // Cat and Animal keep their own scores; Pet and Mammal come from their best child;
        // Blur is below the floor, so its parent does not appear either.
        assert_eq!(
            pairs(&p),
            vec![
                ("kitten", 0.95),
                ("pet", 0.95),
                ("cat", 0.9),
                ("mammal", 0.9),
                ("animal", 0.6),
            ]
        );
    }

    #[test]
    fn instances_become_boxes() {
        let bb = BoundingBox::builder()
            .left(0.1)
            .top(0.2)
            .width(0.3)
            .height(0.4)
            .build();
        let l = Label::builder()
            .name("Dog")
            .confidence(88.0)
            .instances(
                Instance::builder()
                    .bounding_box(bb)
                    .confidence(88.0)
                    .build(),
            )
            .build();
        let p = predictions(&[l], 0.0);
        assert_eq!(
            p[0].boxes,
            vec![BBox {
                x: 0.1,
                y: 0.2,
                w: 0.3,
                h: 0.4
            }]
        );
    }
}
