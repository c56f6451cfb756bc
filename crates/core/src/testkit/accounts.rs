//! Conformance checks for [`Accounts`].

use std::future::Future;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::accounts_admin::*;
use super::{checks, run_checks, Check};
use crate::{Accounts, Error};

/// Runs every accounts check, each on fresh (empty) accounts from `make`. The adapter must
/// accept [`PASSWORD`] and reject passwords shorter than 6 characters.
pub async fn run<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Accounts>>,
{
    run_checks("accounts", all(), make).await
}

/// The accounts checks, by name.
pub fn all() -> Vec<Check<dyn Accounts>> {
    checks![
        sign_up_sign_in_verify,
        users_get_distinct_owners,
        username_taken_case_insensitively,
        weak_password_is_invalid,
        bad_username_is_invalid,
        bad_credentials_say_nothing_more,
        verify_rejects_garbage,
        verify_rejects_tampered_tokens,
        verify_rejects_alg_none,
        verify_rejects_hmac_with_public_key,
        refresh_rotates,
        refresh_rejects_garbage,
        jwks_names_the_signing_key,
        find_user_is_case_insensitive,
        list_users_is_sorted_and_complete,
        delete_user_ends_sign_in_and_refresh,
        set_password_replaces_it,
    ]
}

/// A password every adapter's policy accepts (the seed's own test password is `Abc123!`).
pub const PASSWORD: &str = "Abc123!xyz";

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn parts(token: &str) -> [String; 3] {
    let p: Vec<&str> = token.split('.').collect();
    assert_eq!(p.len(), 3, "a JWS compact token has three parts: {token}");
    [p[0].to_string(), p[1].to_string(), p[2].to_string()]
}

fn json_part(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url part"))
        .expect("JSON part")
}

