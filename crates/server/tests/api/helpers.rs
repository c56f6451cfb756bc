use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use imgtag_server::{Application, Config};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

pub fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server in this process on a free port with a fresh data directory.
pub async fn spawn_app_with(edit: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_in(dir.path(), edit).await;
    app._dir = Some(dir);
    app
}

/// Starts a server on an existing data directory (for restarts).
pub async fn spawn_in(data_dir: &Path, edit: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::default();
    config.server.addr = "127.0.0.1:0".into();
    config.server.data_dir = data_dir.to_path_buf();
    config.server.workers = Some(2);
    config.app.retry_base_ms = 50;
    edit(&mut config);
    let base = config.http.normalised_base();
    let app = Application::build(config).await.expect("build app");
    let url = format!("http://{}{base}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        url,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        data_dir: data_dir.to_path_buf(),
        _dir: None,
        stop: Some(tx),
        task: Some(task),
    }
}

impl TestApp {
    /// Graceful stop; the data directory is kept while `self` lives.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }

    pub fn take_dir(&mut self) -> Option<tempfile::TempDir> {
        self._dir.take()
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut r = self.client.post(format!("{}{path}", self.url)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let r = self.get(path, token).await;
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        // The answer's body says why (`{"message","code"}`): kept in the failure message.
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// Signs up and in; returns the token.
    pub async fn user(&self, name: &str) -> String {
        let creds = json!({"username": name, "password": "Abc123!"});
        let r = self.post_json("/signup", creds.clone(), None).await;
        assert_eq!(r.status(), 201, "signup {name}");
        let r = self.post_json("/signin", creds, None).await;
        assert_eq!(r.status(), 201, "signin {name}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `POST /images`, then the multipart POST of the seed's client. Returns (id, status).
    pub async fn upload(&self, token: &str, bytes: Vec<u8>, mime: &str) -> (String, u16) {
        let r = self.post_json("/images", json!({}), Some(token)).await;
        assert_eq!(r.status(), 201);
        let ticket: Value = r.json().await.unwrap();
        let status = self.post_form(&ticket, bytes, mime).await.status().as_u16();
        (ticket["id"].as_str().unwrap().to_string(), status)
    }

    pub async fn post_form(&self, ticket: &Value, bytes: Vec<u8>, mime: &str) -> reqwest::Response {
        let fc = &ticket["formConfig"];
        let mut form = Form::new();
        for (k, v) in fc["formFields"].as_object().unwrap() {
            form = form.text(k.clone(), v.as_str().unwrap().to_string());
        }
        let part = Part::bytes(bytes)
            .file_name("photo")
            .mime_str(mime)
            .unwrap();
        form = form.part("file", part);
        self.client
            .post(fc["uploadUrl"].as_str().unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Polls the image until it leaves `pending` or `limit` passes.
    pub async fn wait_tagged(&self, token: &str, id: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let img = self.get_json(&format!("/images/{id}"), token).await;
            if img["status"] != "pending" || start.elapsed() > limit {
                return img;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub fn tags(img: &Value) -> Vec<String> {
    img["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}
