//! The S3 blob store on the moto emulator: the shared `BlobStore` conformance suite (a fresh
//! bucket per check), multipart puts, and the seed's pre-signed POST form used for real.
//!
//! `IMGTAG_MOTO_URL=http://127.0.0.1:5100 cargo test -p imgtag-aws --test s3`

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use imgtag_aws::s3::S3BlobStore;
use imgtag_aws::testing;
use imgtag_core::testkit::blobs;
use imgtag_core::{bytes_stream, BlobKey, BlobStore, ByteStream, Error, UploadPolicy};

async fn fresh(url: &str) -> S3BlobStore {
    let config = testing::sdk_config(url).await;
    let bucket = testing::unique("imgtag-blobs");
    testing::create_bucket(&config, &bucket).await;
    S3BlobStore::new(&config, bucket, true)
}

fn key(s: &str) -> BlobKey {
    BlobKey::parse(s).unwrap()
}

fn data(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn chunked(d: &[u8], size: usize) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = d
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

#[tokio::test]
async fn s3_blob_store_conformance() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    blobs::run(|| {
        let url = url.clone();
        async move { Arc::new(fresh(&url).await) as Arc<dyn BlobStore> }
    })
    .await;
}

#[tokio::test]
async fn large_objects_go_up_in_parts() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let s = fresh(&url).await;
    let k = key("big/multipart");
    // Two full 8 MiB parts and a remainder, in chunks that do not line up with parts.
    let d = data(2 * 8 * 1024 * 1024 + 12_345);
    assert_eq!(
        s.put(&k, chunked(&d, 100_000)).await.unwrap(),
        d.len() as u64
    );
    assert_eq!(s.get(&k).await.unwrap(), Bytes::from(d.clone()));
    let (_, len) = s.get_stream(&k).await.unwrap();
    assert_eq!(len, d.len() as u64);
}

#[tokio::test]
async fn a_stream_failing_after_the_first_part_changes_nothing() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let s = fresh(&url).await;
    let k = key("big/broken");
    s.put(&k, bytes_stream(&b"previous"[..])).await.unwrap();
    let mut items: Vec<std::io::Result<Bytes>> = data(9 * 1024 * 1024)
        .chunks(1 << 20)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    items.push(Err(std::io::Error::other("client went away")));
    let r = s.put(&k, Box::pin(futures::stream::iter(items))).await;
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
    assert_eq!(s.get(&k).await.unwrap(), Bytes::from_static(b"previous"));
}

fn policy(k: &BlobKey, content_type: Option<&str>) -> UploadPolicy {
    UploadPolicy {
        key: k.clone(),
        name: "cat.jpg".into(),
        content_type_prefix: "image/".into(),
        content_type: content_type.map(str::to_string),
        min_size: 1,
        max_size: 1 << 20,
        expires_in: Duration::from_secs(300),
    }
}

/// The seed client's upload: every form field in order, then the file part.
async fn post_form(form: &imgtag_core::UploadForm, body: &'static [u8]) -> reqwest::StatusCode {
    let mut multipart = reqwest::multipart::Form::new();
    for (k, v) in &form.fields {
        multipart = multipart.text(k.clone(), v.clone());
    }
    let file = reqwest::multipart::Part::bytes(body)
        .file_name("cat.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    multipart = multipart.part("file", file);
    reqwest::Client::new()
        .post(&form.url)
        .multipart(multipart)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_presigned_post_form_uploads_to_the_bucket() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let s = fresh(&url).await;
    let k = key("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0");
    let form = s
        .presign_upload(&policy(&k, Some("image/jpeg")))
        .await
        .unwrap();
    assert_eq!(form.url, format!("{url}/{}/", s.bucket()));
    let names: Vec<&str> = form.fields.iter().map(|(k, _)| k.as_str()).collect();
    for required in [
        "key",
        "Content-Type",
        "Policy",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Signature",
    ] {
        assert!(names.contains(&required), "missing {required} in {names:?}");
    }
    assert!(!s.exists(&k).await.unwrap());
    let status = post_form(&form, b"\xff\xd8\xff\xe0 not really a jpeg").await;
    assert!(status == 204 || status == 201, "POST answered {status}");
    assert_eq!(
        s.get(&k).await.unwrap(),
        Bytes::from_static(b"\xff\xd8\xff\xe0 not really a jpeg")
    );
}

#[tokio::test]
async fn the_presigned_put_and_get_urls_work() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let s = fresh(&url).await;
    let k = key("images/bob/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b1");
    let form = s.presign_upload(&policy(&k, None)).await.unwrap();
    // Without a declared type the form still carries a Content-Type the policy accepts.
    let ct = form
        .fields
        .iter()
        .find(|(k, _)| k == "Content-Type")
        .unwrap();
    assert!(ct.1.starts_with("image/"), "{ct:?}");
    let http = reqwest::Client::new();
    let put = http
        .put(form.put_url.as_deref().unwrap())
        .header("content-type", "image/png")
        .body(&b"png bytes"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let get_url = s
        .presign_get(&k, "image/png", Duration::from_secs(60))
        .await
        .unwrap();
    let got = http.get(&get_url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap(), Bytes::from_static(b"png bytes"));
}
