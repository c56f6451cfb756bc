//! Tags on real photos (scikit-image fixtures, CC0) with the default configuration.

use std::path::{Path, PathBuf};

use imgtag_core::Prediction;
use imgtag_vision::{BuiltinConfig, BuiltinTagger};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(name)
}

fn tagger(cfg: BuiltinConfig) -> BuiltinTagger {
    BuiltinTagger::load(cfg).unwrap()
}

fn conf(tags: &[Prediction], name: &str) -> Option<f32> {
    tags.iter()
        .find(|p| p.name.as_str() == name)
        .map(|p| p.confidence)
}

fn names(tags: &[Prediction]) -> Vec<&str> {
    tags.iter().map(|p| p.name.as_str()).collect()
}

/// The port's contract: confidences in [floor, 1], unique names, highest first, at most top_k.
fn assert_well_formed(tags: &[Prediction], cfg: &BuiltinConfig) {
    assert!(tags.len() <= cfg.top_k);
    for w in tags.windows(2) {
        assert!(
            w[0].confidence >= w[1].confidence,
            "not sorted: {:?}",
            names(tags)
        );
    }
    let mut seen = std::collections::HashSet::new();
    for p in tags {
        assert!((cfg.min_confidence..=1.0).contains(&p.confidence), "{p:?}");
        assert!(seen.insert(p.name.as_str()), "duplicate {}", p.name);
        let n = p.name.as_str();
        let wordnet_id =
            n.len() == 9 && n.starts_with('n') && n[1..].bytes().all(|b| b.is_ascii_digit());
        assert!(!n.contains('_') && !wordnet_id, "not a readable name: {n}");
    }
}

#[test]
fn cat_photo_gets_cat_animal_and_a_breed() {
    let cfg = BuiltinConfig::default();
    let t = tagger(cfg.clone());
    for file in ["chelsea.png", "chelsea.jpg"] {
        let tags = t.tag_bytes(&fixture(file)).unwrap();
        assert_well_formed(&tags, &cfg);
        let cat =
            conf(&tags, "cat").unwrap_or_else(|| panic!("{file}: no cat in {:?}", names(&tags)));
        assert!(cat > 0.75, "{file}: cat only {cat}");
        assert!(
            conf(&tags, "animal").unwrap() >= cat,
            "{file}: a parent is at least its child"
        );
        assert!(
            conf(&tags, "mammal").is_some(),
            "{file}: {:?}",
            names(&tags)
        );
        let breeds = ["tabby cat", "egyptian cat"];
        assert!(
            breeds.iter().any(|b| conf(&tags, b).is_some()),
            "{file}: no breed in {:?}",
            names(&tags)
        );
        assert!(conf(&tags, "dog").is_none() && conf(&tags, "vehicle").is_none());
    }
}

#[test]
fn exif_orientation_is_applied() {
    let bytes = fixture("chelsea-exif-rotated.jpg");
    // Stored 300 wide x 451 high with Orientation 6; upright it is the 451 x 300 original.
    let img = imgtag_vision::preprocess::decode(&bytes, 50_000_000, 10_000).unwrap();
    assert_eq!(img.dimensions(), (451, 300));
    let tags = tagger(BuiltinConfig::default()).tag_bytes(&bytes).unwrap();
    assert!(conf(&tags, "cat").is_some(), "{:?}", names(&tags));
}

#[test]
fn coffee_photo_gets_coffee_and_drink() {
    let cfg = BuiltinConfig::default();
    let tags = tagger(cfg.clone())
        .tag_bytes(&fixture("coffee.png"))
        .unwrap();
    assert_well_formed(&tags, &cfg);
    assert!(conf(&tags, "espresso").unwrap() > 0.8, "{:?}", names(&tags));
    assert!(
        conf(&tags, "coffee").is_some() && conf(&tags, "drink").is_some(),
        "{:?}",
        names(&tags)
    );
    assert!(conf(&tags, "animal").is_none());
}

/// A brick wall is no ImageNet class: the classifier spreads its probability, and what passes
/// the default floor is weak (under 0.25) and names no animal or person; a floor of 0.25 hides
/// it all, a very low one surfaces more of the same guesses.
#[test]
fn texture_gets_only_weak_tags() {
    let cfg = BuiltinConfig::default();
    let tags = tagger(cfg.clone())
        .tag_bytes(&fixture("brick.png"))
        .unwrap();
    assert_well_formed(&tags, &cfg);
    assert!(tags.iter().all(|p| p.confidence < 0.25), "{tags:?}");
    for n in ["animal", "person", "people"] {
        assert!(conf(&tags, n).is_none(), "{tags:?}");
    }
    let at = |min_confidence| {
        let t = tagger(BuiltinConfig {
            min_confidence,
            ..cfg.clone()
        });
        t.tag_bytes(&fixture("brick.png")).unwrap().len()
    };
    assert_eq!(at(0.25), 0);
    assert!(at(0.05) > tags.len());
}

#[test]
fn top_k_applies() {
    let cfg = BuiltinConfig {
        top_k: 2,
        min_confidence: 0.3,
        ..BuiltinConfig::default()
    };
    let tags = tagger(cfg).tag_bytes(&fixture("chelsea.png")).unwrap();
    assert_eq!(tags.len(), 2, "{:?}", names(&tags));
    assert!(tags[0].confidence >= tags[1].confidence);
}

#[test]
fn batch_matches_single_and_keeps_order() {
    let t = tagger(BuiltinConfig {
        threads: 2,
        ..BuiltinConfig::default()
    });
    let files = [
        "coffee.png",
        "chelsea.png",
        "rocket.jpg",
        "chelsea.jpg",
        "brick.png",
    ];
    let bytes: Vec<Vec<u8>> = files.iter().map(|f| fixture(f)).collect();
    let mut inputs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    inputs.insert(2, b"not an image at all");
    let batch = t.tag_batch(&inputs);
    assert_eq!(batch.len(), inputs.len());
    assert_eq!(
        batch[2].as_ref().unwrap_err().to_string(),
        "not an image (unrecognised format)"
    );
    for (input, got) in inputs.iter().zip(&batch).filter(|(i, _)| i.len() > 100) {
        let single = t.tag_bytes(input).unwrap();
        let got = got.as_ref().unwrap();
        assert_eq!(names(got), names(&single));
        for (a, b) in got.iter().zip(&single) {
            assert!((a.confidence - b.confidence).abs() < 1e-5);
        }
    }
    assert!(conf(batch[0].as_ref().unwrap(), "coffee").is_some());
    assert!(conf(batch[1].as_ref().unwrap(), "cat").is_some());
}

#[test]
fn config_deserialises_with_defaults() {
    let cfg: BuiltinConfig = serde_json::from_str(r#"{"top_k": 3}"#).unwrap();
    assert_eq!(
        cfg,
        BuiltinConfig {
            top_k: 3,
            ..BuiltinConfig::default()
        }
    );
    let full: BuiltinConfig = serde_json::from_str(
        r#"{"min_confidence": 0.5, "top_k": 4, "max_pixels": 1000, "threads": 2}"#,
    )
    .unwrap();
    assert_eq!(
        (
            full.min_confidence,
            full.top_k,
            full.max_pixels,
            full.threads
        ),
        (0.5, 4, 1000, 2)
    );
}
