//! `imgtag migrate`, run as a user would (the real binary): a data folder of tagged photos
//! moved to another folder (no services needed) and to PostgreSQL + S3 on moto (with the
//! `postgres` and `aws` features and `IMGTAG_PG_URL` / `IMGTAG_MOTO_URL`). After the move the
//! API answers `GET /tags` and `GET /images` exactly as before, except the signed URLs
//! (`fileUrl`, `thumbnailUrl`, `previewUrl`: another signer and host, same presence); old
//! passwords still sign in; the source folder is byte-for-byte unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{fixture, spawn_in, TestApp};

const PASSWORD: &str = "Abc123!";
const USERS: [&str; 2] = ["alice", "bob"];

fn imgtag(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgtag"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
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

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `n` distinct JPEGs (a counter after the end-of-image marker changes only the hash).
fn photos(dir: &Path, n: usize) {
    let (cat, rocket) = (fixture("chelsea.jpg"), fixture("rocket.jpg"));
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let mut bytes = if i % 3 == 0 {
            rocket.clone()
        } else {
            cat.clone()
        };
        bytes.extend_from_slice(format!("copy {i}").as_bytes());
        std::fs::write(dir.join(format!("photo-{i:03}.jpg")), bytes).unwrap();
    }
}

/// A data folder with `per_user[i]` tagged photos for each of `USERS`, some manual tags, one
/// image removed and one uploaded through the API.
async fn source_folder(root: &Path, per_user: [usize; 2]) -> PathBuf {
    let src = root.join("src");
    for (user, n) in USERS.iter().zip(per_user) {
        let d = p(&src);
        ok(imgtag(
            &["user", "add", user, "--password-stdin", "--data-dir", d],
            &format!("{PASSWORD}\n"),
        ));
        let pics = root.join(format!("photos-{user}"));
        photos(&pics, n);
        ok(imgtag(
            &["import", p(&pics), "--user", user, "--data-dir", d],
            "",
        ));
    }
    // One worker, to tag the upload below.
    let mut app = spawn_in(&src, |c| c.server.workers = Some(1)).await;
    let token = sign_in(&app, "alice").await;
    let page = app.get_json("/images?limit=3", &token).await;
    let ids: Vec<&str> = page["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for (id, tag) in [(ids[0], "holiday"), (ids[1], "holiday"), (ids[1], "cat")] {
        let r = app
            .client
            .put(format!("{}/images/{id}/tags/{tag}", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "tag {tag}: {}", r.status());
    }
    let r = app
        .client
        .delete(format!("{}/images/{}", app.url, ids[2]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (id, status) = app
        .upload(&token, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    assert_eq!(status, 204, "upload");
    // Let the worker finish, so the folder stays as recorded.
    let img = app.wait_tagged(&token, &id, Duration::from_secs(60)).await;
    assert_eq!(img["status"], "tagged", "{img}");
    app.stop().await;
    src
}

async fn sign_in(app: &TestApp, user: &str) -> String {
    let body = json!({"username": user, "password": PASSWORD});
    let r = app.post_json("/signin", body, None).await;
    assert_eq!(r.status(), 201, "{user} signs in with the old password");
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every user's `GET /tags` and all pages of `GET /images`, signed URLs reduced to whether
/// they are there.
async fn answers(app: &TestApp) -> Value {
    let mut out = serde_json::Map::new();
    for user in USERS {
        let token = sign_in(app, user).await;
        let tags = app.get_json("/tags", &token).await;
        let mut images = Vec::new();
        let mut path = "/images?limit=50".to_string();
        loop {
            let page = app.get_json(&path, &token).await;
            images.extend(
                page["images"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .cloned()
                    .map(unsign),
            );
            match page["nextCursor"].as_str() {
                Some(c) => path = format!("/images?limit=50&cursor={c}"),
                None => break,
            }
        }
        out.insert(user.into(), json!({"tags": tags, "images": images}));
    }
    Value::Object(out)
}

fn unsign(mut img: Value) -> Value {
    for k in ["fileUrl", "thumbnailUrl", "previewUrl"] {
        if let Some(v) = img.get_mut(k) {
            *v = json!(!v.is_null());
        }
    }
    img
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

fn count_images(a: &Value) -> usize {
    USERS
        .iter()
        .map(|u| a[u]["images"].as_array().unwrap().len())
        .sum()
}

/// Starts `imgtag migrate` and kills it once `copied(reported)` says part of the work is done
/// (`reported`: the count of the last plain progress line, printed every 2 s).
fn migrate_killed_part_way(from: &str, to: &str, copied: impl Fn(u64) -> usize) {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgtag"))
        .args(["migrate", "--from", from, "--to", to, "--parallel", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reported = Arc::new(AtomicU64::new(0));
    let (r, stderr) = (reported.clone(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            // "migrating: 12/250 (6.0/s, ETA 40s)"
            if let Some(n) = line
                .strip_prefix("migrating: ")
                .and_then(|rest| rest.split('/').next())
                .and_then(|n| n.parse().ok())
            {
                r.store(n, Ordering::SeqCst);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let start = Instant::now();
    while copied(reported.load(Ordering::SeqCst)) < 5 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let err = reader.join().unwrap();
    assert!(
        status.code().is_none(),
        "killed, not finished: {status} {err}"
    );
}

fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| files_under(&e.unwrap().path()).max(1))
                .sum::<usize>()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn migrate_folder_to_folder_keeps_every_answer_and_resumes() {
    let root = tempfile::tempdir().unwrap();
    let src = source_folder(root.path(), [24, 12]).await;
    let mut app = spawn_in(&src, |c| c.server.workers = Some(0)).await;
    let before = answers(&app).await;
    app.stop().await;
    assert_eq!(count_images(&before), 24 + 12 - 1 + 1);
    let alice = &before["alice"];
    assert!(
        alice["tags"]["tags"].as_array().unwrap().len() > 2,
        "{alice}"
    );
    let untouched = snapshot(&src);

    // Killed part-way, then run again: it finishes and verifies.
    let dst = root.path().join("dst");
    let blobs = dst.join("blobs/images");
    migrate_killed_part_way(p(&src), p(&dst), |_| files_under(&blobs));
    let out = ok(imgtag(&["migrate", "--from", p(&src), "--to", p(&dst)], ""));
    assert!(out.contains("already there"), "{out}");
    assert!(out.contains("verified"), "{out}");
    // A second run copies nothing and still verifies.
    let out = ok(imgtag(&["migrate", "--from", p(&src), "--to", p(&dst)], ""));
    assert!(out.contains("images: 0 copied"), "{out}");
    assert!(out.contains("accounts: 0 copied, 2 already there"), "{out}");
    assert!(out.contains("verified"), "{out}");
    assert!(snapshot(&src) == untouched, "the source folder changed");

    let mut app = spawn_in(&dst, |c| c.server.workers = Some(0)).await;
    assert_eq!(answers(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn migrate_that_cannot_verify_exits_non_zero_with_the_difference() {
    let root = tempfile::tempdir().unwrap();
    let src = source_folder(root.path(), [3, 2]).await;
    let dst = root.path().join("dst");
    ok(imgtag(&["migrate", "--from", p(&src), "--to", p(&dst)], ""));
    // An image only the destination has: the counts no longer match.
    let pics = root.path().join("extra");
    std::fs::create_dir_all(&pics).unwrap();
    std::fs::write(pics.join("x.jpg"), fixture("rocket.jpg")).unwrap();
    ok(imgtag(
        &["import", p(&pics), "--user", "bob", "--data-dir", p(&dst)],
        "",
    ));
    let o = imgtag(&["migrate", "--from", p(&src), "--to", p(&dst)], "");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("verification failed"), "{out}");
    assert!(
        out.contains("2 image(s) at the source, 3 at the destination"),
        "{out}"
    );
    // Nothing to read from: a clear error, no folder created.
    let o = imgtag(
        &[
            "migrate",
            "--from",
            p(&root.path().join("nope")),
            "--to",
            p(&dst),
        ],
        "",
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("not an imgtag data folder"),
        "{}",
        text(&o)
    );
    assert!(!root.path().join("nope").exists());
}

#[cfg(all(feature = "postgres", feature = "aws"))]
mod services {
    use super::*;

    /// A destination config: catalog, queue and accounts in a fresh PostgreSQL schema, files
    /// in a fresh bucket on moto.
    async fn destination(root: &Path, pg: &str, moto: &str, schema: &str) -> PathBuf {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
        let sdk = imgtag_aws::testing::sdk_config(moto).await;
        let bucket = imgtag_aws::testing::unique("imgtag-migrate");
        imgtag_aws::testing::create_bucket(&sdk, &bucket).await;
        let path = root.join("dst.toml");
        let pg_section = format!("type = \"postgres\"\nurl = \"{pg}\"\nschema = \"{schema}\"\n");
        std::fs::write(
            &path,
            format!(
                "[server]\ndata_dir = \"{}\"\n\
                 [aws]\nregion = \"us-east-1\"\nendpoint_url = \"{moto}\"\n\
                 [blobs]\ntype = \"s3\"\nbucket = \"{bucket}\"\nforce_path_style = true\n\
                 [catalog]\n{pg_section}[queue]\n{pg_section}[accounts]\n{pg_section}",
                p(&root.join("dst-data"))
            ),
        )
        .unwrap();
        path
    }

    #[tokio::test]
    async fn migrate_folder_to_postgres_and_s3_keeps_every_answer() {
        let Some(pg) = imgtag_postgres::testing::pg_url() else {
            return;
        };
        let Some(moto) = imgtag_aws::testing::moto_url() else {
            return;
        };
        let root = tempfile::tempdir().unwrap();
        let src = source_folder(root.path(), [150, 100]).await;
        let mut app = spawn_in(&src, |c| c.server.workers = Some(0)).await;
        let before = answers(&app).await;
        app.stop().await;
        assert_eq!(count_images(&before), 250);
        let untouched = snapshot(&src);

        let schema = imgtag_postgres::testing::unique_schema();
        let config = destination(root.path(), &pg, &moto, &schema).await;
        let to = p(&config);
        // Killed part-way (after the first progress line), then run again to the end.
        migrate_killed_part_way(p(&src), to, |reported| reported as usize);
        let out = ok(imgtag(&["migrate", "--from", p(&src), "--to", to], ""));
        assert!(out.contains("already there"), "{out}");
        assert!(out.contains("verified"), "{out}");
        let out = ok(imgtag(&["migrate", "--from", p(&src), "--to", to], ""));
        assert!(out.contains("images: 0 copied"), "{out}");
        assert!(out.contains("verified"), "{out}");
        assert!(snapshot(&src) == untouched, "the source folder changed");

        let loaded = imgtag_server::Config::load(Some(&config), &Default::default()).unwrap();
        let mut app = spawn_in(&root.path().join("dst-data"), move |c| {
            *c = imgtag_server::Config {
                server: c.server.clone(),
                ..loaded
            };
            c.server.workers = Some(0);
        })
        .await;
        assert_eq!(answers(&app).await, before);
        app.stop().await;
        imgtag_postgres::testing::drop_schema(&pg, &schema)
            .await
            .unwrap();
    }
}
