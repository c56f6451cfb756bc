//! Local accounts beyond the port contract: throttling, token claims and lifetimes, config.

use std::time::Duration;

use imgtag_core::{Accounts, Error};
use imgtag_local::{AccountsConfig, LocalAccounts, SqliteDb, FREE_FAILURES, KEY_FILE};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::{accounts_in, Dirs};

const PW: &str = "Abc123!";

/// Signs `claims` with the key in `dir` (as the server would), under `kid`.
fn forge(dir: &std::path::Path, kid: &str, claims: &Value) -> String {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let pem = std::fs::read_to_string(dir.join(KEY_FILE)).unwrap();
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    sign_with(key.to_pkcs8_der().unwrap().as_bytes(), kid, claims)
}

fn sign_with(der: &[u8], kid: &str, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some(kid.to_string());
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_ed_der(der)).unwrap()
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap(),
    )
    .unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[tokio::test]
async fn tokens_carry_the_documented_claims() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let (_db, a) = accounts_in(&dir);
    a.sign_up("Alice", PW).await.unwrap();
    let s = a.sign_in("Alice", PW).await.unwrap();
    assert_eq!(s.expires_in, 3600);
    let c = claims_of(&s.token);
    let caller = a.verify(&s.token).await.unwrap();
    assert_eq!(c["sub"], caller.owner.as_str());
    assert_eq!(
        (&c["username"], &c["iss"], &c["aud"], &c["token_use"]),
        (
            &json!("Alice"),
            &json!("imgtag"),
            &json!("imgtag"),
            &json!("id")
        )
    );
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        3600
    );
    let kid = a.jwks().unwrap()["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let alg = a.jwks().unwrap()["keys"][0]["alg"].clone();
    assert_eq!(
        (alg, a.jwks().unwrap()["keys"][0]["crv"].clone()),
        (json!("EdDSA"), json!("Ed25519"))
    );
    assert!(!kid.is_empty());
}

#[tokio::test]
async fn verify_checks_every_claim() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let (_db, a) = accounts_in(&dir);
    a.sign_up("alice", PW).await.unwrap();
    let s = a.sign_in("alice", PW).await.unwrap();
    let good = claims_of(&s.token);
    let kid = a.jwks().unwrap()["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    // The forger works: an untouched copy of the claims verifies.
    assert!(a.verify(&forge(&dir, &kid, &good)).await.is_ok());
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let cases = [
        ("expired", with("exp", json!(now() - 5))),
        ("wrong audience", with("aud", json!("someone-else"))),
        ("wrong issuer", with("iss", json!("https://evil.example"))),
        ("access token", with("token_use", json!("access"))),
        ("no exp", without("exp")),
        ("no aud", without("aud")),
        ("no sub", without("sub")),
        ("bad sub", with("sub", json!("../etc"))),
    ];
    for (what, claims) in cases {
        match a.verify(&forge(&dir, &kid, &claims)).await {
            Err(Error::Unauthorized) => {}
            other => panic!("{what}: expected Unauthorized, got {other:?}"),
        }
    }
    // Our key under another kid, and another key under our kid.
    assert!(a.verify(&forge(&dir, "other-kid", &good)).await.is_err());
    let other = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let foreign = sign_with(other.to_pkcs8_der().unwrap().as_bytes(), &kid, &good);
    assert!(matches!(a.verify(&foreign).await, Err(Error::Unauthorized)));
}

