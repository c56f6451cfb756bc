//! The Clarifai tagger: the seed's tagging service, through Clarifai's v2 REST API
//! (`POST /v2/users/{user}/apps/{app}/models/{model}/outputs`, `Authorization: Key <PAT>`).
//!
//! Reference (public docs): request and response shapes from
//! <https://docs.clarifai.com/resources/api-overview/api-outputs> (a predict response is
//! `{"status":{"code":10000,"description":"Ok"},"outputs":[{"status":{...},"data":{"concepts":
//! [{"id","name","value"}]}}]}`), status codes from
//! <https://docs.clarifai.com/resources/api-overview/status-codes>.
#![forbid(unsafe_code)]

mod status;
mod tagger;
mod wire;

pub use tagger::{ClarifaiSettings, ClarifaiTagger};