fn hs256(secret: &[u8], header: &serde_json::Value, payload: &str) -> String {
    let signing_input = format!("{}.{payload}", b64(header.to_string().as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

async fn assert_unauthorized(a: &Arc<dyn Accounts>, token: &str, what: &str) {
    match a.verify(token).await {
        Err(Error::Unauthorized) => {}
        other => panic!("{what}: expected Unauthorized, got {other:?}"),
    }
}

async fn signed_in(a: &Arc<dyn Accounts>, user: &str) -> crate::Session {
    a.sign_up(user, PASSWORD).await.expect("sign_up");
    a.sign_in(user, PASSWORD).await.expect("sign_in")
}

async fn sign_up_sign_in_verify(a: Arc<dyn Accounts>) {
    let s = signed_in(&a, "test").await;
    assert!(s.expires_in > 0);
    let caller = a.verify(&s.token).await.expect("own token verifies");
    assert_eq!(caller.username, "test");
    // The same user signing in again is the same owner.
    let again = a.sign_in("test", PASSWORD).await.unwrap();
    assert_eq!(a.verify(&again.token).await.unwrap().owner, caller.owner);
}

async fn users_get_distinct_owners(a: Arc<dyn Accounts>) {
    let alice = a.verify(&signed_in(&a, "alice").await.token).await.unwrap();
    let bob = a.verify(&signed_in(&a, "bob").await.token).await.unwrap();
    assert_ne!(alice.owner, bob.owner);
    assert_eq!(
        (alice.username.as_str(), bob.username.as_str()),
        ("alice", "bob")
    );
}

async fn username_taken_case_insensitively(a: Arc<dyn Accounts>) {
    a.sign_up("Alice", PASSWORD).await.unwrap();
    for dup in ["Alice", "alice", "ALICE"] {
        match a.sign_up(dup, "Other123!pass").await {
            Err(Error::Conflict(_)) => {}
            other => panic!("{dup}: expected Conflict, got {other:?}"),
        }
    }
    // The first account is untouched by the attempts.
    a.sign_in("Alice", PASSWORD)
        .await
        .expect("original password still works");
    assert!(matches!(
        a.sign_in("Alice", "Other123!pass").await,
        Err(Error::BadCredentials(_))
    ));
}

async fn weak_password_is_invalid(a: Arc<dyn Accounts>) {
    for weak in ["", "a", "Ab1!"] {
        match a.sign_up("carol", weak).await {
            Err(Error::Invalid { .. }) => {}
            other => panic!("password {weak:?}: expected Invalid, got {other:?}"),
        }
    }
    // Nothing was created: the name is still free.
    a.sign_up("carol", PASSWORD).await.expect("name still free");
}

async fn bad_username_is_invalid(a: Arc<dyn Accounts>) {
    let long = "x".repeat(200);
    for bad in [
        "",
        "has space",
        "a/b",
        "tab\tname",
        "new\nline",
        long.as_str(),
    ] {
        match a.sign_up(bad, PASSWORD).await {
            Err(Error::Invalid { .. }) => {}
            other => panic!("username {bad:?}: expected Invalid, got {other:?}"),
        }
    }
}

async fn bad_credentials_say_nothing_more(a: Arc<dyn Accounts>) {
    a.sign_up("dave", PASSWORD).await.unwrap();
    let wrong = a.sign_in("dave", "Wrong123!pass").await;
    let unknown = a.sign_in("nobody", PASSWORD).await;
    match (wrong, unknown) {
        (Err(Error::BadCredentials(m1)), Err(Error::BadCredentials(m2))) => {
            assert_eq!(m1, m2, "the message must not tell which part was wrong")
        }
        other => panic!("expected BadCredentials twice, got {other:?}"),
    }
}

async fn verify_rejects_garbage(a: Arc<dyn Accounts>) {
    for t in [
        "",
        "abc",
        "a.b.c",
        "...",
        "Bearer x",
        "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
    ] {
        assert_unauthorized(&a, t, &format!("garbage {t:?}")).await;
    }
}

async fn verify_rejects_tampered_tokens(a: Arc<dyn Accounts>) {
    let alice = signed_in(&a, "alice").await.token;
    let bob = signed_in(&a, "bob").await.token;
    let [h, p, sig] = parts(&alice);
    let [_, bob_p, _] = parts(&bob);
    // Bob's claims under Alice's signature.
    assert_unauthorized(&a, &format!("{h}.{bob_p}.{sig}"), "swapped payload").await;
    // A claim edited in place.
    let mut claims = json_part(&p);
    claims["username"] = "mallory".into();
    let edited = b64(claims.to_string().as_bytes());
    assert_unauthorized(&a, &format!("{h}.{edited}.{sig}"), "edited payload").await;
    // A flipped signature byte (the middle of the signature, never a padding bit).
    let mut raw = URL_SAFE_NO_PAD.decode(&sig).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0x01;
    assert_unauthorized(&a, &format!("{h}.{p}.{}", b64(&raw)), "flipped signature").await;
    assert_unauthorized(&a, &format!("{h}.{p}."), "no signature").await;
    assert!(
        a.verify(&alice).await.is_ok(),
        "the untouched token still verifies"
    );
}

async fn verify_rejects_alg_none(a: Arc<dyn Accounts>) {
    let token = signed_in(&a, "alice").await.token;
    let [_, p, sig] = parts(&token);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = b64(serde_json::json!({"alg": alg, "typ": "JWT"})
            .to_string()
            .as_bytes());
        assert_unauthorized(&a, &format!("{h}.{p}."), &format!("alg {alg}")).await;
        assert_unauthorized(&a, &format!("{h}.{p}.{sig}"), &format!("alg {alg} + sig")).await;
    }
}

async fn verify_rejects_hmac_with_public_key(a: Arc<dyn Accounts>) {
    let token = signed_in(&a, "alice").await.token;
    let [h, p, _] = parts(&token);
    let mut header = json_part(&h);
    header["alg"] = "HS256".into();
    // The classic confusion: the public key, in every form a verifier might hold it, used as
    // an HMAC secret.
    let mut secrets: Vec<Vec<u8>> = vec![b"secret".to_vec(), Vec::new()];
    if let Some(jwks) = a.jwks() {
        for k in jwks["keys"].as_array().into_iter().flatten() {
            for member in ["x", "n", "y"] {
                if let Some(v) = k[member].as_str() {
                    secrets.push(v.as_bytes().to_vec());
                    secrets.extend(URL_SAFE_NO_PAD.decode(v).ok());
                }
            }
            secrets.push(k.to_string().into_bytes());
        }
    }
    for s in &secrets {
        assert_unauthorized(&a, &hs256(s, &header, &p), "HS256 with a public key").await;
    }
}

async fn refresh_rotates(a: Arc<dyn Accounts>) {
    let s = signed_in(&a, "erin").await;
    let owner = a.verify(&s.token).await.unwrap().owner;
    let r1 = s.refresh_token.expect("sign-in gives a refresh token");
    let s2 = a.refresh(&r1).await.expect("refresh works");
    assert_eq!(a.verify(&s2.token).await.unwrap().owner, owner);
    let r2 = s2.refresh_token.expect("refresh gives a refresh token");
    if !a.rotates_refresh_tokens() {
        // Cognito: the same refresh token is handed back and keeps working until it expires.
        assert_eq!(r1, r2, "a non-rotating adapter hands back the same token");
        let s3 = a.refresh(&r1).await.expect("the token still works");
        assert_eq!(a.verify(&s3.token).await.unwrap().owner, owner);
        return;
    }
    assert_ne!(r1, r2);
    assert!(
        matches!(a.refresh(&r1).await, Err(Error::Unauthorized)),
        "a used refresh token cannot be used again"
    );
    let s3 = a.refresh(&r2).await.expect("the rotated token works");
    assert_eq!(a.verify(&s3.token).await.unwrap().username, "erin");
}

async fn refresh_rejects_garbage(a: Arc<dyn Accounts>) {
    let s = signed_in(&a, "frank").await;
    for t in ["", "nope", s.token.as_str()] {
        assert!(
            matches!(a.refresh(t).await, Err(Error::Unauthorized)),
            "refresh with {t:?} must be Unauthorized"
        );
    }
    // A refresh token is not a bearer token.
    let r = s.refresh_token.unwrap();
    assert_unauthorized(&a, &r, "refresh token used as bearer").await;
}

async fn jwks_names_the_signing_key(a: Arc<dyn Accounts>) {
    let Some(jwks) = a.jwks() else { return };
    let token = signed_in(&a, "gina").await.token;
    let header = json_part(&parts(&token)[0]);
    let keys = jwks["keys"].as_array().expect("keys array");
    assert!(!keys.is_empty());
    let kid = header["kid"].as_str().expect("tokens carry a kid");
    let key = keys
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the token's kid is in the JWKS");
    assert_eq!(key["alg"], header["alg"]);
    assert_eq!(key["use"], "sig");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(
            key.get(private).is_none(),
            "JWKS leaks private member {private}"
        );
    }
}
