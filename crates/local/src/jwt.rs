//! The JWT signing key (Ed25519, generated on first start, kept in the data directory with
//! mode 0600) and the tokens it signs and verifies.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use imgtag_core::{Caller, Error, Owner, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The key file inside the data directory (PKCS#8 PEM).
pub const KEY_FILE: &str = "jwt-ed25519.pem";
const ISSUER: &str = "imgtag";
const AUDIENCE: &str = "imgtag";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    username: String,
    iss: String,
    aud: String,
    token_use: String,
    iat: u64,
    exp: u64,
}

/// Signs and verifies ID tokens with one Ed25519 key.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// RFC 7638 thumbprint of the public key.
    kid: String,
    /// base64url public key, as in the JWK.
    x: String,
    /// Tokens whose signature and claims were checked, with their caller and expiry: an
    /// Ed25519 verification costs tens of microseconds, a client sends the same token with
    /// every request. A hit needs the identical token string and an unexpired `exp`, so it
    /// accepts exactly what a fresh verification would.
    verified: Mutex<HashMap<String, (Caller, u64)>>,
}

/// Tokens kept verified at most; the map is emptied when full (tokens are re-verified then).
const VERIFIED_CAP: usize = 4096;

fn key_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("JWT key {}: {e}", path.display()))
}

/// Reads the key at `path`, or creates one there. The file is written to a temporary name
/// with mode 0600 from the start (never readable by others, not even briefly), synced, then
/// renamed, so a crash cannot leave a truncated key behind.
fn load_or_create_key(path: &Path) -> Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            restrict(path)?;
            return SigningKey::from_pkcs8_pem(&pem).map_err(|e| key_err(path, e));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(key_err(path, e)),
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| key_err(path, e))?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| key_err(path, e))?;
    let tmp: PathBuf = dir.join(format!(".{KEY_FILE}.tmp-{}", uuid::Uuid::new_v4().simple()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let write = || -> std::io::Result<()> {
        let mut f = opts.open(&tmp)?;
        f.write_all(pem.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(key_err(path, e));
    }
    tracing::info!(path = %path.display(), "generated a new JWT signing key");
    Ok(key)
}

/// Keeps the key private even if someone loosened the file's mode.
fn restrict(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| key_err(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "JWT key was readable by others; mode set to 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| key_err(path, e))?;
        }
    }
    Ok(())
}

impl JwtKeys {
    pub(crate) fn load_or_create(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(KEY_FILE);
        Self::from_key(load_or_create_key(&path)?, &path)
    }

    /// A key held in memory only, for a read-only view of the accounts (`imgtag migrate`
    /// reading a source folder it must not write to): nothing it signs outlives the process.
    pub(crate) fn ephemeral() -> Result<Self> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        Self::from_key(key, Path::new("(in memory)"))
    }

    /// A new random key, PKCS#8 DER, for adapters that keep the key elsewhere (a database
    /// shared by several instances).
    pub fn generate_pkcs8_der() -> Result<Vec<u8>> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().map_err(Error::internal)?;
        Ok(der.as_bytes().to_vec())
    }

    /// Keys from a PKCS#8 DER Ed25519 private key (as made by [`Self::generate_pkcs8_der`]).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let key = SigningKey::from_pkcs8_der(der).map_err(Error::internal)?;
        Self::from_key(key, Path::new("(stored key)"))
    }

    fn from_key(key: SigningKey, path: &Path) -> Result<Self> {
        let der = key.to_pkcs8_der().map_err(|e| key_err(path, e))?;
        let public = key.verifying_key().to_bytes();
        let x = URL_SAFE_NO_PAD.encode(public);
        // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Ok(JwtKeys {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public),
            kid,
            x,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// A signed ID token for `owner`, valid for `ttl_secs` from now.
    pub fn issue(&self, owner: &Owner, username: &str, ttl_secs: u64) -> Result<String> {
        let iat = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: owner.to_string(),
            username: username.to_string(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            token_use: "id".into(),
            iat,
            exp: iat + ttl_secs,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(Error::internal)
    }

    /// The caller a token names, if the token is ours, intact, current and meant for us.
    pub fn verify(&self, token: &str) -> Result<Caller> {
        let now = jsonwebtoken::get_current_timestamp();
        let verified = || self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((caller, exp)) = verified().get(token) {
            // jsonwebtoken (leeway 0) refuses a token once `exp < now`.
            if now <= *exp {
                return Ok(caller.clone());
            }
        }
        let (caller, exp) = self.verify_signed(token)?;
        let mut map = verified();
        if map.len() >= VERIFIED_CAP {
            map.clear();
        }
        map.insert(token.to_string(), (caller.clone(), exp));
        Ok(caller)
    }

    /// The full check: signature, algorithm, key id and claims.
    fn verify_signed(&self, token: &str) -> Result<(Caller, u64)> {
        let unauthorized = |why: &str| {
            tracing::debug!(reason = why, "token rejected");
            Error::Unauthorized
        };
        // Only EdDSA with our key id: `alg: none` does not even parse as a header, and
        // HS256 signed with our public key fails the algorithm check.
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized("header"))?;
        if header.alg != Algorithm::EdDSA || header.kid.as_deref() != Some(&self.kid) {
            return Err(unauthorized("algorithm or key id"));
        }
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[AUDIENCE]);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Issuer and verifier share one clock here.
        v.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map_err(|_| unauthorized("signature or claims"))?;
        if data.claims.token_use != "id" {
            return Err(unauthorized("token_use"));
        }
        let caller = Caller {
            owner: Owner::parse(&data.claims.sub).map_err(|_| unauthorized("sub"))?,
            username: data.claims.username,
        };
        Ok((caller, data.claims.exp))
    }

    /// The public JWK set.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": self.x,
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    }
}

#[cfg(test)]
mod verified_cache_tests {
    use super::*;

    fn owner() -> Owner {
        Owner::parse("0b5e6c1e-0000-4000-8000-000000000001").unwrap()
    }

    #[test]
    fn a_cached_token_is_accepted_only_as_is_and_only_until_it_expires() {
        let keys = JwtKeys::ephemeral().unwrap();
        let token = keys.issue(&owner(), "alice", 3600).unwrap();
        let first = keys.verify(&token).unwrap();
        assert_eq!(
            keys.verify(&token).unwrap(),
            first,
            "second check hits the cache"
        );
        assert_eq!(first.username, "alice");
        // One changed character in the cached token's signature: verified afresh, refused.
        let mut forged = token.clone().into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(matches!(keys.verify(&forged), Err(Error::Unauthorized)));

        // Expires this second: accepted now (and cached), refused once the second is over.
        let short = keys.issue(&owner(), "alice", 0).unwrap();
        assert!(keys.verify(&short).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert!(matches!(keys.verify(&short), Err(Error::Unauthorized)));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let keys = JwtKeys::ephemeral().unwrap();
        for i in 0..VERIFIED_CAP + 10 {
            let t = keys.issue(&owner(), &format!("u{i}"), 3600).unwrap();
            keys.verify(&t).unwrap();
        }
        assert!(keys.verified.lock().unwrap().len() <= VERIFIED_CAP);
    }
}
