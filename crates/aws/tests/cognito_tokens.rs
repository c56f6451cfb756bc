//! Cognito ID-token verification against a JWKS served from this process, with tokens signed
//! by throw-away keys (`tests/fixtures`): the cases an emulator cannot produce (expired tokens,
//! key rotation) plus every claim check. No emulator needed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imgtag_aws::cognito::{CognitoAccounts, CognitoSettings};
use imgtag_core::{Accounts, Error};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const POOL: &str = "eu-west-1_TestPool1";
const CLIENT: &str = "testclient123";
const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1";
const SUB: &str = "5f1c2b3a-0000-4000-8000-0123456789ab";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn signing_key(which: &str) -> EncodingKey {
    EncodingKey::from_rsa_der(&fixture(&format!("test-key-{which}.der")))
}

/// The public JWK of fixture key `which`, published under `kid`.
fn jwk(which: &str, kid: &str) -> Value {
    let all: Value = serde_json::from_slice(&fixture("test-keys-public.json")).unwrap();
    let mut k = all[which].clone();
    k["kid"] = kid.into();
    k
}

/// A JWKS endpoint whose document can be swapped, counting fetches.
struct JwksServer {
    url: String,
    doc: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

async fn serve_jwks(keys: Vec<Value>) -> JwksServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let doc = Arc::new(Mutex::new(json!({ "keys": keys })));
    let hits = Arc::new(AtomicUsize::new(0));
    let (d, h) = (doc.clone(), hits.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (d, h) = (d.clone(), h.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let body = d.lock().unwrap().to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    JwksServer { url, doc, hits }
}

async fn accounts(jwks_url: &str) -> CognitoAccounts {
    // Verification never calls Cognito itself: any endpoint will do.
    let config = imgtag_aws::testing::sdk_config("http://127.0.0.1:9").await;
    CognitoAccounts::new(
        &config,
        CognitoSettings {
            user_pool_id: POOL.into(),
            client_id: CLIENT.into(),
            issuer: Some(ISSUER.into()),
            jwks_url: Some(jwks_url.into()),
            auto_confirm: false,
            min_password_len: 6,
        },
    )
    .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a valid ID token for `SUB`.
fn id_claims() -> Value {
    json!({
        "sub": SUB, "iss": ISSUER, "aud": CLIENT, "token_use": "id",
        "cognito:username": "alice", "name": "Alice",
        "iat": now(), "auth_time": now(), "exp": now() + 3600,
    })
}

fn sign(claims: &Value, key: &str, kid: &str) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, &signing_key(key)).unwrap()
}

async fn assert_unauthorized(a: &CognitoAccounts, token: &str, what: &str) {
    match a.verify(token).await {
        Err(Error::Unauthorized) => {}
        other => panic!("{what}: expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_id_token_names_the_owner_and_the_username_as_typed() {
    let jwks = serve_jwks(vec![jwk("a", "k1")]).await;
    let a = accounts(&jwks.url).await;
    let caller = a.verify(&sign(&id_claims(), "a", "k1")).await.unwrap();
    assert_eq!(caller.owner.as_str(), SUB);
    assert_eq!(caller.username, "Alice");
    // Without `name`, the Cognito username.
    let mut c = id_claims();
    c.as_object_mut().unwrap().remove("name");
    assert_eq!(
        a.verify(&sign(&c, "a", "k1")).await.unwrap().username,
        "alice"
    );
}

#[tokio::test]
async fn every_claim_is_checked() {
    let jwks = serve_jwks(vec![jwk("a", "k1")]).await;
    let a = accounts(&jwks.url).await;
    let with = |k: &str, v: Value| {
        let mut c = id_claims();
        c[k] = v;
        sign(&c, "a", "k1")
    };
    let without = |k: &str| {
        let mut c = id_claims();
        c.as_object_mut().unwrap().remove(k);
        sign(&c, "a", "k1")
    };
    let cases = [
        (with("exp", json!(now() - 3600)), "expired"),
        (
            with(
                "iss",
                json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"),
            ),
            "other pool",
        ),
        (with("aud", json!("another-client")), "other app client"),
        (with("token_use", json!("access")), "access token"),
        (without("exp"), "no exp"),
        (without("aud"), "no aud"),
        (without("iss"), "no iss"),
        (without("sub"), "no sub"),
        (with("sub", json!("../etc")), "unusable sub"),
    ];
    for (token, what) in cases {
        assert_unauthorized(&a, &token, what).await;
    }
    // An access token as Cognito makes it: `client_id` instead of `aud`.
    let mut access = id_claims();
    access["token_use"] = "access".into();
    access["client_id"] = CLIENT.into();
    access.as_object_mut().unwrap().remove("aud");
    assert_unauthorized(&a, &sign(&access, "a", "k1"), "real access token").await;
}

#[tokio::test]
async fn other_keys_and_algorithms_are_refused() {
    let jwks = serve_jwks(vec![jwk("a", "k1")]).await;
    let a = accounts(&jwks.url).await;
    // Signed by another key under the published kid.
    assert_unauthorized(&a, &sign(&id_claims(), "b", "k1"), "foreign key").await;
    // No kid, unknown kid.
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &id_claims(),
        &signing_key("a"),
    )
    .unwrap();
    assert_unauthorized(&a, &no_kid, "no kid").await;
    assert_unauthorized(&a, &sign(&id_claims(), "a", "nope"), "unknown kid").await;
    // HS256 keyed with the public modulus; and alg none.
    let n = jwk("a", "k1")["n"].as_str().unwrap().to_string();
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("k1".into());
    let hs =
        jsonwebtoken::encode(&h, &id_claims(), &EncodingKey::from_secret(n.as_bytes())).unwrap();
    assert_unauthorized(&a, &hs, "HS256").await;
    let good = sign(&id_claims(), "a", "k1");
    let payload = good.split('.').nth(1).unwrap();
    use base64::Engine;
    let none = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"alg": "none", "kid": "k1"}).to_string());
    assert_unauthorized(&a, &format!("{none}.{payload}."), "alg none").await;
    assert!(a.verify(&good).await.is_ok());
}

