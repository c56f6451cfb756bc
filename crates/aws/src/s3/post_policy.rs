//! S3 browser-upload POST policies (SigV4). No AWS SDK builds these, so the policy document is
//! assembled here and signed with `aws-sigv4`'s signing key: the string to sign is the base64
//! policy itself. Field names and condition keys match what AWS's own SDKs emit
//! (`createPresignedPost`): lower-case `key`, `Policy`, `X-Amz-*`, the same spelling on both
//! sides, since S3 matches form fields against policy conditions by name.

use std::time::SystemTime;

use base64::Engine;
use chrono::{DateTime, Utc};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The signing half: who signs, for which region.
pub(crate) struct SigningCredentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
}

/// What the upload must satisfy.
pub(crate) struct PostPolicy<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// `["starts-with", "$Content-Type", prefix]`.
    pub content_type_prefix: &'a str,
    /// Pre-filled `Content-Type` field (S3 checks the condition against this form field, never
    /// against the file part's own header).
    pub content_type: &'a str,
    pub min_size: u64,
    pub max_size: u64,
    pub expires_at: DateTime<Utc>,
}

/// Signs a base64 policy: hex HMAC-SHA256 under the SigV4 signing key of `date`'s day.
pub(crate) fn sign_policy(
    policy_b64: &str,
    secret: &str,
    date: SystemTime,
    region: &str,
) -> String {
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, date, region, "s3");
    aws_sigv4::sign::v4::calculate_signature(key, policy_b64.as_bytes())
}

/// The form fields, in the order a client should send them (then the `file` part).
pub(crate) fn form_fields(
    p: &PostPolicy<'_>,
    creds: &SigningCredentials<'_>,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let date = now.format("%Y%m%d").to_string();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        creds.access_key_id, creds.region
    );
    let mut signed = vec![
        ("X-Amz-Algorithm", ALGORITHM.to_string()),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", amz_date),
    ];
    if let Some(token) = creds.session_token {
        signed.push(("X-Amz-Security-Token", token.to_string()));
    }
    let mut conditions = vec![
        serde_json::json!({"bucket": p.bucket}),
        serde_json::json!({"key": p.key}),
        serde_json::json!(["starts-with", "$Content-Type", p.content_type_prefix]),
        serde_json::json!(["content-length-range", p.min_size, p.max_size]),
    ];
    conditions.extend(signed.iter().map(|(k, v)| serde_json::json!({ *k: v })));
    let policy = serde_json::json!({
        "expiration": p.expires_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "conditions": conditions,
    });
    let policy_b64 = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signature = sign_policy(
        &policy_b64,
        creds.secret_access_key,
        now.into(),
        creds.region,
    );
    let mut fields = vec![
        ("key".to_string(), p.key.to_string()),
        ("Content-Type".to_string(), p.content_type.to_string()),
    ];
    fields.extend(signed.into_iter().map(|(k, v)| (k.to_string(), v)));
    fields.push(("Policy".to_string(), policy_b64));
    fields.push(("X-Amz-Signature".to_string(), signature));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    // AWS's worked example, "Example: Browser-Based Upload using HTTP POST (Using AWS Signature
    // Version 4)" in the S3 API reference: the published base64 policy, example credentials and
    // the signature they must give.
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const EXAMPLE_POLICY_B64: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
    const EXAMPLE_SIGNATURE: &str =
        "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    #[test]
    fn signs_the_aws_documentation_example_exactly() {
        let sig = sign_policy(
            EXAMPLE_POLICY_B64,
            EXAMPLE_SECRET,
            at(2015, 12, 29, 0, 0, 0).into(),
            "us-east-1",
        );
        assert_eq!(sig, EXAMPLE_SIGNATURE);
        // Only the day of the date enters the signing key.
        let later = sign_policy(
            EXAMPLE_POLICY_B64,
            EXAMPLE_SECRET,
            at(2015, 12, 29, 23, 59, 59).into(),
            "us-east-1",
        );
        assert_eq!(later, EXAMPLE_SIGNATURE);
        let next_day = sign_policy(
            EXAMPLE_POLICY_B64,
            EXAMPLE_SECRET,
            at(2015, 12, 30, 0, 0, 0).into(),
            "us-east-1",
        );
        assert_ne!(next_day, EXAMPLE_SIGNATURE);
    }

    fn policy() -> PostPolicy<'static> {
        PostPolicy {
            bucket: "sigv4examplebucket",
            key: "images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0",
            content_type_prefix: "image/",
            content_type: "image/jpeg",
            min_size: 1,
            max_size: 20 << 20,
            expires_at: at(2015, 12, 30, 12, 0, 0),
        }
    }

    fn creds(token: Option<&'static str>) -> SigningCredentials<'static> {
        SigningCredentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: EXAMPLE_SECRET,
            session_token: token,
            region: "us-east-1",
        }
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_form_carries_a_signed_policy_with_every_condition() {
        let now = at(2015, 12, 29, 0, 0, 0);
        let fields = form_fields(&policy(), &creds(None), now);
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "key",
                "Content-Type",
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "Policy",
                "X-Amz-Signature"
            ]
        );
        assert_eq!(
            field(&fields, "X-Amz-Credential"),
            Some("AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request")
        );
        assert_eq!(field(&fields, "X-Amz-Date"), Some("20151229T000000Z"));
        let b64 = field(&fields, "Policy").unwrap();
        assert_eq!(
            field(&fields, "X-Amz-Signature").unwrap(),
            sign_policy(b64, EXAMPLE_SECRET, now.into(), "us-east-1")
        );
        let doc: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(doc["expiration"], "2015-12-30T12:00:00.000Z");
        let conditions = doc["conditions"].as_array().unwrap();
        let expected = [
            serde_json::json!({"bucket": "sigv4examplebucket"}),
            serde_json::json!({"key": "images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0"}),
            serde_json::json!(["starts-with", "$Content-Type", "image/"]),
            serde_json::json!(["content-length-range", 1, 20 << 20]),
            serde_json::json!({"X-Amz-Algorithm": "AWS4-HMAC-SHA256"}),
            serde_json::json!({"X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"}),
            serde_json::json!({"X-Amz-Date": "20151229T000000Z"}),
        ];
        assert_eq!(conditions.as_slice(), expected.as_slice());
    }

    #[test]
    fn temporary_credentials_add_the_security_token_on_both_sides() {
        let fields = form_fields(&policy(), &creds(Some("FQoGZXIvYXdzE")), Utc::now());
        assert_eq!(
            field(&fields, "X-Amz-Security-Token"),
            Some("FQoGZXIvYXdzE")
        );
        let raw = base64::engine::general_purpose::STANDARD
            .decode(field(&fields, "Policy").unwrap())
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert!(doc["conditions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"X-Amz-Security-Token": "FQoGZXIvYXdzE"})));
        let without = form_fields(&policy(), &creds(None), Utc::now());
        assert_eq!(field(&without, "X-Amz-Security-Token"), None);
    }
}
