//! Signed URLs and S3-style POST policies for the local blob store, where the server itself is
//! the upload target. The POST policy follows S3's SigV4 scheme (`AWS4-HMAC-SHA256` over the
//! base64 policy with a derived signing key) so seed clients see the fields they expect.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::{BlobKey, UploadForm, UploadPolicy};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const REGION: &str = "local";
const SERVICE: &str = "s3";
const ACCESS_KEY: &str = "imgtag";

/// Holds the server's signing secret. `Debug` never prints it.
#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
    /// The HMAC with the key already absorbed: every listed image signs three URLs, and
    /// re-keying costs two of the ~four SHA-256 blocks each signature takes.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

/// What a verified upload may store.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedUpload {
    pub key: BlobKey,
    pub name: String,
    pub content_type_prefix: String,
    pub min_size: u64,
    pub max_size: u64,
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn forbidden(msg: &str) -> Error {
    Error::Forbidden(msg.to_string())
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Signer {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        let secret = secret.into();
        let keyed = Hmac::<Sha256>::new_from_slice(&secret).expect("HMAC takes any key length");
        Signer { secret, keyed }
    }

    fn signing_key(&self, date: &str) -> Vec<u8> {
        let mut secret = b"AWS4".to_vec();
        secret.extend_from_slice(&self.secret);
        let k = hmac(&secret, date.as_bytes());
        let k = hmac(&k, REGION.as_bytes());
        let k = hmac(&k, SERVICE.as_bytes());
        hmac(&k, b"aws4_request")
    }

    fn mac_hex(&self, msg: &str) -> String {
        let mut m = self.keyed.clone();
        m.update(msg.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// The seed's `formConfig`: POST to `{base}/uploads`, or PUT to `put_url`.
    pub fn upload_form(&self, base: &str, p: &UploadPolicy, now: DateTime<Utc>) -> UploadForm {
        let expires_at = now + chrono::Duration::from_std(p.expires_in).unwrap_or_default();
        let date = now.format("%Y%m%d").to_string();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let credential = format!("{ACCESS_KEY}/{date}/{REGION}/{SERVICE}/aws4_request");
        let policy = serde_json::json!({
            "expiration": expires_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "conditions": [
                {"bucket": "imgtag"},
                {"key": p.key.as_str()},
                ["starts-with", "$Content-Type", p.content_type_prefix],
                ["content-length-range", p.min_size, p.max_size],
                {"x-amz-meta-name": p.name},
                {"x-amz-algorithm": ALGORITHM},
                {"x-amz-credential": credential},
                {"x-amz-date": amz_date},
            ]
        });
        let policy_b64 = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signature = hex::encode(hmac(&self.signing_key(&date), policy_b64.as_bytes()));
        let fields = vec![
            ("Key".to_string(), p.key.to_string()),
            ("x-amz-meta-name".to_string(), p.name.clone()),
            ("Policy".to_string(), policy_b64),
            ("X-Amz-Algorithm".to_string(), ALGORITHM.to_string()),
            ("X-Amz-Credential".to_string(), credential),
            ("X-Amz-Date".to_string(), amz_date),
            ("X-Amz-Signature".to_string(), signature),
        ];
        let exp = expires_at.timestamp();
        let put_sig = self.mac_hex(&format!(
            "PUT\n{}\n{}\n{}\n{}\n{exp}",
            p.key, p.name, p.min_size, p.max_size
        ));
        let put_url = format!(
            "{base}/uploads/{}?name={}&minSize={}&maxSize={}&expires={exp}&signature={put_sig}",
            p.key,
            enc(&p.name),
            p.min_size,
            p.max_size
        );
        UploadForm {
            url: format!("{base}/uploads"),
            fields,
            put_url: Some(put_url),
            expires_at,
        }
    }

    /// Checks a POST form's policy and signature. `fields` are the form's text fields (names
    /// compared case-insensitively, as S3 does). The body's size is checked by the caller.
    pub fn verify_form(
        &self,
        fields: &HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedUpload> {
        let get = |name: &str| fields.get(&name.to_ascii_lowercase()).map(String::as_str);
        let policy_b64 = get("policy").ok_or_else(|| forbidden("missing Policy field"))?;
        let signature = get("x-amz-signature").ok_or_else(|| forbidden("missing signature"))?;
        let credential = get("x-amz-credential").ok_or_else(|| forbidden("missing credential"))?;
        let date = credential.split('/').nth(1).unwrap_or_default();
        let expected = hex::encode(hmac(&self.signing_key(date), policy_b64.as_bytes()));
        if !constant_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(forbidden("upload signature does not match"));
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(policy_b64)
            .map_err(|_| forbidden("malformed policy"))?;
        let policy: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|_| forbidden("malformed policy"))?;
        let expiration = policy["expiration"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .ok_or_else(|| forbidden("malformed policy expiration"))?;
        if expiration < now {
            return Err(forbidden("upload policy expired"));
        }
        let mut out = VerifiedUpload {
            key: BlobKey::parse("pending")?,
            name: String::new(),
            content_type_prefix: String::new(),
            min_size: 0,
            max_size: 0,
        };
        let mut saw_key = false;
        for cond in policy["conditions"].as_array().into_iter().flatten() {
            if let Some(obj) = cond.as_object() {
                for (k, v) in obj {
                    let v = v.as_str().unwrap_or_default();
                    if k == "bucket" {
                        continue;
                    }
                    if get(k) != Some(v) {
                        return Err(forbidden(&format!("policy condition failed: {k}")));
                    }
                    match k.as_str() {
                        "key" => {
                            out.key = BlobKey::parse(v)?;
                            saw_key = true;
                        }
                        "x-amz-meta-name" => out.name = v.to_string(),
                        _ => {}
                    }
                }
            } else if let Some([op, a, b]) = cond.as_array().map(Vec::as_slice) {
                match (op.as_str(), a.as_str()) {
                    (Some("starts-with"), Some("$Content-Type")) => {
                        out.content_type_prefix = b.as_str().unwrap_or_default().to_string()
                    }
                    (Some("content-length-range"), _) => {
                        out.min_size = a.as_u64().unwrap_or(0);
                        out.max_size = b.as_u64().unwrap_or(0);
                    }
                    _ => return Err(forbidden("unsupported policy condition")),
                }
            }
        }
        if !saw_key {
            return Err(forbidden("policy names no key"));
        }
        Ok(out)
    }

    /// Checks the query of a pre-signed PUT to `key`.
    pub fn verify_put(
        &self,
        key: &BlobKey,
        q: &HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedUpload> {
        let field = |n: &str| {
            q.get(n)
                .cloned()
                .ok_or_else(|| forbidden("missing signature"))
        };
        let (name, min, max, exp, sig) = (
            field("name")?,
            field("minSize")?,
            field("maxSize")?,
            field("expires")?,
            field("signature")?,
        );
        let expected = self.mac_hex(&format!("PUT\n{key}\n{name}\n{min}\n{max}\n{exp}"));
        if !constant_eq(expected.as_bytes(), sig.as_bytes()) {
            return Err(forbidden("upload signature does not match"));
        }
        check_expiry(&exp, now)?;
        Ok(VerifiedUpload {
            key: key.clone(),
            name,
            content_type_prefix: "image/".to_string(),
            min_size: min.parse().map_err(|_| forbidden("bad minSize"))?,
            max_size: max.parse().map_err(|_| forbidden("bad maxSize"))?,
        })
    }

    /// A URL that serves `key` with `content_type` until `expires_in` has passed.
    pub fn file_url(
        &self,
        base: &str,
        key: &BlobKey,
        content_type: &str,
        expires_in: Duration,
        now: DateTime<Utc>,
    ) -> String {
        let exp = now.timestamp() + expires_in.as_secs() as i64;
        let sig = self.mac_hex(&format!("GET\n{key}\n{content_type}\n{exp}"));
        format!(
            "{base}/files/{key}?contentType={}&expires={exp}&signature={sig}",
            enc(content_type)
        )
    }

    /// Checks a [`Signer::file_url`] query; returns the content type to serve.
    pub fn verify_file(
        &self,
        key: &BlobKey,
        q: &HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let field = |n: &str| {
            q.get(n)
                .cloned()
                .ok_or_else(|| forbidden("missing signature"))
        };
        let (ct, exp, sig) = (
            field("contentType")?,
            field("expires")?,
            field("signature")?,
        );
        let expected = self.mac_hex(&format!("GET\n{key}\n{ct}\n{exp}"));
        if !constant_eq(expected.as_bytes(), sig.as_bytes()) {
            return Err(forbidden("URL signature does not match"));
        }
        check_expiry(&exp, now)?;
        Ok(ct)
    }
}

fn check_expiry(exp: &str, now: DateTime<Utc>) -> Result<()> {
    let exp: i64 = exp.parse().map_err(|_| forbidden("bad expiry"))?;
    if exp < now.timestamp() {
        return Err(forbidden("signed URL expired"));
    }
    Ok(())
}

/// Compares without an early exit, so timing does not reveal how much of a signature matched.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod tests;
