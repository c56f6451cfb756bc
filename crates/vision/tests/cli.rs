//! `imgtag tag FILE...` output and exit codes.

use std::path::{Path, PathBuf};

use imgtag_core::services::LabelPolicy;
use imgtag_vision::{cli::run_tag_to, BuiltinConfig};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(name)
}

fn run(files: &[PathBuf], json: bool) -> (i32, String, String) {
    run_with(
        files,
        json,
        BuiltinConfig::default(),
        &LabelPolicy::default(),
    )
}

fn run_with(
    files: &[PathBuf],
    json: bool,
    cfg: BuiltinConfig,
    policy: &LabelPolicy,
) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_tag_to(files, json, cfg, policy, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn table_for_good_files_exit_zero() {
    // A floor above anything the classifier gives a brick wall (its best guess is under 0.25).
    let cfg = BuiltinConfig {
        min_confidence: 0.4,
        ..BuiltinConfig::default()
    };
    let files = [fixture("chelsea.png"), fixture("brick.png")];
    let (code, out, err) = run_with(&files, false, cfg, &LabelPolicy::default());
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty());
    assert!(out.contains("chelsea.png\n"), "{out}");
    let cat_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("cat "))
        .expect(&out);
    assert!(cat_line.trim_end().ends_with('%'), "{cat_line}");
    assert!(
        out.contains("brick.png\n  (no tag above confidence 0.4)"),
        "{out}"
    );
}

#[test]
fn bad_files_reported_others_still_tagged_exit_one() {
    let missing = fixture("does-not-exist.png");
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "not really a jpeg").unwrap();
    let files = [missing.clone(), fixture("coffee.png"), text.clone()];
    let (code, out, err) = run(&files, true);
    assert_eq!(code, 1);
    assert!(
        err.contains("does-not-exist.png: cannot read file"),
        "{err}"
    );
    assert!(
        err.contains("notes.jpg: not an image (unrecognised format)"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[0]["file"], missing.display().to_string());
    assert!(arr[0]["error"]
        .as_str()
        .unwrap()
        .starts_with("cannot read file"));
    let tags = arr[1]["tags"].as_array().unwrap();
    assert_eq!(tags[0]["name"], "drink");
    assert!(tags[0]["confidence"].as_f64().unwrap() > 0.8);
    assert_eq!(arr[2]["error"], "not an image (unrecognised format)");
}

#[test]
fn label_policy_renames_and_drops() {
    let policy = LabelPolicy {
        aliases: [("tabby cat".to_string(), "tabby".to_string())].into(),
        ignore: ["animal".to_string()].into(),
    };
    let cfg = BuiltinConfig {
        top_k: 20,
        min_confidence: 0.2,
        ..BuiltinConfig::default()
    };
    let (code, out, err) = run_with(&[fixture("chelsea.png")], true, cfg, &policy);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"tabby"), "{names:?}");
    assert!(names.contains(&"cat"), "{names:?}");
    assert!(!names.contains(&"tabby cat"), "{names:?}");
    assert!(!names.contains(&"animal"), "{names:?}");
}

#[test]
fn detected_objects_come_with_their_boxes() {
    let (code, out, err) = run(&[fixture("people-far.jpg")], true);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let tags = v[0]["tags"].as_array().unwrap();
    let person = tags.iter().find(|t| t["name"] == "person").expect(&out);
    let boxes = person["boxes"].as_array().expect(&out);
    assert!(boxes.len() >= 2, "{out}");
    for b in boxes {
        for k in ["x", "y", "w", "h"] {
            assert!((0.0..=1.0).contains(&b[k].as_f64().unwrap()), "{b}");
        }
    }
    // Whole-photo labels have none.
    let people = tags.iter().find(|t| t["name"] == "people").expect(&out);
    assert!(people.get("boxes").is_none(), "{out}");
    let (_, table, _) = run(&[fixture("people-far.jpg")], false);
    assert!(table.contains("\n      box x="), "{table}");
}
