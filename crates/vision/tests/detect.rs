//! Object detector: the Rust network and decoding against TF.js running the original graph model
//! on the same 512x512 inputs (`tools/reference_centernet.py`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use imgtag_vision::detect::{ObjectDetector, COCO};
use serde::Deserialize;

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[derive(Deserialize)]
struct Reference {
    keypoints_step: usize,
    /// Every `keypoints_step`-th heatmap value (NHWC-flat).
    keypoints: Vec<f32>,
    keypoints_sum: f64,
    wh_step: usize,
    wh: Vec<f32>,
    wh_sum: f64,
    /// The 20 best heatmap peaks.
    peaks: Vec<RefPeak>,
    detections: Vec<RefDetection>,
}

#[derive(Deserialize)]
struct RefPeak {
    score: f32,
    y: usize,
    x: usize,
    class: usize,
}

#[derive(Deserialize)]
struct RefDetection {
    score: f32,
    class: usize,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

#[test]
fn network_and_decoding_match_tfjs() {
    let det = ObjectDetector::load().unwrap();
    for stem in ["astronaut", "chelsea", "coffee"] {
        let img = image::open(path(&format!("tests/data/centernet/{stem}.input.png")))
            .unwrap()
            .to_rgb8();
        assert_eq!(img.dimensions(), (512, 512));
        let input: Vec<f32> = img.as_raw().iter().map(|&p| f32::from(p)).collect();
        let json =
            std::fs::read_to_string(path(&format!("tests/data/centernet/{stem}.json"))).unwrap();
        let want: Reference = serde_json::from_str(&json).unwrap();
        let t = Instant::now();
        let raw = det.raw(&input).unwrap();
        eprintln!("{stem}: network {:?}", t.elapsed());

        let kp: Vec<f32> = raw
            .keypoints
            .iter()
            .step_by(want.keypoints_step)
            .copied()
            .collect();
        assert_eq!(kp.len(), want.keypoints.len());
        let worst = kp
            .iter()
            .zip(&want.keypoints)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f32::max);
        assert!(worst <= 1e-3, "{stem}: heatmap sample off by {worst}");
        let sum: f64 = raw.keypoints.iter().map(|&v| f64::from(v)).sum();
        assert!(
            (sum - want.keypoints_sum).abs() <= 1e-4 * want.keypoints_sum,
            "{stem}: {sum}"
        );
        let wh: Vec<f32> = raw.wh.iter().step_by(want.wh_step).copied().collect();
        assert_eq!(wh.len(), want.wh.len());
        for (i, (g, w)) in wh.iter().zip(&want.wh).enumerate() {
            assert!(
                (g - w).abs() <= 0.05 + 1e-3 * w.abs(),
                "{stem} wh {i}: {g} vs {w}"
            );
        }
        let sum: f64 = raw.wh.iter().map(|&v| f64::from(v)).sum();
        assert!(
            (sum - want.wh_sum).abs() <= 1e-4 * want.wh_sum.abs(),
            "{stem}: {sum}"
        );
        for p in &want.peaks {
            let got = raw.keypoints[(p.y * 128 + p.x) * 80 + p.class];
            assert!(
                (got - p.score).abs() <= 1e-3,
                "{stem} peak {p:?}: {got}",
                p = (p.y, p.x)
            );
        }

        let got = ObjectDetector::detections(&raw, 0);
        eprintln!("{stem}: {got:?}");
        assert_eq!(got.len(), want.detections.len(), "{stem}: {got:?}");
        for (g, w) in got.iter().zip(&want.detections) {
            assert_eq!(g.class, COCO[w.class], "{stem}");
            assert!((g.score - w.score).abs() <= 1e-3, "{stem}: {g:?}");
            let b = g.bbox;
            for (a, e) in [(b.x, w.x), (b.y, w.y), (b.w, w.w), (b.h, w.h)] {
                assert!(
                    (a - e).abs() <= 0.01,
                    "{stem}: box {b:?} vs {:?}",
                    (w.x, w.y, w.w, w.h)
                );
            }
        }
    }
}

