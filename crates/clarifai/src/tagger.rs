//! [`ClarifaiTagger`]: one predict call per image, concepts → predictions.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use imgtag_core::{Error, Prediction, SecretValue, TagError, TagName, Tagger};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;

use crate::status::{self, MIXED_STATUS, SUCCESS};
use crate::wire::{ImageRef, PredictRequest, PredictResponse};

/// Where and how to call Clarifai. The defaults are the seed's: Clarifai's own general model.
#[derive(Debug, Clone)]
pub struct ClarifaiSettings {
    /// API root, without `/v2` (tests point it at a local fake).
    pub base_url: String,
    /// Owner of the model's app: `clarifai` for the public models.
    pub user_id: String,
    pub app_id: String,
    pub model: String,
    /// A pinned model version; unset = the model's current version.
    pub model_version: Option<String>,
    /// Concepts below this value (0-1) are dropped.
    pub min_confidence: f32,
    /// Whole-request limit; a slower answer is a transient failure.
    pub timeout: Duration,
}

impl Default for ClarifaiSettings {
    fn default() -> Self {
        ClarifaiSettings {
            base_url: "https://api.clarifai.com".into(),
            user_id: "clarifai".into(),
            app_id: "main".into(),
            model: "general-image-recognition".into(),
            model_version: None,
            min_confidence: 0.5,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Tags images with a Clarifai concept model.
pub struct ClarifaiTagger {
    http: reqwest::Client,
    url: String,
    /// `Key <PAT>`, marked sensitive so it never shows in debug output.
    auth: HeaderValue,
    settings: ClarifaiSettings,
}

impl std::fmt::Debug for ClarifaiTagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClarifaiTagger")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ClarifaiTagger {
    /// A tagger calling Clarifai with the personal access token `key`.
    pub fn new(settings: ClarifaiSettings, key: &SecretValue) -> imgtag_core::Result<Self> {
        let mut auth = HeaderValue::from_str(&format!("Key {}", key.expose().trim()))
            .map_err(|_| Error::Internal("the Clarifai key is not a valid header value".into()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| Error::Internal(format!("building the Clarifai HTTP client: {e}")))?;
        let mut url = format!(
            "{}/v2/users/{}/apps/{}/models/{}",
            settings.base_url.trim_end_matches('/'),
            settings.user_id,
            settings.app_id,
            settings.model
        );
        if let Some(v) = &settings.model_version {
            url = format!("{url}/versions/{v}");
        }
        url.push_str("/outputs");
        Ok(ClarifaiTagger {
            http,
            url,
            auth,
            settings,
        })
    }

    /// Tags the image Clarifai downloads from `url` (e.g. a pre-signed GET), instead of
    /// sending the bytes.
    pub async fn tag_url(&self, url: &str) -> Result<Vec<Prediction>, TagError> {
        self.predict(PredictRequest::new(ImageRef::Url(url))).await
    }

    #[tracing::instrument(skip_all, fields(tagger = "clarifai"), err)]
    async fn predict(&self, body: PredictRequest<'_>) -> Result<Vec<Prediction>, TagError> {
        let resp = self
            .http
            .post(&self.url)
            .header(AUTHORIZATION, self.auth.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let http_status = resp.status();
        let text = resp.text().await.map_err(|e| self.transport_error(e))?;
        let parsed: Option<PredictResponse> = serde_json::from_str(&text).ok();
        // HTTP status first where it is unambiguous, then Clarifai's own code.
        match http_status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let detail = parsed.map(|p| p.status.text()).unwrap_or_default();
                return Err(status::refused(&format!("HTTP {http_status} {detail}")));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                return Err(TagError::Unavailable(format!(
                    "Clarifai is throttling requests (HTTP {http_status})"
                )))
            }
            s if s.is_server_error() => {
                return Err(TagError::Unavailable(format!(
                    "Clarifai is unavailable (HTTP {http_status})"
                )))
            }
            _ => {}
        }
        let Some(resp) = parsed else {
            return Err(TagError::Unavailable(format!(
                "Clarifai answered HTTP {http_status} with a body that is not a predict response"
            )));
        };
        if resp.status.code != SUCCESS && resp.status.code != MIXED_STATUS {
            // A failed call may still say which input failed and why: that is the better reason.
            return Err(match resp.outputs.first() {
                Some(o) if o.status.code != SUCCESS && o.status.code != 0 => {
                    status::to_error(&o.status)
                }
                _ => status::to_error(&resp.status),
            });
        }
        // One input, one output; under MIXED_STATUS its own status says whether it worked.
        let output = resp.outputs.into_iter().next().ok_or_else(|| {
            TagError::Unavailable("Clarifai returned no output for the image".into())
        })?;
        if output.status.code != SUCCESS {
            return Err(status::to_error(&output.status));
        }
        Ok(self.predictions(output.data.concepts.into_iter().map(|c| (c.name, c.value))))
    }

    /// Concepts → valid, unique tags above the floor, highest first (ties by name, so the
    /// order is deterministic).
    fn predictions(&self, concepts: impl Iterator<Item = (String, f32)>) -> Vec<Prediction> {
        let mut best: HashMap<TagName, f32> = HashMap::new();
        for (name, value) in concepts {
            let value = value.clamp(0.0, 1.0);
            // NaN never passes.
            if value.is_nan() || value < self.settings.min_confidence {
                continue;
            }
            // A concept name that cannot be a tag (empty, too long, has `/`) is dropped.
            let Ok(tag) = TagName::parse(&name) else {
                continue;
            };
            let e = best.entry(tag).or_insert(value);
            *e = e.max(value);
        }
        let mut out: Vec<Prediction> = best
            .into_iter()
            .map(|(n, c)| Prediction::new(n, c))
            .collect();
        out.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.name.as_str().cmp(b.name.as_str()))
        });
        out
    }

    fn transport_error(&self, e: reqwest::Error) -> TagError {
        if e.is_timeout() {
            TagError::Unavailable(format!(
                "Clarifai did not answer within {} s",
                self.settings.timeout.as_secs_f32()
            ))
        } else {
            // Connection refused, DNS, TLS, a dropped connection: all may pass.
            TagError::Unavailable(format!("cannot reach Clarifai: {e}"))
        }
    }
}

#[async_trait]
impl Tagger for ClarifaiTagger {
    fn name(&self) -> &str {
        "clarifai"
    }

    async fn tag(&self, image: Bytes) -> Result<Vec<Prediction>, TagError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&image);
        self.predict(PredictRequest::new(ImageRef::Base64(b64)))
            .await
    }
}
