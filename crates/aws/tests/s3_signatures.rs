//! Pre-signed URL signatures, checked without any emulator (moto does not check signatures: a
//! tampered URL works there). A small independent SigV4 query-string verifier is first held to
//! AWS's published example (S3 API reference, "Authenticating Requests: Using Query
//! Parameters", GET `test.txt` from `examplebucket`), then used to check the URLs the adapter
//! hands out.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use imgtag_aws::s3::S3BlobStore;
use imgtag_core::{BlobKey, BlobStore, UploadPolicy};
use sha2::{Digest, Sha256};

const EXAMPLE_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EXAMPLE_URL: &str = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

/// RFC 3986 unreserved characters stay, everything else is `%XX` (SigV4's UriEncode).
fn uri_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Recomputes the signature of a pre-signed (query-string) SigV4 URL signed with `secret`.
/// Returns (expected, carried).
fn recompute(method: &str, url: &str, secret: &str) -> (String, String) {
    let (base, query) = url.split_once('?').expect("a query");
    let (scheme_host, path) = {
        let after_scheme = base.split_once("://").unwrap().1;
        let slash = after_scheme.find('/').unwrap();
        (&after_scheme[..slash], &after_scheme[slash..])
    };
    let mut params: Vec<(String, String)> = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let get = |n: &str| {
        params
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {n} in {url}"))
    };
    let carried = get("X-Amz-Signature");
    let amz_date = get("X-Amz-Date");
    let credential = get("X-Amz-Credential");
    assert_eq!(
        get("X-Amz-SignedHeaders"),
        "host",
        "only host may be signed: {url}"
    );
    params.retain(|(k, _)| k != "X-Amz-Signature");
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    encoded.sort();
    let canonical_query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!(
        "{method}\n{path}\n{canonical_query}\nhost:{scheme_host}\n\nhost\nUNSIGNED-PAYLOAD"
    );
    let scope: Vec<&str> = credential.splitn(2, '/').collect();
    let scope = scope[1];
    let parts: Vec<&str> = scope.split('/').collect();
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let day = chrono::NaiveDate::parse_from_str(parts[0], "%Y%m%d").unwrap();
    let time: std::time::SystemTime = day.and_hms_opt(0, 0, 0).unwrap().and_utc().into();
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, time, parts[1], parts[2]);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    (expected, carried)
}

#[test]
fn the_verifier_reproduces_the_aws_documentation_example() {
    let (expected, carried) = recompute("GET", EXAMPLE_URL, EXAMPLE_SECRET);
    assert_eq!(
        expected,
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    assert_eq!(expected, carried);
    let tampered = EXAMPLE_URL.replace("test.txt", "test.txu");
    let (expected, carried) = recompute("GET", &tampered, EXAMPLE_SECRET);
    assert_ne!(expected, carried);
}

async fn store(endpoint: Option<&str>, path_style: bool) -> S3BlobStore {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            EXAMPLE_KEY_ID,
            EXAMPLE_SECRET,
            None,
            None,
            "example",
        ));
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    S3BlobStore::new(&loader.load().await, "examplebucket", path_style)
}

#[tokio::test]
async fn adapter_urls_carry_valid_signatures() {
    let k = BlobKey::parse("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0").unwrap();
    for (endpoint, path_style) in [(None, false), (Some("http://127.0.0.1:5100"), true)] {
        let s = store(endpoint, path_style).await;
        let get = s
            .presign_get(&k, "image/jpeg", Duration::from_secs(900))
            .await
            .unwrap();
        assert!(get.contains("response-content-type=image%2Fjpeg"), "{get}");
        assert!(get.contains("X-Amz-Expires=900"), "{get}");
        let (expected, carried) = recompute("GET", &get, EXAMPLE_SECRET);
        assert_eq!(expected, carried, "{get}");

        let form = s
            .presign_upload(&UploadPolicy {
                key: k.clone(),
                name: String::new(),
                content_type_prefix: "image/".into(),
                content_type: None,
                min_size: 1,
                max_size: 100,
                expires_in: Duration::from_secs(300),
            })
            .await
            .unwrap();
        let put = form.put_url.unwrap();
        let (expected, carried) = recompute("PUT", &put, EXAMPLE_SECRET);
        assert_eq!(expected, carried, "{put}");
        // A URL for another key does not carry a valid signature.
        let moved = put.replace("/images/alice/", "/images/mallory/");
        let (expected, carried) = recompute("PUT", &moved, EXAMPLE_SECRET);
        assert_ne!(expected, carried);
    }
}

#[tokio::test]
async fn the_post_form_targets_the_bucket_with_the_configured_addressing() {
    let k = BlobKey::parse("images/a/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0").unwrap();
    let p = UploadPolicy {
        key: k,
        name: String::new(),
        content_type_prefix: "image/".into(),
        content_type: Some("image/png".into()),
        min_size: 1,
        max_size: 100,
        expires_in: Duration::from_secs(300),
    };
    let aws = store(None, false).await.presign_upload(&p).await.unwrap();
    assert_eq!(aws.url, "https://examplebucket.s3.eu-west-1.amazonaws.com/");
    let credential = aws
        .fields
        .iter()
        .find(|(k, _)| k == "X-Amz-Credential")
        .unwrap();
    assert!(
        credential.1.starts_with("AKIAIOSFODNN7EXAMPLE/")
            && credential.1.ends_with("/eu-west-1/s3/aws4_request"),
        "{credential:?}"
    );
    let emulator = store(Some("http://127.0.0.1:5100"), true)
        .await
        .presign_upload(&p)
        .await
        .unwrap();
    assert_eq!(emulator.url, "http://127.0.0.1:5100/examplebucket/");
}