#[tokio::test]
async fn sign_in_is_case_insensitive_and_keeps_the_given_name() {
    let dirs = Dirs::new();
    let (_db, a) = accounts_in(&dirs.fresh());
    a.sign_up("Alice.B+tag@example-1_x", PW).await.unwrap();
    let s = a.sign_in("alice.b+TAG@EXAMPLE-1_x", PW).await.unwrap();
    assert_eq!(
        a.verify(&s.token).await.unwrap().username,
        "Alice.B+tag@example-1_x"
    );
    for bad in ["ünïcode", "semi;colon", "quote'"] {
        assert!(
            matches!(a.sign_up(bad, PW).await, Err(Error::Invalid { .. })),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn password_rules_follow_the_config() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let db = SqliteDb::open_in_dir(&dir).unwrap();
    let cfg = AccountsConfig {
        min_password_len: 10,
        token_ttl_secs: 60,
        refresh_ttl_secs: 60,
    };
    let a = LocalAccounts::open(&db, &dir, cfg).unwrap();
    assert!(matches!(
        a.sign_up("bob", "Abc123!").await,
        Err(Error::Invalid { .. })
    ));
    a.sign_up("bob", "Abc123!xyz").await.unwrap();
    let s = a.sign_in("bob", "Abc123!xyz").await.unwrap();
    assert_eq!(s.expires_in, 60);
    let c = claims_of(&s.token);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 60);
    // Too long is refused before any hashing; the limit itself is fine.
    let huge = "x".repeat(imgtag_local::MAX_PASSWORD_LEN + 1);
    assert!(matches!(
        a.sign_up("carol", &huge).await,
        Err(Error::Invalid { .. })
    ));
    let max = "x".repeat(imgtag_local::MAX_PASSWORD_LEN);
    a.sign_up("carol", &max).await.unwrap();
    assert!(a.sign_in("carol", &max).await.is_ok());
    assert!(matches!(
        a.sign_in("carol", &huge).await,
        Err(Error::BadCredentials(_))
    ));
    // Defaults when the config section is empty.
    let d: AccountsConfig = serde_json::from_value(json!({})).unwrap();
    assert_eq!(
        (d.min_password_len, d.token_ttl_secs, d.refresh_ttl_secs),
        (6, 3600, 30 * 24 * 3600)
    );
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let db = SqliteDb::open_in_dir(&dir).unwrap();
    let cfg = AccountsConfig {
        refresh_ttl_secs: 1,
        ..Default::default()
    };
    let a = LocalAccounts::open(&db, &dir, cfg).unwrap();
    a.sign_up("dan", PW).await.unwrap();
    let r = a.sign_in("dan", PW).await.unwrap().refresh_token.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(matches!(a.refresh(&r).await, Err(Error::Unauthorized)));
}

#[tokio::test]
async fn repeated_failures_are_throttled_then_reset_by_success() {
    let dirs = Dirs::new();
    let (_db, a) = accounts_in(&dirs.fresh());
    a.sign_up("eve", PW).await.unwrap();
    // Failures below the threshold, then a success, start the count over.
    for _ in 0..FREE_FAILURES - 1 {
        assert!(matches!(
            a.sign_in("eve", "wrong-pass").await,
            Err(Error::BadCredentials(_))
        ));
    }
    a.sign_in("eve", PW)
        .await
        .expect("success below the threshold");
    for _ in 0..FREE_FAILURES {
        assert!(matches!(
            a.sign_in("EVE", "wrong-pass").await,
            Err(Error::BadCredentials(_))
        ));
    }
    // Now even the right password waits, and the name's case does not dodge it.
    for name in ["eve", "Eve"] {
        match a.sign_in(name, PW).await {
            Err(Error::RateLimited(secs)) => assert!((1..=1).contains(&secs), "{secs}"),
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }
    // Other users are not affected.
    a.sign_up("frank", PW).await.unwrap();
    a.sign_in("frank", PW).await.unwrap();
    // After the window the password is checked again; success clears the count.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.sign_in("eve", PW).await.expect("allowed after the wait");
    assert!(matches!(
        a.sign_in("eve", "wrong-pass").await,
        Err(Error::BadCredentials(_))
    ));
}

#[tokio::test]
async fn unknown_users_are_throttled_too() {
    let dirs = Dirs::new();
    let (_db, a) = accounts_in(&dirs.fresh());
    for _ in 0..FREE_FAILURES {
        assert!(matches!(
            a.sign_in("ghost", PW).await,
            Err(Error::BadCredentials(_))
        ));
    }
    assert!(matches!(
        a.sign_in("ghost", PW).await,
        Err(Error::RateLimited(_))
    ));
    // The wait doubles with each further failure.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(matches!(
        a.sign_in("ghost", PW).await,
        Err(Error::BadCredentials(_))
    ));
    match a.sign_in("ghost", PW).await {
        Err(Error::RateLimited(secs)) => assert_eq!(secs, 2),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}
