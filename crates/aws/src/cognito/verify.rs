//! ID-token verification against the user pool's JWKS: RS256 only, `iss` = the pool, `aud` =
//! the app client, `token_use` = `id`, `exp` in the future. The key set is fetched on first
//! use and kept; a token naming an unknown `kid` (a key rotation) triggers one refetch, at most
//! every `refetch_every` (default 30 s), so garbage tokens cannot turn the verifier into a
//! JWKS hammer.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use imgtag_core::{Caller, Error, Owner, Result};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

pub(crate) const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 30;

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

pub(crate) struct Verifier {
    issuer: String,
    client_id: String,
    jwks_url: String,
    pub(crate) refetch_every: Duration,
    http: reqwest::Client,
    keys: Mutex<Keys>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    token_use: String,
    #[serde(rename = "cognito:username")]
    cognito_username: Option<String>,
    /// The username as typed at sign-up (see `CognitoAccounts`).
    name: Option<String>,
}

/// The RS256 signing keys of a JWKS document, by `kid`. Keys for other uses or algorithms are
/// skipped, never trusted.
fn parse_jwks(doc: &serde_json::Value) -> HashMap<String, DecodingKey> {
    let mut out = HashMap::new();
    for k in doc["keys"].as_array().into_iter().flatten() {
        let str_of = |m: &str| k.get(m).and_then(|v| v.as_str());
        let usable = str_of("kty") == Some("RSA")
            && str_of("alg").is_none_or(|a| a == "RS256")
            && str_of("use").is_none_or(|u| u == "sig");
        if let (true, Some(kid), Some(n), Some(e)) =
            (usable, str_of("kid"), str_of("n"), str_of("e"))
        {
            if let Ok(key) = DecodingKey::from_rsa_components(n, e) {
                out.insert(kid.to_string(), key);
            }
        }
    }
    out
}

impl Verifier {
    pub(crate) fn new(issuer: String, client_id: String, jwks_url: String) -> Self {
        Verifier {
            issuer,
            client_id,
            jwks_url,
            refetch_every: REFETCH_EVERY,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a default HTTP client builds"),
            keys: Mutex::new(Keys::default()),
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>> {
        let unavailable = |e: reqwest::Error| Error::Unavailable(format!("fetching JWKS: {e}"));
        let doc: serde_json::Value = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        Ok(parse_jwks(&doc))
    }

    async fn key_for(&self, kid: &str) -> Result<Option<DecodingKey>> {
        let mut keys = self.keys.lock().await;
        if let Some(k) = keys.by_kid.get(kid) {
            return Ok(Some(k.clone()));
        }
        let may_refetch = keys
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.refetch_every);
        if !may_refetch {
            return Ok(None);
        }
        let fresh = self.fetch().await?;
        tracing::debug!(keys = fresh.len(), "fetched the user pool's JWKS");
        keys.by_kid = fresh;
        keys.fetched_at = Some(Instant::now());
        Ok(keys.by_kid.get(kid).cloned())
    }

    pub(crate) async fn verify(&self, token: &str) -> Result<Caller> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthorized)?;
        if header.alg != Algorithm::RS256 {
            return Err(Error::Unauthorized);
        }
        let kid = header.kid.ok_or(Error::Unauthorized)?;
        let key = self.key_for(&kid).await?.ok_or(Error::Unauthorized)?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.client_id]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &v).map_err(|e| {
            tracing::debug!(error = %e, "token rejected");
            Error::Unauthorized
        })?;
        let claims = data.claims;
        // An access token has `client_id` instead of `aud`, but be explicit all the same.
        if claims.token_use != "id" {
            return Err(Error::Unauthorized);
        }
        let owner = Owner::parse(&claims.sub).map_err(|_| Error::Unauthorized)?;
        let username = claims
            .name
            .or(claims.cognito_username)
            .ok_or(Error::Unauthorized)?;
        Ok(Caller { owner, username })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rs256_signing_keys_are_kept() {
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "a", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "alg": "RS256", "use": "enc", "kid": "c", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "alg": "RS512", "kid": "d", "n": "sXch", "e": "AQAB"},
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "oct", "kid": "f", "k": "c2VjcmV0"},
            {"kty": "RSA", "alg": "RS256", "n": "sXch", "e": "AQAB"},
        ]});
        let mut kids: Vec<String> = parse_jwks(&doc).into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["a", "b"]);
        assert!(parse_jwks(&serde_json::json!({})).is_empty());
    }
}
