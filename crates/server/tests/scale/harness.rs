//! Real `imgtag serve` processes on one PostgreSQL schema and one blob folder, and a client
//! that talks to them exactly as a user's would (sign in, ask for an upload form, POST it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imgtag_postgres::testing::{config, drop_schema, unique_schema};
use imgtag_postgres::testing_sql::exec;
use imgtag_postgres::PgDb;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

pub fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Photo `i`: a cat or a rocket with `i` appended after the end-of-image marker (decoders
/// ignore it), so every upload is a distinct file.
pub fn photo(i: usize) -> Vec<u8> {
    let mut bytes = fixture(if i.is_multiple_of(2) {
        "chelsea.jpg"
    } else {
        "rocket.jpg"
    });
    bytes.extend_from_slice(format!("copy {i}").as_bytes());
    bytes
}

/// What the instances share: a schema (catalog, queue, accounts, keys) and a blob folder.
/// Triggers log every job claim and every tagging run, the observables "exactly once" and
/// "taken over" are checked against.
pub struct Cluster {
    pub pg_url: String,
    pub schema: String,
    pub db: PgDb,
    pub blobs: tempfile::TempDir,
    pub lease_secs: u64,
}

const WATCH: &str = r#"
CREATE TABLE claim_log (key text NOT NULL, attempt integer NOT NULL);
CREATE FUNCTION log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO claim_log VALUES (NEW.key, NEW.attempt); RETURN NULL; END $$;
CREATE TRIGGER log_claim AFTER UPDATE OF attempt ON jobs
    FOR EACH ROW WHEN (NEW.attempt > OLD.attempt) EXECUTE FUNCTION log_claim();
-- Only a tagging run sets `status` to 'tagged' (label edits touch `updated_at` only); a run
-- that rolls back takes its log row with it.
CREATE TABLE tag_log (image_id text NOT NULL);
CREATE FUNCTION log_tagged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO tag_log VALUES (NEW.id); RETURN NULL; END $$;
CREATE TRIGGER log_tagged AFTER UPDATE OF status ON images
    FOR EACH ROW WHEN (NEW.status = 'tagged') EXECUTE FUNCTION log_tagged();
"#;

impl Cluster {
    pub async fn new(pg_url: &str, lease_secs: u64) -> Cluster {
        let schema = unique_schema();
        // Migrates the schema, so the triggers have their tables.
        let db = PgDb::connect(&config(pg_url, &schema)).await.unwrap();
        exec(&db, WATCH).await.unwrap();
        Cluster {
            pg_url: pg_url.into(),
            schema,
            db,
            blobs: tempfile::tempdir().unwrap(),
            lease_secs,
        }
    }

    /// The configuration every instance gets (only the data dir and port differ).
    pub fn toml(&self) -> String {
        let pg = format!(
            "type = \"postgres\"\nurl = \"{}\"\nschema = \"{}\"\nmax_connections = 4\n",
            self.pg_url, self.schema
        );
        format!(
            "[app]\njob_lease_secs = {lease}\nretry_base_ms = 100\n\
             [blobs]\ntype = \"local\"\ndir = \"{blobs}\"\n\
             [catalog]\n{pg}[queue]\n{pg}[accounts]\n{pg}",
            lease = self.lease_secs,
            blobs = self.blobs.path().display(),
        )
    }

    pub async fn start(&self, workers: usize) -> Instance {
        Instance::start(&self.toml(), workers).await
    }

    pub async fn cleanup(self) {
        self.db.close().await;
        drop_schema(&self.pg_url, &self.schema).await.unwrap();
    }
}

/// One `imgtag serve` process with its own data dir and port.
pub struct Instance {
    pub url: String,
    child: Child,
    pub log: PathBuf,
    _data: tempfile::TempDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Instance {
    async fn start(toml: &str, workers: usize) -> Instance {
        let data = tempfile::tempdir().unwrap();
        let cfg = data.path().join("imgtag.toml");
        std::fs::write(&cfg, toml).unwrap();
        let log = data.path().join("server.log");
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_imgtag"))
            .arg("serve")
            .arg("--config")
            .arg(&cfg)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(["--workers", &workers.to_string()])
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start imgtag");
        let mut me = Instance {
            url: format!("http://127.0.0.1:{port}"),
            child,
            log,
            _data: data,
        };
        let start = Instant::now();
        while reqwest::get(format!("{}/healthz", me.url)).await.is_err() {
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("imgtag exited ({status}): {}", me.log_text());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        me
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no graceful anything, leases stay held until they expire.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A client of one instance.
pub struct Client {
    pub url: String,
    http: reqwest::Client,
}

pub fn client(i: &Instance) -> Client {
    Client {
        url: i.url.clone(),
        http: reqwest::Client::new(),
    }
}

impl Client {
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> reqwest::Response {
        let mut r = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let r = self.get(path, token).await;
        assert_eq!(r.status(), 200, "GET {path} on {}", self.url);
        r.json().await.unwrap()
    }

    pub async fn sign_up(&self, name: &str) {
        let r = self.post("/signup", creds(name), None).await;
        assert_eq!(r.status(), 201, "signup {name}");
    }

    /// The whole sign-in answer (`token`, `refreshToken`, ...).
    pub async fn sign_in(&self, name: &str) -> Value {
        let r = self.post("/signin", creds(name), None).await;
        assert_eq!(r.status(), 201, "signin {name} on {}", self.url);
        r.json().await.unwrap()
    }

    /// An upload form (`POST /images`): the ticket with `id` and `formConfig`.
    pub async fn ticket(&self, token: &str) -> Value {
        let r = self.post("/images", json!({}), Some(token)).await;
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    }

    /// Asks for a form, then POSTs the photo with it, as the seed's client does. The image id.
    pub async fn upload(&self, token: &str, bytes: Vec<u8>) -> String {
        let ticket = self.ticket(token).await;
        let r = post_form(&ticket, bytes, None).await;
        assert!(r.status().is_success(), "upload: {}", r.status());
        ticket["id"].as_str().unwrap().to_string()
    }
}

fn creds(name: &str) -> Value {
    json!({"username": name, "password": "Abc123!"})
}

/// POSTs a form from `ticket`, to its own upload URL or the same path on `origin`.
pub async fn post_form(ticket: &Value, bytes: Vec<u8>, origin: Option<&str>) -> reqwest::Response {
    let fc = &ticket["formConfig"];
    let mut form = Form::new();
    for (k, v) in fc["formFields"].as_object().unwrap() {
        form = form.text(k.clone(), v.as_str().unwrap().to_string());
    }
    let part = Part::bytes(bytes)
        .file_name("photo.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    form = form.part("file", part);
    let mut url = reqwest::Url::parse(fc["uploadUrl"].as_str().unwrap()).unwrap();
    if let Some(o) = origin {
        let o = reqwest::Url::parse(o).unwrap();
        url.set_port(o.port()).unwrap();
    }
    reqwest::Client::new()
        .post(url)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub fn tags(img: &Value) -> Vec<String> {
    img["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}
