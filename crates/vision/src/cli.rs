//! `imgtag tag FILE...`: tag image files offline and print the labels.

use std::io::Write;
use std::path::PathBuf;

use imgtag_core::services::LabelPolicy;
use serde_json::json;

use crate::{BuiltinConfig, BuiltinTagger};

/// Files read and tagged together; bounds memory for long file lists.
const CHUNK: usize = 32;

/// Tags `files` with the built-in model and prints, per file, a table of labels and confidences
/// (or, with `json`, one JSON array of `{"file","tags":[{"name","confidence","boxes"?}]}` /
/// `{"file","error"}` objects). Unreadable or undecodable files get an error line on stderr and
/// the others are still tagged. `policy` (the `[app.labels]` renames and drops) is applied to each
/// file's labels, as the service does for every tagger. Returns the process exit code: 0 if every
/// file was tagged, 1 if any failed, 2 if the model could not be loaded.
pub fn run_tag(files: &[PathBuf], json: bool, cfg: BuiltinConfig, policy: &LabelPolicy) -> i32 {
    run_tag_to(
        files,
        json,
        cfg,
        policy,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

/// [`run_tag`] writing to the given streams instead of stdout / stderr (for tests and embedding).
pub fn run_tag_to(
    files: &[PathBuf],
    json: bool,
    cfg: BuiltinConfig,
    policy: &LabelPolicy,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let floor = cfg.min_confidence;
    let tagger = match BuiltinTagger::load(cfg) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: cannot load the built-in model: {e:#}");
            return 2;
        }
    };
    let mut failed = false;
    let mut records = Vec::new();
    for chunk in files.chunks(CHUNK) {
        let read: Vec<Result<Vec<u8>, String>> = chunk
            .iter()
            .map(|f| std::fs::read(f).map_err(|e| format!("cannot read file: {e}")))
            .collect();
        let ok: Vec<&[u8]> = read.iter().filter_map(|r| r.as_deref().ok()).collect();
        let mut tagged = tagger.tag_batch(&ok).into_iter();
        for (file, r) in chunk.iter().zip(&read) {
            let outcome = match r {
                Ok(_) => tagged
                    .next()
                    .unwrap_or(Err(crate::VisionError::Empty))
                    .map(|p| policy.apply(&p))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.clone()),
            };
            let name = file.display().to_string();
            match outcome {
                Ok(tags) => {
                    if json {
                        let tags: Vec<_> = tags
                            .iter()
                            .map(|p| {
                                let mut t = json!({"name": p.name.as_str(), "confidence": round4(p.confidence)});
                                if !p.boxes.is_empty() {
                                    let boxes: Vec<_> = p
                                        .boxes
                                        .iter()
                                        .map(|b| json!({"x": round4(b.x), "y": round4(b.y), "w": round4(b.w), "h": round4(b.h)}))
                                        .collect();
                                    t["boxes"] = boxes.into();
                                }
                                t
                            })
                            .collect();
                        records.push(json!({"file": name, "tags": tags}));
                    } else {
                        let _ = writeln!(out, "{name}");
                        if tags.is_empty() {
                            let _ = writeln!(out, "  (no tag above confidence {floor})");
                        }
                        for p in &tags {
                            let _ = writeln!(
                                out,
                                "  {:<32} {:>6.1}%",
                                p.name.as_str(),
                                p.confidence * 100.0
                            );
                            // Where it was found (fractions of the photo), one line per box.
                            for b in &p.boxes {
                                let _ = writeln!(
                                    out,
                                    "      box x={:.2} y={:.2} w={:.2} h={:.2}",
                                    b.x, b.y, b.w, b.h
                                );
                            }
                        }
                    }
                }
                Err(e) => {
                    failed = true;
                    let _ = writeln!(err, "error: {name}: {e}");
                    if json {
                        records.push(json!({"file": name, "error": e}));
                    }
                }
            }
        }
    }
    if json {
        let _ = writeln!(out, "{}", serde_json::Value::Array(records));
    }
    i32::from(failed)
}

fn round4(v: f32) -> f64 {
    (f64::from(v) * 10_000.0).round() / 10_000.0
}
