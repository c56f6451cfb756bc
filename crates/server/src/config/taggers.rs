//! `[tagger]` sections of the remote taggers. They parse in every build, so a config naming a
//! tagger whose cargo feature is off fails at start with "build with --features ...", not with
//! "unknown variant".

use serde::Deserialize;

/// `type = "clarifai"`: Clarifai's v2 predict API (the seed's tagger).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClarifaiConfig {
    /// Name of the secret holding the personal access token, read once at start through
    /// `[secrets]` (with the default env source: `IMGTAG_SECRET_CLARIFAI_KEY`).
    pub key_parameter: String,
    /// Model id; `general-image-recognition` is Clarifai's general model.
    pub model: String,
    /// A pinned model version id; unset = the model's current version.
    pub model_version: Option<String>,
    /// Owner and app of the model (`clarifai` / `main` for Clarifai's public models).
    pub user_id: String,
    pub app_id: String,
    pub base_url: String,
    pub timeout_secs: u64,
    /// Concepts below this value (0-1) are dropped.
    pub min_confidence: f32,
}

impl Default for ClarifaiConfig {
    fn default() -> Self {
        ClarifaiConfig {
            key_parameter: "clarifai_key".into(),
            model: "general-image-recognition".into(),
            model_version: None,
            user_id: "clarifai".into(),
            app_id: "main".into(),
            base_url: "https://api.clarifai.com".into(),
            timeout_secs: 10,
            min_confidence: 0.5,
        }
    }
}

/// `type = "rekognition"`: Amazon Rekognition `DetectLabels` (`--features aws`). Images in an
/// S3 `[blobs]` bucket are read by Rekognition from there.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RekognitionConfig {
    /// Labels below this confidence (0-1) are not returned.
    pub min_confidence: f32,
    /// At most this many labels per image from Rekognition; their parent labels are added.
    pub max_labels: i32,
    /// Override `[aws]` for this service.
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

impl Default for RekognitionConfig {
    fn default() -> Self {
        RekognitionConfig {
            min_confidence: 0.5,
            max_labels: 20,
            region: None,
            endpoint_url: None,
        }
    }
}

/// A start-up check shared by every tagger section.
pub fn check_min_confidence(v: f32) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&v),
        "[tagger] min_confidence must be between 0 and 1, not {v}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, TaggerConfig};
    use figment::providers::{Format, Toml};
    use figment::Figment;

    fn parse(toml: &str) -> Result<Config, Box<figment::Error>> {
        Figment::from(Toml::string(toml))
            .extract()
            .map_err(Box::new)
    }

    #[test]
    fn remote_tagger_sections_parse_with_their_defaults() {
        let c =
            parse("[tagger]\ntype = \"clarifai\"\nmodel = \"food-item-recognition\"\n").unwrap();
        let TaggerConfig::Clarifai(t) = c.tagger else {
            panic!("{:?}", c.tagger)
        };
        assert_eq!(t.model, "food-item-recognition");
        assert_eq!(t.key_parameter, "clarifai_key");
        assert_eq!(t.base_url, "https://api.clarifai.com");
        assert_eq!(t.timeout_secs, 10);

        let c = parse("[tagger]\ntype = \"rekognition\"\nmax_labels = 5\nmin_confidence = 0.8\n")
            .unwrap();
        let TaggerConfig::Rekognition(t) = c.tagger else {
            panic!("{:?}", c.tagger)
        };
        assert_eq!((t.max_labels, t.min_confidence), (5, 0.8));
    }

    #[test]
    fn unknown_keys_and_types_are_errors() {
        for bad in [
            "[tagger]\ntype = \"clarifai\"\napi_key = \"inline keys are not accepted\"\n",
            "[tagger]\ntype = \"rekognition\"\nbucket = \"x\"\n",
            "[tagger]\ntype = \"google\"\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
