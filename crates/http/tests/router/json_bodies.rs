//! JSON bodies are read whatever JSON-compatible type the client declares (or none, as the
//! guide's npm `request` client sends); other types are 415 and change nothing.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::{env, get, send, Env};

/// `None` = no `Content-Type` header at all.
const ACCEPTED: [Option<&str>; 7] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/vnd.api+json"),
    Some("text/plain"),
    Some("text/plain;charset=UTF-8"),
    Some("application/x-www-form-urlencoded"),
];
const REFUSED: [&str; 4] = [
    "application/xml",
    "multipart/form-data; boundary=x",
    "text/html",
    "application/octet-stream",
];

fn post(uri: &str, ct: Option<&str>, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut r = Request::builder().method(Method::POST).uri(uri);
    if let Some(ct) = ct {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(body.into()).unwrap()
}

fn creds(user: &str) -> String {
    json!({"username": user, "password": "Abc123!"}).to_string()
}

/// Signs up and in without a `Content-Type`, as the guide's client does; the session.
async fn sign_up_and_in(env: &Env, base: &str, user: &str) -> Value {
    let (s, _, b) = send(
        env,
        post(&format!("{base}/signup"), None, None, creds(user)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, b) = send(
        env,
        post(&format!("{base}/signin"), None, None, creds(user)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

#[tokio::test]
async fn every_json_route_reads_json_under_each_accepted_type() {
    let env = env("");
    for (i, ct) in ACCEPTED.into_iter().enumerate() {
        let user = format!("user{i}");
        let (s, _, b) = send(&env, post("/signup", ct, None, creds(&user))).await;
        assert_eq!(s, StatusCode::CREATED, "signup {ct:?}: {b}");
        assert_eq!(b["message"], "Created");
        let (s, _, session) = send(&env, post("/signin", ct, None, creds(&user))).await;
        assert_eq!(s, StatusCode::CREATED, "signin {ct:?}: {session}");
        let token = session["token"].as_str().unwrap();
        let refresh = json!({"refreshToken": session["refreshToken"]}).to_string();
        let (s, _, b) = send(&env, post("/token/refresh", ct, None, refresh)).await;
        assert_eq!(s, StatusCode::CREATED, "refresh {ct:?}: {b}");
        assert!(b["token"].is_string());
        // A pre-signed upload with no body, an empty one, `{}` or details.
        for body in [
            "",
            "  ",
            "{}",
            r#"{"name":"a b.jpg","contentType":"image/png"}"#,
        ] {
            let (s, _, b) = send(&env, post("/images", ct, Some(token), body)).await;
            assert_eq!(s, StatusCode::CREATED, "images {ct:?} {body:?}: {b}");
            assert!(b["formConfig"]["uploadUrl"].is_string(), "{b}");
            assert!(b["formConfig"]["formFields"]["Key"].is_string(), "{b}");
        }
    }
}

#[tokio::test]
async fn malformed_json_is_400_naming_the_problem_under_each_type() {
    let env = env("");
    let token = sign_up_and_in(&env, "", "mal").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    for ct in ACCEPTED {
        for (uri, auth) in [
            ("/signup", None),
            ("/signin", None),
            ("/token/refresh", None),
            ("/images", Some(token.as_str())),
        ] {
            let (s, _, b) = send(&env, post(uri, ct, auth, "{\"username\": \"x\",")).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{uri} {ct:?}: {b}");
            assert_eq!(b["code"], "invalid-json", "{uri} {ct:?}");
            let msg = b["message"].as_str().unwrap();
            assert!(msg.contains("line 1 column"), "{uri}: {msg}");
        }
        // Well-formed, wrong shape: names the missing field.
        let (s, _, b) = send(&env, post("/signup", ct, None, r#"{"username":"x"}"#)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(b["code"], "invalid-body");
        assert!(b["message"].as_str().unwrap().contains("password"), "{b}");
    }
}

#[tokio::test]
async fn other_declared_types_are_415_and_change_nothing() {
    let env = env("");
    let session = sign_up_and_in(&env, "", "owner").await;
    let token = session["token"].as_str().unwrap();
    let refresh = json!({"refreshToken": session["refreshToken"]}).to_string();
    for ct in REFUSED {
        for (uri, auth, body) in [
            ("/signup", None, creds("newbie")),
            ("/signin", None, creds("owner")),
            ("/token/refresh", None, refresh.clone()),
            ("/images", Some(token), "{}".to_string()),
        ] {
            let (s, _, b) = send(&env, post(uri, Some(ct), auth, body)).await;
            assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{uri} {ct}: {b}");
            assert_eq!(b["code"], "unsupported-media-type");
            assert!(b["message"].as_str().unwrap().contains("application/json"));
        }
    }
    // No account was created, and the refresh token was not spent.
    let (s, _, b) = send(&env, post("/signin", None, None, creds("newbie"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _, b) = send(&env, post("/token/refresh", None, None, refresh)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn a_tag_with_a_space_finds_its_images_encoded_either_way() {
    let env = env("/Prod");
    let session = sign_up_and_in(&env, "/Prod", "spacey").await;
    let token = session["token"].as_str().unwrap();
    let jpeg = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/images/chelsea.jpg"
    ))
    .unwrap();
    let mut r = post("/Prod/images", Some("image/jpeg"), Some(token), jpeg);
    r.headers_mut()
        .insert("x-file-name", "chelsea.jpg".parse().unwrap());
    let (s, _, img) = send(&env, r).await;
    assert_eq!(s, StatusCode::CREATED, "{img}");
    let id = img["id"].as_str().unwrap();
    let authed = |method: Method, uri: String| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (s, _, b) = send(
        &env,
        authed(Method::PUT, format!("/Prod/images/{id}/tags/tabby%20cat")),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Percent-encoded, as `request`, browsers and API Gateway send a space; any case.
    for path in ["tabby%20cat", "TABBY%20Cat"] {
        let (s, headers, _) = send(
            &env,
            authed(Method::GET, format!("/Prod/tags/{path}/images")),
        )
        .await;
        assert_eq!(s, StatusCode::PERMANENT_REDIRECT, "{path}");
        let location = headers[header::LOCATION].to_str().unwrap().to_string();
        assert!(location.starts_with("/Prod/images?tags="), "{location}");
        let (s, _, list) = send(&env, authed(Method::GET, location.clone())).await;
        assert_eq!(s, StatusCode::OK, "{location}: {list}");
        let ids: Vec<&str> = list["images"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["id"].as_str())
            .collect();
        assert_eq!(ids, [id], "{location}");
    }
    // The listing's own query takes the space form-encoded (`+`).
    let (s, _, list) = send(
        &env,
        authed(Method::GET, "/Prod/images?tags=tabby+cat".into()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["images"].as_array().unwrap().len(), 1);
    let (s, _, _) = send(&env, get("/Prod/tags/tabby%20cat/images")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
