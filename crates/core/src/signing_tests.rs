use super::*;

fn policy() -> UploadPolicy {
    UploadPolicy {
        key: BlobKey::parse("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0").unwrap(),
        name: "cat & dog.jpg".into(),
        content_type_prefix: "image/".into(),
        content_type: None,
        min_size: 1,
        max_size: 1000,
        expires_in: Duration::from_secs(300),
    }
}

fn form_map(form: &UploadForm) -> HashMap<String, String> {
    form.fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

fn query(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').unwrap().1;
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

#[test]
fn post_policy_verifies_and_carries_conditions() {
    let s = Signer::new(b"secret".to_vec());
    let now = Utc::now();
    let form = s.upload_form("http://h", &policy(), now);
    let mut fields = form_map(&form);
    fields.insert("content-type".into(), "image/jpeg".into());
    let v = s.verify_form(&fields, now).unwrap();
    assert_eq!(v.key, policy().key);
    assert_eq!(v.name, "cat & dog.jpg");
    assert_eq!((v.min_size, v.max_size), (1, 1000));
    assert_eq!(v.content_type_prefix, "image/");
}

#[test]
fn post_policy_rejects_tampering_expiry_and_other_keys() {
    let s = Signer::new(b"secret".to_vec());
    let now = Utc::now();
    let form = s.upload_form("http://h", &policy(), now);
    let fields = form_map(&form);

    let mut key_changed = fields.clone();
    key_changed.insert(
        "key".into(),
        "images/bob/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0".into(),
    );
    assert!(matches!(
        s.verify_form(&key_changed, now),
        Err(Error::Forbidden(_))
    ));

    let mut sig_changed = fields.clone();
    sig_changed.insert("x-amz-signature".into(), "00".repeat(32));
    assert!(matches!(
        s.verify_form(&sig_changed, now),
        Err(Error::Forbidden(_))
    ));

    let later = now + chrono::Duration::seconds(301);
    assert!(matches!(
        s.verify_form(&fields, later),
        Err(Error::Forbidden(_))
    ));

    let other = Signer::new(b"other".to_vec());
    assert!(matches!(
        other.verify_form(&fields, now),
        Err(Error::Forbidden(_))
    ));
}

#[test]
fn put_and_get_urls_verify_only_unchanged() {
    let s = Signer::new(b"secret".to_vec());
    let now = Utc::now();
    let p = policy();
    let put = s.upload_form("http://h", &p, now).put_url.unwrap();
    let q = query(&put);
    assert_eq!(s.verify_put(&p.key, &q, now).unwrap().name, "cat & dog.jpg");
    let mut bigger = q.clone();
    bigger.insert("maxSize".into(), "999999".into());
    assert!(s.verify_put(&p.key, &bigger, now).is_err());
    let other_key = BlobKey::parse("images/bob/x").unwrap();
    assert!(s.verify_put(&other_key, &q, now).is_err());

    let get = s.file_url(
        "http://h",
        &p.key,
        "image/png",
        Duration::from_secs(60),
        now,
    );
    let q = query(&get);
    assert_eq!(s.verify_file(&p.key, &q, now).unwrap(), "image/png");
    assert!(s
        .verify_file(&p.key, &q, now + chrono::Duration::seconds(61))
        .is_err());
    let mut ct = q.clone();
    ct.insert("contentType".into(), "text/html".into());
    assert!(s.verify_file(&p.key, &ct, now).is_err());
}
