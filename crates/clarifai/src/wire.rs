//! The JSON Clarifai's predict endpoint takes and returns (only the fields we use; unknown
//! fields are ignored, as Clarifai adds them over time).

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub(crate) struct PredictRequest<'a> {
    pub inputs: [Input<'a>; 1],
}

#[derive(Serialize)]
pub(crate) struct Input<'a> {
    pub data: InputData<'a>,
}

#[derive(Serialize)]
pub(crate) struct InputData<'a> {
    pub image: ImageRef<'a>,
}

/// The image as base64 bytes, or a URL Clarifai downloads it from (a pre-signed GET).
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ImageRef<'a> {
    Base64(String),
    Url(&'a str),
}

impl<'a> PredictRequest<'a> {
    pub fn new(image: ImageRef<'a>) -> Self {
        PredictRequest {
            inputs: [Input {
                data: InputData { image },
            }],
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct Status {
    #[serde(default)]
    pub code: u32,
    #[serde(default)]
    pub description: String,
    /// Extra detail Clarifai sometimes adds (which field is wrong, why a download failed).
    #[serde(default)]
    pub details: String,
}

impl Status {
    /// "description (details)" for failure reasons.
    pub fn text(&self) -> String {
        match (self.description.is_empty(), self.details.is_empty()) {
            (_, true) => self.description.clone(),
            (true, false) => self.details.clone(),
            (false, false) => format!("{} ({})", self.description, self.details),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PredictResponse {
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub outputs: Vec<Output>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Output {
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub data: OutputData,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct OutputData {
    #[serde(default)]
    pub concepts: Vec<Concept>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Concept {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: f32,
}
