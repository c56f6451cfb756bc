//! [`Secrets`] sources that need no cloud: environment variables and a directory of files
//! (Docker / Kubernetes secrets), plus the per-process cache every source is wrapped in.
//! SSM Parameter Store and Secrets Manager live with the AWS adapters.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::ports::{SecretValue, Secrets};

/// Environment variable `<prefix><name>`: name `clarifai_key` with prefix `IMGTAG_SECRET_`
/// reads `IMGTAG_SECRET_CLARIFAI_KEY` (names are upper-cased, `-`, `.` and `/` become `_`).
#[derive(Debug, Clone)]
pub struct EnvSecrets {
    prefix: String,
}

impl EnvSecrets {
    pub fn new(prefix: impl Into<String>) -> Self {
        EnvSecrets {
            prefix: prefix.into(),
        }
    }

    fn var_name(&self, name: &str) -> String {
        let tail: String = name
            .chars()
            .map(|c| match c {
                '-' | '.' | '/' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect();
        format!("{}{tail}", self.prefix)
    }
}

#[async_trait]
impl Secrets for EnvSecrets {
    async fn get(&self, name: &str) -> Result<SecretValue> {
        match std::env::var(self.var_name(name)) {
            Ok(v) if !v.is_empty() => Ok(SecretValue::new(v)),
            _ => Err(Error::NotFound("secret")),
        }
    }
}

/// One file per secret in a directory, named after the secret; a trailing newline is dropped.
#[derive(Debug, Clone)]
pub struct DirSecrets {
    dir: PathBuf,
}

impl DirSecrets {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirSecrets { dir: dir.into() }
    }
}

#[async_trait]
impl Secrets for DirSecrets {
    async fn get(&self, name: &str) -> Result<SecretValue> {
        // A single plain file name: a secret name can never reach outside the directory.
        let safe = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !safe {
            return Err(Error::NotFound("secret"));
        }
        match tokio::fs::read_to_string(self.dir.join(name)).await {
            Ok(v) => Ok(SecretValue::new(v.trim_end_matches(['\r', '\n']))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound("secret")),
            Err(e) => Err(Error::Unavailable(format!(
                "cannot read secret {name:?} in {}: {}",
                self.dir.display(),
                e.kind()
            ))),
        }
    }
}

/// Reads each secret once per process: later `get`s answer from memory. Failures are not
/// cached, so a source that was briefly unreachable is asked again.
pub struct CachedSecrets {
    inner: Arc<dyn Secrets>,
    cache: Mutex<HashMap<String, SecretValue>>,
}

impl CachedSecrets {
    pub fn new(inner: Arc<dyn Secrets>) -> Self {
        CachedSecrets {
            inner,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for CachedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.cache.lock().map(|c| c.len()).unwrap_or(0);
        write!(f, "CachedSecrets({n} cached)")
    }
}

#[async_trait]
impl Secrets for CachedSecrets {
    async fn get(&self, name: &str) -> Result<SecretValue> {
        if let Some(v) = self.cache.lock().expect("secrets cache").get(name) {
            return Ok(v.clone());
        }
        let v = self.inner.get(name).await?;
        self.cache
            .lock()
            .expect("secrets cache")
            .insert(name.to_string(), v.clone());
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn values_never_show_in_debug() {
        let v = SecretValue::new("hunter2");
        assert!(!format!("{v:?}").contains("hunter2"));
        assert!(!format!("{:?}", Some(&v)).contains("hunter2"));
        assert_eq!(v.expose(), "hunter2");
    }

    #[tokio::test]
    async fn env_names_are_normalised() {
        let s = EnvSecrets::new("IMGTAG_TEST_SECRET_");
        std::env::set_var("IMGTAG_TEST_SECRET_CLARIFAI_KEY", "k1");
        assert_eq!(s.get("clarifai-key").await.unwrap().expose(), "k1");
        assert!(matches!(
            s.get("absent").await,
            Err(Error::NotFound("secret"))
        ));
    }

    #[tokio::test]
    async fn dir_reads_one_file_per_secret_and_refuses_paths() {
        let dir = std::env::temp_dir().join(format!("imgtag-secrets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("api_key"), "s3cr3t\n").unwrap();
        let s = DirSecrets::new(&dir);
        assert_eq!(s.get("api_key").await.unwrap().expose(), "s3cr3t");
        for bad in ["../api_key", "a/b", "", ".hidden", "missing"] {
            assert!(matches!(s.get(bad).await, Err(Error::NotFound(_))), "{bad}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    struct Counting(AtomicUsize);
    #[async_trait]
    impl Secrets for Counting {
        async fn get(&self, name: &str) -> Result<SecretValue> {
            self.0.fetch_add(1, Ordering::SeqCst);
            match name {
                "k" => Ok(SecretValue::new("v")),
                _ => Err(Error::Unavailable("down".into())),
            }
        }
    }

    #[tokio::test]
    async fn cache_reads_once_and_does_not_cache_failures() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let s = CachedSecrets::new(inner.clone());
        for _ in 0..3 {
            assert_eq!(s.get("k").await.unwrap().expose(), "v");
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
        assert!(s.get("x").await.is_err());
        assert!(s.get("x").await.is_err());
        assert_eq!(inner.0.load(Ordering::SeqCst), 3);
    }
}