#[test]
fn detect_maps_boxes_to_the_photo() {
    let det = ObjectDetector::load().unwrap();
    let img = image::open(path("../../fixtures/images/chelsea.png"))
        .unwrap()
        .to_rgb8();
    let mut resizer = fast_image_resize::Resizer::new();
    let found = det.detect(&img, &mut resizer).unwrap();
    let cat = found.iter().find(|o| o.class == "cat").expect("a cat");
    // The letterbox bars (0.17 of the square above and below) are gone: the cat fills the photo.
    assert!(cat.bbox.y < 0.05 && cat.bbox.h > 0.9, "{cat:?}");
}

/// The tagger runs the detector on the photo's own shape (a 427x640 photo in a 224x320 frame at
/// 320): it must find what the full letterboxed square finds, in the same places.
#[test]
fn own_shape_finds_what_the_square_finds() {
    let det = ObjectDetector::with_side(320).unwrap();
    let img = image::open(path("../../fixtures/images/table.jpg"))
        .unwrap()
        .to_rgb8();
    let (w, h) = (img.width(), img.height());
    let side = w.max(h);
    let mut square = image::RgbImage::new(side, side);
    let (ox, oy) = ((side - w) / 2, (side - h) / 2);
    image::imageops::replace(&mut square, &img, i64::from(ox), i64::from(oy));
    let mut resizer = fast_image_resize::Resizer::new();
    let own = det.detect(&img, &mut resizer).unwrap();
    let boxed = det.detect(&square, &mut resizer).unwrap();
    let (sw, sh) = (side as f32 / w as f32, side as f32 / h as f32);
    let strong = |v: &[imgtag_vision::detect::Object]| -> Vec<_> {
        v.iter()
            .filter(|o| o.score >= 0.3)
            .map(|o| o.class)
            .collect()
    };
    assert!(!strong(&own).is_empty(), "{own:?}");
    assert_eq!(strong(&own), strong(&boxed), "{own:?}\n{boxed:?}");
    for (a, b) in own.iter().zip(&boxed).filter(|(a, _)| a.score >= 0.3) {
        assert!((a.score - b.score).abs() < 0.1, "{a:?} vs {b:?}");
        // The square's box in photo fractions.
        let bx = (b.bbox.x * side as f32 - ox as f32) / w as f32;
        let by = (b.bbox.y * side as f32 - oy as f32) / h as f32;
        for (p, q) in [
            (a.bbox.x, bx),
            (a.bbox.y, by),
            (a.bbox.w, b.bbox.w * sw),
            (a.bbox.h, b.bbox.h * sh),
        ] {
            assert!((p - q).abs() < 0.03, "{a:?} vs {b:?}");
        }
    }
}

/// Per-image cost of the detector next to the classifier (`--ignored --nocapture`; best of 5,
/// both on this machine's cores): network alone, then whole pipeline from the encoded file.
#[test]
#[ignore]
fn timing_against_the_classifier() {
    use imgtag_vision::{BuiltinConfig, BuiltinTagger};
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let det = ObjectDetector::load().unwrap();
    let cfg = BuiltinConfig {
        faces: false,
        ..BuiltinConfig::default()
    };
    let tagger = BuiltinTagger::load(cfg).unwrap();
    let cls_in = vec![0.1f32; 224 * 224 * 3];
    let det_in = vec![100.0f32; 512 * 512 * 3];
    let cls = best(&mut || drop(tagger.logits(&cls_in).unwrap()));
    let net = best(&mut || drop(det.raw(&det_in).unwrap()));
    let side = imgtag_vision::detect::TAGGING_SIDE;
    let small = ObjectDetector::with_side(side).unwrap();
    let small_in = vec![100.0f32; side * side * 3];
    let tagging = best(&mut || drop(small.raw(&small_in).unwrap()));
    eprintln!("network: classifier {cls:?}, detector {net:?} at 512, {tagging:?} at {side}");
    let bytes = std::fs::read(path("../../fixtures/images/coffee.png")).unwrap();
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let mut resizer = fast_image_resize::Resizer::new();
    let tag = best(&mut || drop(tagger.tag_bytes(&bytes).unwrap()));
    let found = best(&mut || drop(det.detect(&img, &mut resizer).unwrap()));
    eprintln!("coffee.png: tag_bytes (faces off) {tag:?}, detect (decoded photo) {found:?}");
}
