//! Router-level tests (`oneshot`, no socket): status codes, headers and JSON shapes.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use imgtag_core::services::{App, Settings};
use imgtag_core::signing::Signer;
use imgtag_http::{router, AppState, HttpConfig};
use imgtag_local::{AccountsConfig, FsBlobStore, LocalAccounts, SqliteDb};
use imgtag_vision::{BuiltinConfig, BuiltinTagger};
use serde_json::{json, Value};
use tower::ServiceExt;

mod json_bodies;

pub(crate) struct Env {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

pub(crate) fn env(base_path: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open_in_dir(dir.path()).unwrap();
    let signer = Arc::new(Signer::new(b"0123456789abcdef0123456789abcdef".to_vec()));
    let url = format!("http://api.test{base_path}");
    let blobs = FsBlobStore::new(dir.path().join("blobs"), signer.clone(), url.clone());
    let accounts = LocalAccounts::open(&db, dir.path(), AccountsConfig::default()).unwrap();
    let tagger = BuiltinTagger::load(BuiltinConfig::default()).unwrap();
    let app = App::new(
        Arc::new(db.catalog()),
        Arc::new(blobs),
        Arc::new(db.queue()),
        Arc::new(tagger),
        Arc::new(accounts),
        Settings::default(),
    );
    let config = HttpConfig {
        base_path: base_path.into(),
        ..HttpConfig::default()
    };
    let state = AppState {
        app,
        config: Arc::new(config),
        public_url: url.into(),
        signer: Some(signer),
    };
    Env {
        router: router(state),
        _dir: dir,
    }
}

pub(crate) async fn send(
    env: &Env,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let resp = env.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, json)
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn protected_routes_answer_401_with_seed_headers() {
    let env = env("");
    for (method, uri) in [
        (Method::GET, "/images"),
        (Method::POST, "/images"),
        (Method::GET, "/tags"),
        (Method::GET, "/tags/cat/images"),
        (Method::DELETE, "/images/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("origin", "http://web.test");
        let (status, headers, body) = send(&env, req.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            body,
            json!({"message": "Unauthorized", "code": "unauthorized"})
        );
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer realm=\"imgtag\"");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let exposed = headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap();
        assert!(exposed.to_lowercase().contains("www-authenticate"));
    }
}

#[tokio::test]
async fn every_route_answers_preflight() {
    let env = env("/Prod");
    for uri in [
        "/Prod/",
        "/Prod/signup",
        "/Prod/signin",
        "/Prod/images",
        "/Prod/images/x",
        "/Prod/tags",
        "/Prod/tags/cat/images",
        "/Prod/uploads",
    ] {
        let req = Request::builder()
            .method(Method::OPTIONS)
            .uri(uri)
            .header("origin", "http://web.test")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = send(&env, req).await;
        assert!(status.is_success(), "{uri}: {status}");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap();
        assert!(allowed.contains("authorization"), "{allowed}");
    }
}

#[tokio::test]
async fn root_describes_real_paths_under_the_base_path() {
    let env = env("/Prod");
    for uri in ["/Prod", "/Prod/"] {
        let (status, _, body) = send(&env, get(uri)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let urls: Vec<&str> = body["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["url"].as_str().unwrap())
            .collect();
        assert!(urls.contains(&"http://api.test/Prod/signin"), "{urls:?}");
        assert!(urls.contains(&"http://api.test/Prod/tags/{tag}/images"));
    }
    let (status, _, body) = send(&env, get("/signin")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "routes exist only under the base path"
    );
    assert_eq!(body["code"], "not-found");
}

#[tokio::test]
async fn tag_route_redirects_to_the_filtered_listing() {
    let env = env("/Prod");
    let creds = json!({"username": "zed", "password": "Abc123!"}).to_string();
    let post = |uri: &str| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(creds.clone()))
            .unwrap()
    };
    assert_eq!(
        send(&env, post("/Prod/signup")).await.0,
        StatusCode::CREATED
    );
    let (status, _, body) = send(&env, post("/Prod/signin")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["expiresIn"].as_u64().unwrap() > 0);
    let token = body["token"].as_str().unwrap();
    let req = Request::get("/Prod/tags/tabby%20cat/images")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&env, req).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers[header::LOCATION], "/Prod/images?tags=tabby+cat");
}

#[tokio::test]
async fn health_and_key_set_are_public() {
    let env = env("");
    let (status, _, body) = send(&env, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, _, body) = send(&env, get("/.well-known/jwks.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body["keys"].as_array().unwrap().is_empty());
}

async fn text(env: &Env, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = env.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into(),
    )
}

/// Every quoted string in `src` that starts with `start` and ends at the next quote.
fn quoted_after<'a>(src: &'a str, start: &str) -> Vec<&'a str> {
    src.match_indices(start)
        .filter_map(|(i, _)| {
            let rest = &src[i..];
            rest.find(['"', '\'']).map(|end| &rest[..end])
        })
        .collect()
}

#[tokio::test]
async fn browsers_get_the_web_page_and_api_clients_json() {
    let env = env("/Prod");
    for uri in ["/Prod", "/Prod/", "/Prod/app/"] {
        let req = Request::get(uri)
            .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .body(Body::empty())
            .unwrap();
        let (status, headers, html) = text(&env, req).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(
            html.contains(r#"data-base="/Prod""#),
            "{uri}: base filled in"
        );
        assert!(!html.contains("{{BASE}}"));
    }
    // API clients keep the seed's JSON self-description at the same URL.
    let req = Request::get("/Prod/")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(&env, req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["endpoints"].is_array());
    assert!(headers[header::VARY].to_str().unwrap().contains("Accept"));
}

#[tokio::test]
async fn every_asset_the_page_loads_is_served_with_its_type() {
    let env = env("/Prod");
    let (_, _, html) = text(&env, get("/Prod/app/")).await;
    let mut todo: Vec<String> = quoted_after(&html, "/Prod/app/")
        .into_iter()
        .map(String::from)
        .collect();
    assert!(todo.len() >= 3, "{todo:?}");
    let mut seen = std::collections::HashSet::new();
    while let Some(url) = todo.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let (status, headers, body) = text(&env, get(&url)).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        let ct = headers[header::CONTENT_TYPE].to_str().unwrap().to_string();
        let want = match url.rsplit('.').next().unwrap() {
            "js" => "text/javascript",
            "css" => "text/css",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other}"),
        };
        assert!(ct.starts_with(want), "{url}: {ct}");
        // Modules import their siblings relatively; follow them so none is missing.
        for module in quoted_after(&body, "./") {
            todo.push(format!("/Prod/app/{}", &module[2..]));
        }
    }
    assert!(seen.len() >= 7, "{seen:?}");
    let (status, _, body) = send(&env, get("/Prod/app/nope.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not-found");
}

#[tokio::test]
async fn openapi_and_offline_docs_are_served() {
    let env = env("/Prod");
    let (status, _, spec) = send(&env, get("/Prod/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(spec["servers"][0]["url"], "/Prod");
    let (status, headers, html) = text(&env, get("/Prod/docs")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(html.contains("/Prod/openapi.json"));
    // Everything the docs page loads is served by us: no CDN.
    for url in quoted_after(&html, "/Prod/docs/") {
        let (status, _, body) = text(&env, get(url)).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(body.len() > 10_000, "{url}");
    }
    assert!(!html.contains("https://"), "no external assets");
}
