//! Conformance checks for [`BlobStore`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{checks, run_checks, Check};
use crate::{bytes_stream, BlobKey, BlobStore, ByteStream, Error, UploadPolicy};

/// Runs every blob store check, each on a fresh (empty) store from `make`.
pub async fn run<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn BlobStore>>,
{
    run_checks("blobs", all(), make).await
}

/// The blob store checks, by name.
pub fn all() -> Vec<Check<dyn BlobStore>> {
    checks![
        put_then_get,
        put_replaces,
        absent_is_not_found,
        delete_is_idempotent,
        failed_stream_keeps_previous_object,
        failed_stream_creates_nothing,
        large_object_in_many_chunks,
        empty_object,
        sibling_keys_are_independent,
        presign_get_names_the_key,
        presign_upload_has_the_seed_fields,
        get_stream_matches_get,
    ]
}

fn key(s: &str) -> BlobKey {
    BlobKey::parse(s).unwrap()
}

/// Chunks, then an I/O error: a client that disconnects mid-upload.
fn broken_stream(chunks: Vec<&'static [u8]>) -> ByteStream {
    let mut items: Vec<std::io::Result<Bytes>> = chunks
        .into_iter()
        .map(|c| Ok(Bytes::from_static(c)))
        .collect();
    items.push(Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "client went away",
    )));
    Box::pin(futures::stream::iter(items))
}

async fn put_then_get(s: Arc<dyn BlobStore>) {
    let k = key("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0");
    assert!(!s.exists(&k).await.unwrap());
    assert_eq!(s.put(&k, bytes_stream(&b"hello"[..])).await.unwrap(), 5);
    assert!(s.exists(&k).await.unwrap());
    assert_eq!(s.get(&k).await.unwrap(), Bytes::from_static(b"hello"));
}

async fn put_replaces(s: Arc<dyn BlobStore>) {
    let k = key("a/b");
    s.put(&k, bytes_stream(&b"first version, longer"[..]))
        .await
        .unwrap();
    assert_eq!(s.put(&k, bytes_stream(&b"second"[..])).await.unwrap(), 6);
    assert_eq!(s.get(&k).await.unwrap(), Bytes::from_static(b"second"));
}

async fn absent_is_not_found(s: Arc<dyn BlobStore>) {
    let k = key("nothing/here");
    assert!(
        matches!(s.get(&k).await, Err(Error::NotFound(_))),
        "get of absent key"
    );
    assert!(!s.exists(&k).await.unwrap());
}

async fn delete_is_idempotent(s: Arc<dyn BlobStore>) {
    let k = key("x/y");
    s.put(&k, bytes_stream(&b"data"[..])).await.unwrap();
    s.delete(&k).await.unwrap();
    assert!(!s.exists(&k).await.unwrap());
    assert!(matches!(s.get(&k).await, Err(Error::NotFound(_))));
    s.delete(&k).await.unwrap();
    s.delete(&key("never/existed")).await.unwrap();
}

async fn failed_stream_keeps_previous_object(s: Arc<dyn BlobStore>) {
    let k = key("images/alice/keep");
    s.put(&k, bytes_stream(&b"old object"[..])).await.unwrap();
    let r = s.put(&k, broken_stream(vec![b"new ", b"partial"])).await;
    assert!(r.is_err(), "a broken stream must fail the put");
    assert_eq!(s.get(&k).await.unwrap(), Bytes::from_static(b"old object"));
}

async fn failed_stream_creates_nothing(s: Arc<dyn BlobStore>) {
    let k = key("images/alice/never");
    assert!(s.put(&k, broken_stream(vec![b"partial"])).await.is_err());
    assert!(!s.exists(&k).await.unwrap());
    assert!(matches!(s.get(&k).await, Err(Error::NotFound(_))));
    // An error before any byte, too.
    assert!(s.put(&k, broken_stream(vec![])).await.is_err());
    assert!(!s.exists(&k).await.unwrap());
}

async fn large_object_in_many_chunks(s: Arc<dyn BlobStore>) {
    let k = key("big/object");
    // 6 MiB of non-repeating bytes in 64 KiB chunks: larger than any single buffer.
    let data: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let n = s
        .put(&k, Box::pin(futures::stream::iter(chunks)))
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    let got = s.get(&k).await.unwrap();
    assert_eq!(got.len(), data.len());
    assert_eq!(
        Sha256::digest(&got),
        Sha256::digest(&data),
        "content differs"
    );
}

async fn empty_object(s: Arc<dyn BlobStore>) {
    let k = key("empty");
    assert_eq!(s.put(&k, bytes_stream(Bytes::new())).await.unwrap(), 0);
    assert!(s.exists(&k).await.unwrap());
    assert!(s.get(&k).await.unwrap().is_empty());
}

async fn sibling_keys_are_independent(s: Arc<dyn BlobStore>) {
    let (a, b) = (key("images/o/one"), key("images/o/two"));
    s.put(&a, bytes_stream(&b"A"[..])).await.unwrap();
    s.put(&b, bytes_stream(&b"B"[..])).await.unwrap();
    s.delete(&a).await.unwrap();
    assert!(!s.exists(&a).await.unwrap());
    assert_eq!(s.get(&b).await.unwrap(), Bytes::from_static(b"B"));
    assert!(
        !s.exists(&key("images/o")).await.unwrap(),
        "a prefix is not an object"
    );
}

async fn presign_get_names_the_key(s: Arc<dyn BlobStore>) {
    let k = key("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0");
    s.put(&k, bytes_stream(&b"img"[..])).await.unwrap();
    let url = s
        .presign_get(&k, "image/jpeg", Duration::from_secs(300))
        .await
        .unwrap();
    assert!(
        url.starts_with("http://") || url.starts_with("https://"),
        "{url}"
    );
    assert!(url.contains(k.as_str()), "{url} does not name {k}");
    let other = s
        .presign_get(&key("images/bob/x"), "image/jpeg", Duration::from_secs(300))
        .await
        .unwrap();
    assert_ne!(url, other);
}

async fn presign_upload_has_the_seed_fields(s: Arc<dyn BlobStore>) {
    let k = key("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0");
    let policy = UploadPolicy {
        key: k.clone(),
        name: "cat.jpg".into(),
        content_type_prefix: "image/".into(),
        content_type: None,
        min_size: 1,
        max_size: 20 << 20,
        expires_in: Duration::from_secs(600),
    };
    let before = Utc::now();
    let form = s.presign_upload(&policy).await.unwrap();
    assert!(
        form.url.starts_with("http://") || form.url.starts_with("https://"),
        "{}",
        form.url
    );
    // Form field names are compared case-insensitively, as S3 does (its own SDKs send `key`).
    let field = |n: &str| {
        form.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("Key").as_deref(), Some(k.as_str()));
    for f in [
        "Policy",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Signature",
    ] {
        assert!(
            field(f).is_some_and(|v| !v.is_empty()),
            "missing form field {f}"
        );
    }
    assert!(form.expires_at > before + chrono::Duration::seconds(590));
    assert!(form.expires_at <= Utc::now() + chrono::Duration::seconds(600));
    assert!(!s.exists(&k).await.unwrap(), "presigning stores nothing");
}

async fn get_stream_matches_get(s: Arc<dyn BlobStore>) {
    use futures::TryStreamExt;
    let k = key("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b1");
    assert!(matches!(s.get_stream(&k).await, Err(Error::NotFound(_))));
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    s.put(&k, bytes_stream(data.clone())).await.unwrap();
    let (stream, len) = s.get_stream(&k).await.unwrap();
    assert_eq!(len, data.len() as u64);
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), data);
}
