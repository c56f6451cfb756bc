//! Filesystem blob store beyond the port contract: symlinks, temp files, signed URLs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use imgtag_core::signing::Signer;
use imgtag_core::{bytes_stream, BlobKey, BlobStore, UploadPolicy};
use imgtag_local::FsBlobStore;
use tokio::io::AsyncReadExt;

use crate::Dirs;

fn store(root: std::path::PathBuf) -> (FsBlobStore, Arc<Signer>) {
    let signer = Arc::new(Signer::new(b"secret".to_vec()));
    (
        FsBlobStore::new(root, signer.clone(), "http://localhost:8080/Prod/".into()),
        signer,
    )
}

fn key(s: &str) -> BlobKey {
    BlobKey::parse(s).unwrap()
}

fn query(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').unwrap().1;
    form_urlencoded_pairs(q)
}

fn form_urlencoded_pairs(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2F", "/")))
        .collect()
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_inside_the_store_are_not_followed() {
    let dirs = Dirs::new();
    let (root, outside) = (dirs.fresh(), dirs.fresh());
    std::fs::write(outside.join("secret"), b"top secret").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("images")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("link")).unwrap();
    let (s, _) = store(root);
    assert!(s
        .put(&key("images/planted"), bytes_stream(&b"x"[..]))
        .await
        .is_err());
    assert!(!outside.join("planted").exists(), "wrote through a symlink");
    assert!(s.get(&key("images/secret")).await.is_err());
    assert!(s.get(&key("link")).await.is_err());
    assert!(s.open_file(&key("link")).await.is_err());
    assert!(s.put(&key("link"), bytes_stream(&b"x"[..])).await.is_err());
    assert_eq!(
        std::fs::read(outside.join("secret")).unwrap(),
        b"top secret"
    );
}

#[tokio::test]
async fn no_temporary_file_is_left_behind() {
    let dirs = Dirs::new();
    let root = dirs.fresh();
    let (s, _) = store(root.clone());
    let k = key("images/o/a");
    s.put(&k, bytes_stream(&b"ok"[..])).await.unwrap();
    let broken: imgtag_core::ByteStream = Box::pin(futures::stream::iter(vec![
        Ok(bytes::Bytes::from_static(b"part")),
        Err(std::io::Error::other("cut")),
    ]));
    assert!(s.put(&k, broken).await.is_err());
    let names: Vec<String> = std::fs::read_dir(root.join("images/o"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["a"]);
}

#[tokio::test]
async fn a_domain_error_in_the_stream_is_passed_on() {
    let dirs = Dirs::new();
    let (s, _) = store(dirs.fresh());
    let too_big: imgtag_core::ByteStream = Box::pin(futures::stream::iter(vec![Err(
        std::io::Error::other(imgtag_core::Error::TooLarge("over 20 MB".into())),
    )]));
    assert!(matches!(
        s.put(&key("k"), too_big).await,
        Err(imgtag_core::Error::TooLarge(_))
    ));
}

#[tokio::test]
async fn open_file_streams_the_object() {
    let dirs = Dirs::new();
    let (s, _) = store(dirs.fresh());
    let k = key("images/o/file");
    s.put(&k, bytes_stream(&b"0123456789"[..])).await.unwrap();
    let (mut f, len) = s.open_file(&k).await.unwrap();
    assert_eq!(len, 10);
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf, b"0123456789");
    assert!(matches!(
        s.open_file(&key("images/o/none")).await,
        Err(imgtag_core::Error::NotFound(_))
    ));
    assert!(matches!(
        s.open_file(&key("images/o")).await,
        Err(imgtag_core::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn signed_urls_verify_with_the_same_signer() {
    let dirs = Dirs::new();
    let (s, signer) = store(dirs.fresh());
    let k = key("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0");
    let url = s
        .presign_get(&k, "image/png", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        url.starts_with("http://localhost:8080/Prod/files/images/alice/"),
        "{url}"
    );
    let ct = signer.verify_file(&k, &query(&url), Utc::now()).unwrap();
    assert_eq!(ct, "image/png");
    assert!(signer
        .verify_file(&key("images/bob/x"), &query(&url), Utc::now())
        .is_err());

    let policy = UploadPolicy {
        key: k.clone(),
        name: "cat.png".into(),
        content_type_prefix: "image/".into(),
        content_type: None,
        min_size: 1,
        max_size: 100,
        expires_in: Duration::from_secs(60),
    };
    let form = s.presign_upload(&policy).await.unwrap();
    assert_eq!(form.url, "http://localhost:8080/Prod/uploads");
    let mut fields: HashMap<String, String> = form
        .fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    fields.insert("content-type".into(), "image/png".into());
    let v = signer.verify_form(&fields, Utc::now()).unwrap();
    assert_eq!((v.key, v.max_size), (k, 100));
}
