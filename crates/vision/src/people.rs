//! Tags from face detections: `face` and `person` (any face), `people` (two or more), `group`
//! (several) and `portrait` (one face taking a large share of the frame), each with the
//! detector's confidence, and the face boxes on `face` and `person`.

use imgtag_core::{Prediction, TagName};

use crate::face::Face;
use crate::BuiltinConfig;

/// Labels for the faces found (best first), keeping those at or above the configured floor.
pub fn labels(faces: &[Face], cfg: &BuiltinConfig) -> Vec<Prediction> {
    let kept: Vec<&Face> = faces
        .iter()
        .filter(|f| f.score >= cfg.face_min_confidence)
        .collect();
    let Some(best) = kept.first() else {
        return Vec::new();
    };
    let boxes: Vec<_> = kept.iter().map(|f| f.bbox).collect();
    let tag = |name: &str, confidence: f32, with_boxes: bool| Prediction {
        name: TagName::parse(name).expect("built-in tag names are valid"),
        confidence: confidence.clamp(0.0, 1.0),
        boxes: if with_boxes {
            boxes.clone()
        } else {
            Vec::new()
        },
    };
    let mut out = vec![
        tag("face", best.score, true),
        tag("person", best.score, true),
    ];
    // "At least n faces" is only as certain as the n-th best face.
    if let Some(second) = kept.get(1) {
        out.push(tag("people", second.score, false));
    }
    if let Some(nth) = kept.get(cfg.group_min_faces.max(2) - 1) {
        out.push(tag("group", nth.score, false));
    }
    if kept.len() == 1 && best.bbox.h >= cfg.portrait_min_face {
        out.push(tag("portrait", best.score, false));
    }
    out
}

/// Adds detector labels (faces, objects) to the classifier's: a name both give keeps the higher
/// confidence, and the first boxes given (so `person` keeps the object detector's body boxes
/// when it is merged before the faces); the result is sorted by confidence, then name, and held
/// to the same floor and top-k as the classifier's labels (the tagger port's contract).
pub fn merge(
    mut labels: Vec<Prediction>,
    faces: Vec<Prediction>,
    cfg: &BuiltinConfig,
) -> Vec<Prediction> {
    for f in faces
        .into_iter()
        .filter(|f| f.confidence >= cfg.min_confidence)
    {
        match labels.iter_mut().find(|l| l.name == f.name) {
            Some(l) => {
                l.confidence = l.confidence.max(f.confidence);
                if l.boxes.is_empty() {
                    l.boxes = f.boxes;
                }
            }
            None => labels.push(f),
        }
    }
    labels.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.name.as_str().cmp(b.name.as_str()))
    });
    labels.truncate(cfg.top_k);
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgtag_core::BBox;

    fn face(score: f32, h: f32) -> Face {
        Face {
            score,
            bbox: BBox {
                x: 0.1,
                y: 0.1,
                w: h,
                h,
            },
        }
    }

    fn names(p: &[Prediction]) -> Vec<&str> {
        p.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn counts_and_sizes_map_to_tags() {
        let cfg = BuiltinConfig::default();
        assert!(labels(&[], &cfg).is_empty());
        assert!(
            labels(&[face(0.6, 0.3)], &cfg).is_empty(),
            "below the floor"
        );
        let one = labels(&[face(0.9, 0.3)], &cfg);
        assert_eq!(names(&one), ["face", "person", "portrait"]);
        assert_eq!(one[0].boxes.len(), 1);
        assert!(one[2].boxes.is_empty());
        let small = labels(&[face(0.9, 0.05)], &cfg);
        assert_eq!(names(&small), ["face", "person"]);
        let three = labels(&[face(0.95, 0.2), face(0.9, 0.2), face(0.8, 0.2)], &cfg);
        assert_eq!(names(&three), ["face", "person", "people", "group"]);
        assert_eq!(three[2].confidence, 0.9);
        assert_eq!(three[3].confidence, 0.8);
        assert_eq!(three[1].boxes.len(), 3);
    }

    #[test]
    fn merge_keeps_the_higher_confidence_and_the_boxes() {
        let cfg = BuiltinConfig::default();
        let classifier = vec![
            Prediction::new(TagName::parse("clothing").unwrap(), 0.85),
            Prediction::new(TagName::parse("person").unwrap(), 0.3),
        ];
        let out = merge(classifier, labels(&[face(0.9, 0.3)], &cfg), &cfg);
        assert_eq!(names(&out), ["face", "person", "portrait", "clothing"]);
        assert_eq!(out[1].confidence, 0.9);
        assert_eq!(out[1].boxes.len(), 1);
    }
}
