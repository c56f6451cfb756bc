//! Durability: data survives a restart; an acknowledged upload survives a kill before tagging.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{fixture, spawn_app, spawn_in, tags};

#[tokio::test]
async fn images_and_tags_survive_a_graceful_restart() {
    let mut app = spawn_app().await;
    let token = app.user("jack").await;
    let (id, _) = app
        .upload(&token, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    let before = app.wait_tagged(&token, &id, Duration::from_secs(10)).await;
    app.stop().await;
    let dir = app.take_dir().unwrap();

    let app = spawn_in(dir.path(), |_| {}).await;
    let after = app.get_json(&format!("/images/{id}"), &token).await;
    assert_eq!(tags(&before), tags(&after), "token, image and tags survive");
    assert_eq!(app.get_json("/tags", &token).await["counts"]["cat"], 1);
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(dir: &std::path::Path, port: u16, workers: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_imgtag"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--workers",
            workers,
        ])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start imgtag");
    let server = Server(child);
    let start = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

#[tokio::test]
async fn an_upload_acknowledged_before_a_kill_is_tagged_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    // No workers: the job stays queued when the process dies.
    let mut server = start(dir.path(), port, "0").await;
    let client = reqwest::Client::new();
    let creds = serde_json::json!({"username": "kim", "password": "Abc123!"});
    client
        .post(format!("{url}/signup"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    let token = client
        .post(format!("{url}/signin"))
        .json(&creds)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .post(format!("{url}/images"))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(fixture("chelsea.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Nothing tags it meanwhile (a worker would take well under a second).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let img: Value = client
        .get(format!("{url}/images/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        img["status"], "pending",
        "--workers 0 runs no worker: {img}"
    );
    let health: Value = reqwest::get(format!("{url}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["pendingJobs"], 1, "{health}");
    server.0.kill().unwrap(); // SIGKILL: no graceful anything
    server.0.wait().unwrap();

    let _server = start(dir.path(), port, "2").await;
    let start = Instant::now();
    let img = loop {
        let img: Value = client
            .get(format!("{url}/images/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if img["status"] != "pending" || start.elapsed() > Duration::from_secs(20) {
            break img;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(img["status"], "tagged", "{img}");
    assert!(tags(&img).contains(&"cat".to_string()));
}
