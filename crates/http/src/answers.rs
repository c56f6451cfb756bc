//! Rendered answers of the read routes (`GET /images`, `GET /tags`), reused while the caller's
//! catalog version ([`Catalog::version`](imgtag_core::Catalog::version)) stays the same. The
//! version moves in the same transaction as every write, whichever process writes, so a reused
//! answer is always the one the catalog would give now; an answer whose adapter has no version
//! is never reused. Entries also age out after a fraction of the signed-URL lifetime, so the
//! file links in a reused page keep at least 90 % of theirs.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use imgtag_core::{Error, Owner};
use lru::LruCache;
use serde::Serialize;

use crate::{ApiError, AppState};

/// Bounded by the bytes it holds, least recently used out first.
pub struct AnswerCache {
    inner: Mutex<Inner>,
    max_bytes: usize,
    max_age: Duration,
}

struct Inner {
    lru: LruCache<String, Entry>,
    bytes: usize,
}

struct Entry {
    version: u64,
    born: Instant,
    body: Bytes,
}

impl AnswerCache {
    /// Holds at most `max_bytes` of answers (0: reuse nothing), each at most `max_age` old.
    pub fn new(max_bytes: usize, max_age: Duration) -> Self {
        AnswerCache {
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            max_bytes,
            max_age,
        }
    }

    fn get(&self, key: &str, version: u64) -> Option<Bytes> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let e = inner.lru.get(key)?;
        (e.version == version && e.born.elapsed() < self.max_age).then(|| e.body.clone())
    }

    fn put(&self, key: String, version: u64, body: Bytes) {
        // One answer may not push out more than an eighth of the rest.
        if body.len() > self.max_bytes / 8 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.bytes += body.len();
        let entry = Entry {
            version,
            born: Instant::now(),
            body,
        };
        if let Some(old) = inner.lru.put(key, entry) {
            inner.bytes -= old.body.len();
        }
        while inner.bytes > self.max_bytes {
            match inner.lru.pop_lru() {
                Some((_, old)) => inner.bytes -= old.body.len(),
                None => break,
            }
        }
    }
}

/// The JSON answer `render` gives for `owner`'s request `route`+`query`, reused from the cache
/// while the owner's catalog version is unchanged. Errors are never cached.
pub(crate) async fn cached_json<T, Fut>(
    st: &AppState,
    cache: &AnswerCache,
    owner: &Owner,
    route: &str,
    query: Option<&str>,
    render: impl FnOnce() -> Fut,
) -> Result<Response, ApiError>
where
    T: Serialize,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let version = match cache.max_bytes {
        0 => None,
        _ => st.app.catalog.version(owner).await?,
    };
    let key = format!("{owner}\n{route}?{}", query.unwrap_or(""));
    if let Some(body) = version.and_then(|v| cache.get(&key, v)) {
        return Ok(json(body));
    }
    let answer = render().await?;
    let body = Bytes::from(
        serde_json::to_vec(&answer).map_err(|e| Error::Internal(format!("answer JSON: {e}")))?,
    );
    if let Some(v) = version {
        cache.put(key, v, body.clone());
    }
    Ok(json(body))
}

fn json(body: Bytes) -> Response {
    let ct = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, ct)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn an_answer_is_reused_only_at_its_version_and_age() {
        let c = AnswerCache::new(1000, Duration::from_millis(50));
        c.put("a".into(), 7, body(10));
        assert_eq!(c.get("a", 7), Some(body(10)));
        assert_eq!(c.get("a", 8), None, "another version");
        assert_eq!(c.get("b", 7), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("a", 7), None, "too old");
    }

    #[test]
    fn bytes_stay_under_the_bound_least_recently_used_out_first() {
        let c = AnswerCache::new(400, Duration::from_secs(60));
        for k in ["a", "b", "c", "d"] {
            c.put(k.into(), 1, body(50));
        }
        c.get("a", 1);
        for k in ["e", "f", "g", "h", "i"] {
            c.put(k.into(), 1, body(50));
        }
        assert_eq!(c.inner.lock().unwrap().bytes, 400);
        assert!(c.get("a", 1).is_some(), "recently used stays");
        assert!(c.get("b", 1).is_none(), "least recently used went");
        // Too big for its share: not kept, nothing pushed out for it.
        c.put("big".into(), 1, body(51));
        assert!(c.get("big", 1).is_none());
        assert!(c.get("a", 1).is_some());
    }

    #[test]
    fn a_zero_bound_keeps_nothing() {
        let c = AnswerCache::new(0, Duration::from_secs(60));
        c.put("a".into(), 1, body(0));
        c.put("b".into(), 1, body(1));
        assert!(c.get("b", 1).is_none());
    }
}