#[tokio::test]
async fn the_key_set_is_fetched_once_and_again_after_a_rotation() {
    let jwks = serve_jwks(vec![jwk("a", "k1")]).await;
    let a = accounts(&jwks.url)
        .await
        .jwks_refetch_interval(Duration::ZERO);
    for _ in 0..5 {
        a.verify(&sign(&id_claims(), "a", "k1")).await.unwrap();
    }
    assert_eq!(
        jwks.hits.load(Ordering::SeqCst),
        1,
        "cached after the first fetch"
    );
    // The pool rotates to key b: the first token with the new kid triggers one refetch.
    *jwks.doc.lock().unwrap() = json!({"keys": [jwk("a", "k1"), jwk("b", "k2")]});
    a.verify(&sign(&id_claims(), "b", "k2")).await.unwrap();
    a.verify(&sign(&id_claims(), "a", "k1")).await.unwrap();
    assert_eq!(jwks.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_every_interval() {
    let jwks = serve_jwks(vec![jwk("a", "k1")]).await;
    let a = accounts(&jwks.url).await; // the default interval: 30 s
    a.verify(&sign(&id_claims(), "a", "k1")).await.unwrap();
    *jwks.doc.lock().unwrap() = json!({"keys": [jwk("b", "k2")]});
    for i in 0..5 {
        let t = sign(&id_claims(), "b", &format!("x{i}"));
        assert_unauthorized(&a, &t, "garbage kid").await;
    }
    assert_unauthorized(
        &a,
        &sign(&id_claims(), "b", "k2"),
        "too soon after the last fetch",
    )
    .await;
    assert_eq!(
        jwks.hits.load(Ordering::SeqCst),
        1,
        "garbage kids cause no fetches"
    );
}

#[tokio::test]
async fn an_unreachable_key_set_is_unavailable_not_unauthorized() {
    let a = accounts("http://127.0.0.1:9/jwks.json").await;
    match a.verify(&sign(&id_claims(), "a", "k1")).await {
        Err(Error::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
