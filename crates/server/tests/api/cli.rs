//! The command line, run as a user would: `imgtag user ...`, `imgtag import`, `imgtag retag`,
//! `imgtag completions`, `--help`. Each command is the real binary on a temporary data dir.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{fixture, spawn_in, tags};

fn imgtag(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgtag"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn add_user(data: &Path, name: &str) {
    let o = imgtag(
        data,
        &["user", "add", name, "--password-stdin"],
        "Abc123!\n",
    );
    assert!(o.status.success(), "{}", text(&o));
}

/// `n` distinct JPEGs: the fixtures with a counter appended after the end-of-image marker,
/// which decoders ignore but which changes the SHA-256.
fn photos(dir: &Path, n: usize) {
    let (cat, rocket) = (fixture("chelsea.jpg"), fixture("rocket.jpg"));
    std::fs::create_dir_all(dir.join("2024/summer")).unwrap();
    for i in 0..n {
        let (sub, base) = if i % 2 == 0 {
            ("", &cat)
        } else {
            ("2024/summer", &rocket)
        };
        let mut bytes = base.clone();
        bytes.extend_from_slice(format!("copy {i}").as_bytes());
        std::fs::write(dir.join(sub).join(format!("photo-{i:03}.JPG")), bytes).unwrap();
    }
}

#[tokio::test]
async fn user_commands_manage_accounts_the_api_uses() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    add_user(d, "alice");
    add_user(d, "bob");
    let dup = imgtag(
        d,
        &["user", "add", "ALICE", "--password-stdin"],
        "Abc123!\n",
    );
    assert!(!dup.status.success());
    assert!(text(&dup).contains("already exists"), "{}", text(&dup));
    let weak = imgtag(d, &["user", "add", "carol", "--password-stdin"], "ab\n");
    assert!(!weak.status.success() && text(&weak).contains("password"));

    let list = imgtag(d, &["user", "list", "--json"], "");
    let users: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    let o = imgtag(
        d,
        &["user", "passwd", "alice", "--password-stdin"],
        "N3w!pass\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let refused = imgtag(d, &["user", "delete", "bob"], "");
    assert!(!refused.status.success() && text(&refused).contains("--yes"));

    let app = spawn_in(d, |_| {}).await;
    let signin = |name: &str, password: &str| {
        let body = json!({"username": name, "password": password});
        let r = app.post_json("/signin", body, None);
        async move { r.await.status().as_u16() }
    };
    assert_eq!(
        signin("alice", "Abc123!").await,
        400,
        "old password is gone"
    );
    assert_eq!(signin("alice", "N3w!pass").await, 201);
    assert_eq!(
        signin("bob", "Abc123!").await,
        201,
        "refused delete kept bob"
    );

    let gone = imgtag(d, &["user", "delete", "bob", "--yes"], "");
    assert!(gone.status.success(), "{}", text(&gone));
    assert_eq!(signin("bob", "Abc123!").await, 400);
    let missing = imgtag(
        d,
        &["user", "passwd", "nobody", "--password-stdin"],
        "N3w!pass\n",
    );
    assert!(!missing.status.success() && text(&missing).contains("no user named nobody"));
}

