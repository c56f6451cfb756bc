//! The Rust network against onnxruntime's logits (tools/reference_logits.py), on the exact input
//! pixels the reference was fed, plus the full Rust pipeline (own decode and resize) on the photos.

use std::path::{Path, PathBuf};

use imgtag_vision::{preprocess, BuiltinConfig, BuiltinTagger};
use serde_json::Value;

const PHOTOS: [&str; 4] = ["chelsea", "coffee", "rocket", "brick"];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn reference(stem: &str) -> (Vec<f32>, Vec<usize>, String) {
    let text = std::fs::read_to_string(data_dir().join(format!("{stem}.logits.json"))).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let logits = v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    let top5 = v["top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    (logits, top5, v["photo"].as_str().unwrap().to_string())
}

fn top(logits: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    idx.truncate(k);
    idx
}

fn tagger() -> BuiltinTagger {
    BuiltinTagger::load(BuiltinConfig::default()).unwrap()
}

#[test]
fn logits_match_onnxruntime_on_identical_inputs() {
    let t = tagger();
    let mut batch = Vec::new();
    let mut refs = Vec::new();
    for stem in PHOTOS {
        let png = std::fs::read(data_dir().join(format!("{stem}.input.png"))).unwrap();
        let rgb = image::load_from_memory(&png).unwrap().to_rgb8();
        let side = preprocess::INPUT_SIZE;
        assert_eq!(rgb.dimensions(), (side, side));
        let mut input = Vec::new();
        preprocess::normalise(rgb.as_raw(), &mut input);
        // One at a time and as a batch: batching must not change the numbers.
        let single = t.logits(&input).unwrap().remove(0);
        batch.extend(input);
        refs.push((stem, single, reference(stem)));
    }
    let batched = t.logits(&batch).unwrap();
    assert_eq!(batched.len(), PHOTOS.len());
    for ((stem, single, (expected, top5, _)), batched) in refs.into_iter().zip(batched) {
        for got in [&single, &batched] {
            let max_diff = got
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            eprintln!("{stem}: max |logit difference| vs onnxruntime = {max_diff:e}");
            assert!(
                max_diff < 1e-3,
                "{stem}: max |logit difference| {max_diff} >= 1e-3"
            );
            assert_eq!(top(got, 5), top5, "{stem}: top-5 differs from onnxruntime");
        }
    }
}

#[test]
fn full_pipeline_agrees_with_reference_top1() {
    let t = tagger();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images");
    for stem in PHOTOS {
        let (expected, _, photo) = reference(stem);
        if stem == "brick" {
            continue; // a texture: no confident class, so its top-1 is not a meaningful check
        }
        let bytes = std::fs::read(root.join(&photo)).unwrap();
        let input = preprocess::prepare(&bytes, 50_000_000, &mut fast_image_resize::Resizer::new())
            .unwrap();
        let got = t.logits(&input).unwrap().remove(0);
        assert_eq!(
            top(&got, 1),
            top(&expected, 1),
            "{photo}: top-1 differs from the Pillow pipeline"
        );
    }
}
