//! [`Tagger`] on Amazon Rekognition `DetectLabels`
//! (<https://docs.aws.amazon.com/rekognition/latest/APIReference/API_DetectLabels.html>).
//! Images stored in S3 are passed as an `S3Object` (Rekognition reads the bucket itself, up to
//! 15 MB); others as bytes (up to 5 MB).

mod labels;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_rekognition::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_rekognition::operation::detect_labels::DetectLabelsError;
use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::{Image, S3Object};
use bytes::Bytes;
use imgtag_core::{Prediction, StoredObject, TagError, Tagger};

/// What to ask Rekognition for.
#[derive(Debug, Clone)]
pub struct RekognitionSettings {
    /// Labels below this confidence (0-1) are not returned (`MinConfidence`, sent as 0-100).
    pub min_confidence: f32,
    /// At most this many labels from Rekognition (`MaxLabels`); their parents are added.
    pub max_labels: i32,
}

impl Default for RekognitionSettings {
    fn default() -> Self {
        RekognitionSettings {
            min_confidence: 0.5,
            max_labels: 20,
        }
    }
}

/// Errors that mean this image can never be labelled.
const BAD_IMAGE: &[&str] = &[
    "InvalidImageFormatException",
    "ImageTooLargeException",
    "InvalidS3ObjectException",
    // Rekognition's answer to images below its minimum size, too.
    "InvalidParameterException",
];
/// Errors no retry fixes: the role or key may not call Rekognition (or read the bucket).
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
];

/// Labels images with Rekognition.
#[derive(Debug, Clone)]
pub struct RekognitionTagger {
    client: aws_sdk_rekognition::Client,
    settings: RekognitionSettings,
}

impl RekognitionTagger {
    pub fn new(config: &SdkConfig, settings: RekognitionSettings) -> Self {
        RekognitionTagger {
            client: aws_sdk_rekognition::Client::new(config),
            settings,
        }
    }

    #[tracing::instrument(skip_all, fields(tagger = "rekognition", s3 = image.s3_object().is_some()), err)]
    async fn detect(&self, image: Image) -> Result<Vec<Prediction>, TagError> {
        let out = self
            .client
            .detect_labels()
            .image(image)
            .min_confidence(self.settings.min_confidence * 100.0)
            .max_labels(self.settings.max_labels)
            .send()
            .await
            .map_err(tag_error)?;
        Ok(labels::predictions(
            out.labels(),
            self.settings.min_confidence,
        ))
    }
}

fn tag_error<R: std::fmt::Debug>(e: SdkError<DetectLabelsError, R>) -> TagError {
    let code = e.code().unwrap_or_default().to_owned();
    let msg = format!("Rekognition DetectLabels: {}", DisplayErrorContext(&e));
    if BAD_IMAGE.contains(&code.as_str()) {
        TagError::BadImage(msg)
    } else if DENIED.contains(&code.as_str()) {
        TagError::BadImage(format!(
            "{msg}; the credentials may not call rekognition:DetectLabels (and s3:GetObject on \
             the bucket): fix the role, then retag"
        ))
    } else {
        // Throttling, ProvisionedThroughputExceeded, InternalServerError, 5xx, timeouts,
        // connection failures and anything unknown: the job retries, a bounded number of times.
        TagError::Unavailable(msg)
    }
}

#[async_trait]
impl Tagger for RekognitionTagger {
    fn name(&self) -> &str {
        "rekognition"
    }

    async fn tag(&self, image: Bytes) -> Result<Vec<Prediction>, TagError> {
        self.detect(Image::builder().bytes(Blob::new(image.to_vec())).build())
            .await
    }

    async fn tag_stored(
        &self,
        image: Bytes,
        stored: Option<&StoredObject>,
    ) -> Result<Vec<Prediction>, TagError> {
        match stored {
            Some(s) => {
                let object = S3Object::builder().bucket(&s.bucket).name(&s.key).build();
                self.detect(Image::builder().s3_object(object).build())
                    .await
            }
            None => self.tag(image).await,
        }
    }
}

#[cfg(test)]
mod tests;
