//! Checks an upload while it streams to storage: size limits, real format from the first bytes,
//! sha256, and a head buffer for reading dimensions. The verdict is kept aside so the caller can
//! tell "too large" or "not an image" from a storage failure after `BlobStore::put` fails.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::ports::ByteStream;
use crate::sniff::{self, ImageFormat};

/// Enough for the header of nearly every JPEG (EXIF blocks come before the frame header).
const HEAD_LIMIT: usize = 256 * 1024;

#[derive(Default)]
pub(crate) struct Inspection {
    pub size: u64,
    pub format: Option<ImageFormat>,
    pub head: Vec<u8>,
    pub sha256: String,
    pub rejected: Option<Error>,
}

struct State {
    hasher: Sha256,
    report: Inspection,
}

/// Wraps `body`; the returned handle holds the result once the stream has been consumed.
pub(crate) fn inspect(
    body: ByteStream,
    min_size: u64,
    max_size: u64,
) -> (ByteStream, Arc<Mutex<Inspection>>) {
    let result = Arc::new(Mutex::new(Inspection::default()));
    let out = result.clone();
    let state = State {
        hasher: Sha256::new(),
        report: Inspection::default(),
    };
    let stream = futures::stream::unfold(
        (body, Some(state), result),
        move |(mut body, state, result)| async move {
            let mut st = state?;
            let reject = |st: State, e: Error, result: &Arc<Mutex<Inspection>>| {
                let msg = e.to_string();
                let mut report = st.report;
                report.rejected = Some(e);
                *result.lock().unwrap() = report;
                Err(std::io::Error::other(msg))
            };
            match body.next().await {
                Some(Ok(chunk)) => {
                    st.report.size += chunk.len() as u64;
                    if st.report.size > max_size {
                        let e = Error::TooLarge(format!("upload exceeds {max_size} bytes"));
                        return Some((reject(st, e, &result), (body, None, result)));
                    }
                    st.hasher.update(&chunk);
                    if st.report.head.len() < HEAD_LIMIT {
                        let take = (HEAD_LIMIT - st.report.head.len()).min(chunk.len());
                        st.report.head.extend_from_slice(&chunk[..take]);
                    }
                    if st.report.format.is_none() && st.report.head.len() >= sniff::MAGIC_LEN {
                        match sniff::sniff_format(&st.report.head) {
                            Some(f) => st.report.format = Some(f),
                            None => {
                                let e = not_an_image();
                                return Some((reject(st, e, &result), (body, None, result)));
                            }
                        }
                    }
                    Some((Ok::<Bytes, std::io::Error>(chunk), (body, Some(st), result)))
                }
                Some(Err(e)) => Some((Err(e), (body, None, result))),
                None => {
                    if st.report.format.is_none() {
                        let e = if st.report.size == 0 {
                            Error::invalid("empty-upload", "the upload is empty")
                        } else {
                            not_an_image()
                        };
                        return Some((reject(st, e, &result), (body, None, result)));
                    }
                    if st.report.size < min_size {
                        let e = Error::invalid(
                            "too-small",
                            format!("upload is smaller than {min_size} bytes"),
                        );
                        return Some((reject(st, e, &result), (body, None, result)));
                    }
                    st.report.sha256 = hex::encode(st.hasher.finalize());
                    *result.lock().unwrap() = st.report;
                    None
                }
            }
        },
    );
    (Box::pin(stream), out)
}

fn not_an_image() -> Error {
    Error::UnsupportedMedia(
        "not a supported image: JPEG, PNG, WebP, GIF, BMP or TIFF expected".to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(data: &'static [u8], max: u64) -> Inspection {
        let (s, r) = inspect(crate::ports::bytes_stream(data), 1, max);
        let _: Vec<_> = s.collect().await;
        let out = std::mem::take(&mut *r.lock().unwrap());
        out
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02\0\0\0\x03\x08\x02\0\0\0";

    #[tokio::test]
    async fn accepts_images_and_reports_size_hash_and_dimensions() {
        let r = run(PNG, 100).await;
        assert!(r.rejected.is_none());
        assert_eq!(r.format, Some(ImageFormat::Png));
        assert_eq!(r.size, PNG.len() as u64);
        assert_eq!(r.sha256.len(), 64);
        assert_eq!(sniff::dimensions(&r.head), Some((2, 3)));
    }

    #[tokio::test]
    async fn rejects_oversize_non_images_and_empty() {
        assert!(matches!(
            run(PNG, 10).await.rejected,
            Some(Error::TooLarge(_))
        ));
        let html: &[u8] = b"<html><body>hello</body></html>";
        assert!(matches!(
            run(html, 100).await.rejected,
            Some(Error::UnsupportedMedia(_))
        ));
        assert!(matches!(
            run(b"", 100).await.rejected,
            Some(Error::Invalid { .. })
        ));
    }
}