#[tokio::test]
async fn import_tags_a_folder_reports_failures_and_skips_on_rerun() {
    let (data, photos_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (d, p) = (data.path(), photos_dir.path());
    add_user(d, "alice");
    photos(p, 20);
    // Left alone: not an image by name, hidden. Reported: not an image, cannot be decoded.
    std::fs::write(p.join("notes.txt"), "hello").unwrap();
    std::fs::create_dir(p.join(".cache")).unwrap();
    std::fs::write(p.join(".cache/hidden.jpg"), fixture("chelsea.jpg")).unwrap();
    std::fs::write(p.join("fake.png"), "this is text").unwrap();
    let mut truncated = fixture("coffee.png");
    truncated.truncate(2000);
    std::fs::write(p.join("truncated.png"), truncated).unwrap();

    let dir = p.to_str().unwrap();
    let first = imgtag(d, &["import", dir, "--user", "alice"], "");
    let out = text(&first);
    assert_eq!(first.status.code(), Some(1), "failures give exit 1: {out}");
    assert!(out.contains("importing 22 file(s)"), "{out}");
    assert!(out.contains("imported: 21 (20 tagged)"), "{out}");
    assert!(out.contains("skipped (already imported): 0"), "{out}");
    assert!(out.contains("failed: 2"), "{out}");
    assert!(out.contains("fake.png: not a supported image"), "{out}");
    assert!(out.contains("truncated.png: tagging failed"), "{out}");
    // Not a terminal: plain progress lines with count, rate and ETA.
    assert!(out.contains("importing: 22/22 ("), "{out}");

    let second = imgtag(d, &["import", dir, "--user", "alice"], "");
    let out = text(&second);
    assert!(out.contains("imported: 0 (0 tagged)"), "{out}");
    assert!(out.contains("skipped (already imported): 21"), "{out}");

    let app = spawn_in(d, |_| {}).await;
    let token = signin_token(&app, "alice").await;
    let cats = app.get_json("/images?tags=cat&limit=100", &token).await;
    let cats = cats["images"].as_array().unwrap();
    assert_eq!(cats.len(), 10, "every cat copy tagged cat");
    assert!(cats.iter().all(|i| tags(i).contains(&"cat".to_string())));
    let all = app.get_json("/images?limit=100", &token).await;
    assert_eq!(all["images"].as_array().unwrap().len(), 21);
}

async fn signin_token(app: &crate::helpers::TestApp, name: &str) -> String {
    let body = json!({"username": name, "password": "Abc123!"});
    let r = app.post_json("/signin", body, None).await;
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn import_killed_half_way_finishes_on_rerun() {
    let (data, photos_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (d, p) = (data.path(), photos_dir.path());
    add_user(d, "alice");
    photos(p, 40);
    let dir = p.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgtag"))
        .args(["import", dir, "--user", "alice", "--data-dir"])
        .arg(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a few photos are stored, while the rest are not.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while stored_files(&d.join("blobs/images")) < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "import stored nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    let rerun = imgtag(d, &["import", dir, "--user", "alice"], "");
    let out = text(&rerun);
    assert!(rerun.status.success(), "{out}");
    let number = |prefix: &str| -> usize {
        let line = out.lines().find(|l| l.starts_with(prefix)).expect(prefix);
        line[prefix.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        number("imported: ") + number("skipped (already imported): "),
        40,
        "{out}"
    );
    assert!(!out.contains("not finished"), "{out}");
    // Files are stored one after another: of the 5 files on disk, at least the first 4 were
    // fully recorded before the kill (the 5th may be a file without a record; it is stored
    // again under a new id).
    assert!(number("skipped (already imported): ") >= 4, "{out}");

    let app = spawn_in(d, |c| c.server.workers = Some(0)).await;
    let token = signin_token(&app, "alice").await;
    let all = app.get_json("/images?limit=100", &token).await;
    let all = all["images"].as_array().unwrap();
    assert_eq!(all.len(), 40, "each photo stored exactly once");
    assert!(
        all.iter().all(|i| i["status"] == "tagged"),
        "all tagged by the end of the re-run"
    );
}

fn stored_files(dir: &Path) -> usize {
    let Ok(owners) = std::fs::read_dir(dir) else {
        return 0;
    };
    owners
        .flatten()
        .filter_map(|o| std::fs::read_dir(o.path()).ok())
        .map(|files| {
            let names = files.flatten().map(|f| f.file_name());
            names
                .filter(|n| !n.to_string_lossy().starts_with('.'))
                .count()
        })
        .sum()
}

#[tokio::test]
async fn retag_runs_chosen_images_again() {
    let (data, photos_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (d, p) = (data.path(), photos_dir.path());
    add_user(d, "alice");
    add_user(d, "bob");
    photos(p, 4);
    let dir = p.to_str().unwrap();
    for user in ["alice", "bob"] {
        let o = imgtag(d, &["import", dir, "--user", user], "");
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = imgtag(d, &["retag", "--user", "alice", "--tag", "cat"], "");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("retagging 2 image(s)"), "{}", text(&o));
    assert!(text(&o).contains("tagged: 2"), "{}", text(&o));
    let o = imgtag(d, &["retag", "--all"], "");
    assert!(text(&o).contains("retagging 8 image(s)"), "{}", text(&o));
    assert!(text(&o).contains("tagged: 8"), "{}", text(&o));
    let none = imgtag(d, &["retag"], "");
    assert_eq!(
        none.status.code(),
        Some(2),
        "nothing chosen is a usage error"
    );
}

#[test]
fn completions_and_help_explain_every_command() {
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_imgtag"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        for word in ["import", "retag", "passwd", "data-dir"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    for cmd in [
        &["--help"][..],
        &["serve", "--help"],
        &["tag", "--help"],
        &["import", "--help"],
        &["retag", "--help"],
        &["user", "add", "--help"],
        &["user", "list", "--help"],
        &["user", "delete", "--help"],
        &["user", "passwd", "--help"],
        &["openapi", "--help"],
        &["completions", "--help"],
    ] {
        assert!(
            run(cmd).contains("Example"),
            "{cmd:?} --help has no example"
        );
    }
}
