//! Tags from the object detector on committed photos (`fixtures/images/README.md`): people the
//! face detector cannot see, a table scene, and a landscape that must stay free of animals and
//! people.

use std::path::Path;

use imgtag_core::Prediction;
use imgtag_vision::{BuiltinConfig, BuiltinTagger};

fn tag(file: &str) -> Vec<Prediction> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(file);
    let t = BuiltinTagger::load(BuiltinConfig::default()).unwrap();
    t.tag_bytes(&std::fs::read(path).unwrap()).unwrap()
}

fn find<'a>(tags: &'a [Prediction], name: &str) -> Option<&'a Prediction> {
    tags.iter().find(|p| p.name.as_str() == name)
}

fn names(tags: &[Prediction]) -> Vec<&str> {
    tags.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn people_far_away_without_faces_are_person_and_people_with_boxes() {
    let tags = tag("people-far.jpg");
    assert!(find(&tags, "face").is_none(), "{:?}", names(&tags));
    let person = find(&tags, "person").unwrap_or_else(|| panic!("{:?}", names(&tags)));
    assert!(find(&tags, "people").is_some(), "{:?}", names(&tags));
    // One box per person found, each small (they are far away) and inside the photo.
    assert!(person.boxes.len() >= 2, "{person:?}");
    for b in &person.boxes {
        assert!(b.h < 0.3 && b.x >= 0.0 && b.y >= 0.0, "{b:?}");
        assert!(b.x + b.w <= 1.0 + 1e-6 && b.y + b.h <= 1.0 + 1e-6, "{b:?}");
    }
}

#[test]
fn a_table_scene_is_tagged_table_with_the_bottle_on_it() {
    let tags = tag("table.jpg");
    let n = names(&tags);
    assert!(n.contains(&"table") || n.contains(&"dining table"), "{n:?}");
    assert!(n.contains(&"bottle"), "{n:?}");
    assert!(n.contains(&"furniture"), "{n:?}");
    for bad in ["person", "people", "animal"] {
        assert!(!n.contains(&bad), "{bad} in {n:?}");
    }
}

#[test]
fn a_landscape_gets_no_animal_and_no_person() {
    let tags = tag("landscape.jpg");
    let n = names(&tags);
    assert!(n.contains(&"landscape") || n.contains(&"mountain"), "{n:?}");
    for bad in ["animal", "mammal", "bird", "person", "people", "face"] {
        assert!(!n.contains(&bad), "{bad} in {n:?}");
    }
}

#[test]
fn the_detector_can_be_turned_off() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/people-far.jpg");
    let t = BuiltinTagger::load(BuiltinConfig {
        objects: false,
        ..BuiltinConfig::default()
    })
    .unwrap();
    let tags = t.tag_bytes(&std::fs::read(path).unwrap()).unwrap();
    assert!(find(&tags, "person").is_none(), "{:?}", names(&tags));
}
