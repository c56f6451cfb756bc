//! Face detector: the Rust network and decoding against onnxruntime's outputs on the same input
//! (`tools/reference_faces.py`), and the people tags on real photos (public-domain portraits from
//! the scikit-image and matplotlib wheels, see fixtures/images/README.md).

use std::path::{Path, PathBuf};

use imgtag_core::Prediction;
use imgtag_vision::face::FaceDetector;
use imgtag_vision::{BuiltinConfig, BuiltinTagger};
use serde::Deserialize;

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[derive(Deserialize)]
struct Reference {
    /// 896 score logits (16x16x2 anchors, then 8x8x6).
    scores: Vec<f32>,
    /// The first 4 of the 16 box values per anchor (centre offset, size; input pixels).
    boxes: Vec<f32>,
    faces: Vec<RefFace>,
}

#[derive(Deserialize)]
struct RefFace {
    score: f32,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

#[test]
fn network_and_decoding_match_onnxruntime() {
    let det = FaceDetector::load().unwrap();
    for stem in ["astronaut", "grace_hopper"] {
        let img = image::open(path(&format!("tests/data/face/{stem}.input.png")))
            .unwrap()
            .to_rgb8();
        assert_eq!(img.dimensions(), (128, 128));
        let input: Vec<f32> = img
            .as_raw()
            .iter()
            .map(|&p| f32::from(p) / 127.5 - 1.0)
            .collect();
        let json = std::fs::read_to_string(path(&format!("tests/data/face/{stem}.json"))).unwrap();
        let want: Reference = serde_json::from_str(&json).unwrap();
        let raw = det.raw(&input).unwrap();
        let scores: Vec<f32> = raw.scores16.iter().chain(&raw.scores8).copied().collect();
        assert_eq!(scores.len(), want.scores.len());
        for (i, (g, w)) in scores.iter().zip(&want.scores).enumerate() {
            assert!(
                (g - w).abs() <= 1e-3 * w.abs().max(1.0),
                "{stem} score {i}: {g} vs {w}"
            );
        }
        let boxes: Vec<f32> = raw
            .boxes16
            .chunks_exact(16)
            .chain(raw.boxes8.chunks_exact(16))
            .flat_map(|b| b[..4].to_vec())
            .collect();
        for (i, (g, w)) in boxes.iter().zip(&want.boxes).enumerate() {
            assert!(
                (g - w).abs() <= 2e-3 * w.abs().max(1.0),
                "{stem} box value {i}: {g} vs {w}"
            );
        }
        let got = FaceDetector::detections(&raw, 0);
        assert_eq!(got.len(), want.faces.len(), "{stem}: number of faces");
        assert!(!got.is_empty(), "{stem}: the reference has a face");
        for (g, w) in got.iter().zip(&want.faces) {
            let (gx, gy) = (g.cx - g.w / 2.0, g.cy - g.h / 2.0);
            for (a, b) in [
                (g.score, w.score),
                (gx, w.x),
                (gy, w.y),
                (g.w, w.w),
                (g.h, w.h),
            ] {
                assert!((a - b).abs() < 1e-3, "{stem}: {a} vs {b}");
            }
        }
    }
}

fn names(tags: &[Prediction]) -> Vec<&str> {
    tags.iter().map(|p| p.name.as_str()).collect()
}

fn tag(t: &BuiltinTagger, bytes: &[u8]) -> Vec<Prediction> {
    t.tag_bytes(bytes).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(path(&format!("../../fixtures/images/{name}"))).unwrap()
}

#[test]
fn portraits_are_a_person_a_face_and_a_portrait_with_a_box() {
    let t = BuiltinTagger::load(BuiltinConfig::default()).unwrap();
    for file in ["astronaut.png", "grace_hopper.jpg"] {
        let tags = tag(&t, &fixture(file));
        let n = names(&tags);
        for want in ["person", "face", "portrait"] {
            assert!(n.contains(&want), "{file}: no {want} in {n:?}");
        }
        assert!(!n.contains(&"people"), "{file}: one face, yet {n:?}");
        let face = tags.iter().find(|p| p.name.as_str() == "face").unwrap();
        assert!(face.confidence >= 0.75, "{file}: {face:?}");
        assert_eq!(face.boxes.len(), 1, "{file}: {face:?}");
        let b = face.boxes[0];
        // The face is in the upper middle of both photos and takes 15-40 % of the height.
        let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
        assert!(
            (0.3..0.7).contains(&cx) && (0.1..0.5).contains(&cy),
            "{file}: {b:?}"
        );
        assert!((0.15..0.4).contains(&b.h), "{file}: {b:?}");
        // `person` carries the object detector's body box, which holds the face.
        let person = tags.iter().find(|p| p.name.as_str() == "person").unwrap();
        assert_eq!(person.boxes.len(), 1, "{file}: {person:?}");
        let p = person.boxes[0];
        assert!(
            p.x <= b.x && p.y <= b.y + 0.05 && p.x + p.w >= b.x + b.w && p.y + p.h >= b.y + b.h,
            "{file}: body {p:?} does not hold face {b:?}"
        );
        assert!(p.h > b.h * 2.0, "{file}: body {p:?} vs face {b:?}");
    }
}

#[test]
fn photos_without_people_get_no_person_or_face() {
    let t = BuiltinTagger::load(BuiltinConfig::default()).unwrap();
    for file in [
        "chelsea.png",
        "chelsea.jpg",
        "coffee.png",
        "brick.png",
        "rocket.jpg",
    ] {
        let n = names(&tag(&t, &fixture(file))).join(",");
        for bad in ["person", "face", "people", "portrait"] {
            assert!(!n.split(',').any(|x| x == bad), "{file}: {n}");
        }
    }
}

#[test]
fn a_grid_of_portraits_is_people_not_a_portrait() {
    let src = image::load_from_memory(&fixture("astronaut.png"))
        .unwrap()
        .to_rgb8();
    let (w, h) = src.dimensions();
    let mut grid = image::RgbImage::new(2 * w, 2 * h);
    for i in 0..4 {
        image::imageops::replace(&mut grid, &src, i64::from(i % 2 * w), i64::from(i / 2 * h));
    }
    let mut png = Vec::new();
    grid.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let t = BuiltinTagger::load(BuiltinConfig::default()).unwrap();
    let tags = tag(&t, &png);
    let n = names(&tags);
    assert!(n.contains(&"people") && n.contains(&"person"), "{n:?}");
    assert!(!n.contains(&"portrait"), "{n:?}");
    let face = tags.iter().find(|p| p.name.as_str() == "face").unwrap();
    assert_eq!(face.boxes.len(), 4, "{face:?}");
    // Four faces, one in each quadrant.
    let mut quadrants: Vec<(bool, bool)> = face
        .boxes
        .iter()
        .map(|b| (b.x + b.w / 2.0 > 0.5, b.y + b.h / 2.0 > 0.5))
        .collect();
    quadrants.sort();
    quadrants.dedup();
    assert_eq!(quadrants.len(), 4, "{:?}", face.boxes);
    let four = BuiltinConfig {
        group_min_faces: 4,
        ..BuiltinConfig::default()
    };
    let n4 = names(&BuiltinTagger::load(four).unwrap().tag_bytes(&png).unwrap()).join(",");
    assert!(n4.split(',').any(|x| x == "group"), "{n4}");
}

#[test]
fn faces_off_means_no_people_tags() {
    let cfg = BuiltinConfig {
        faces: false,
        ..BuiltinConfig::default()
    };
    let t = BuiltinTagger::load(cfg).unwrap();
    let n = names(&tag(&t, &fixture("astronaut.png"))).join(",");
    assert!(!n.split(',').any(|x| x == "face" || x == "portrait"), "{n}");
}
