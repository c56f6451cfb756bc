//! Credentials on the wire: basic auth, and SigV4 for Amazon OpenSearch Service.

use imgtag_core::{Catalog, ImageId, SecretValue};
use imgtag_opensearch::SigV4;
use sha2::Digest;

use crate::replies::*;
use crate::server::{expect, Fake, Seen};
use crate::*;

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn basic_auth_sends_the_credentials() {
    let id = ImageId::new();
    let fake = Fake::start(vec![
        expect("GET", format!("/{INDEX}/_doc/{id}")).reply(404, not_found(id.as_str()))
    ])
    .await;
    let auth = Auth::Basic {
        username: "imgtag".into(),
        password: SecretValue::new("s3cr:et"),
    };
    let c = catalog(&fake.url, auth).await;
    assert!(c.get_image(&owner("alice"), &id).await.unwrap().is_none());
    fake.finish();
    // base64("imgtag:s3cr:et")
    assert_eq!(
        header(&fake.seen()[0], "authorization"),
        "Basic aW1ndGFnOnMzY3I6ZXQ="
    );
}

/// `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request,
/// SignedHeaders=..., Signature=<64 hex>` with a matching `x-amz-date` and the body's hash in
/// `x-amz-content-sha256` (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>).
async fn check_sigv4(service: &str) {
    let sha = "0f".repeat(32);
    let fake = Fake::start(vec![expect("POST", format!("/{INDEX}/_search"))
        .body(serde_json::json!("*"))
        .reply(200, hits(&[]))])
    .await;
    let signer = SigV4::with_static_keys(service, "eu-west-1", "AKIDEXAMPLE", "wJalrXUtnFEMI");
    let c = catalog(&fake.url, Auth::SigV4(signer)).await;
    assert!(c
        .find_by_sha256(&owner("alice"), &sha)
        .await
        .unwrap()
        .is_none());
    fake.finish();
    let seen = &fake.seen()[0];
    let date = header(seen, "x-amz-date");
    assert!(
        date.len() == 16 && date.as_bytes()[8] == b'T' && date.ends_with('Z'),
        "x-amz-date {date}"
    );
    let body_hash = hex::encode(sha2::Sha256::digest(&seen.body));
    assert_eq!(header(seen, "x-amz-content-sha256"), body_hash);
    let auth = header(seen, "authorization");
    let scope = format!(
        "Credential=AKIDEXAMPLE/{}/eu-west-1/{service}/aws4_request, ",
        &date[..8]
    );
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .and_then(|r| r.strip_prefix(scope.as_str()))
        .unwrap_or_else(|| panic!("authorization {auth}"));
    let (signed, signature) = rest
        .strip_prefix("SignedHeaders=")
        .and_then(|r| r.split_once(", Signature="))
        .unwrap_or_else(|| panic!("authorization {auth}"));
    let signed: Vec<&str> = signed.split(';').collect();
    for h in ["content-type", "host", "x-amz-content-sha256", "x-amz-date"] {
        assert!(signed.contains(&h), "{h} not signed: {signed:?}");
    }
    assert!(
        signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()),
        "signature {signature}"
    );
}

#[tokio::test]
async fn sigv4_signs_for_managed_domains() {
    check_sigv4("es").await;
}

#[tokio::test]
async fn sigv4_signs_for_serverless_collections() {
    check_sigv4("aoss").await;
}
