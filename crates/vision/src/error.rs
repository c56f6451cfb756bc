//! Why an image could not be tagged.

/// Errors of the built-in tagger. Every variant is about the input (a retry cannot fix it), so the
/// [`imgtag_core::Tagger`] implementation maps them all to [`imgtag_core::TagError::BadImage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisionError {
    /// Zero bytes.
    #[error("empty file")]
    Empty,
    /// The bytes do not start like any supported image format.
    #[error("not an image (unrecognised format)")]
    NotAnImage,
    /// A recognised format whose content could not be decoded.
    #[error("truncated or corrupt image: {0}")]
    Corrupt(String),
    /// A recognised format this build cannot decode (e.g. an unusual JPEG or TIFF variant).
    #[error("unsupported image: {0}")]
    Unsupported(String),
    /// More pixels than [`crate::BuiltinConfig::max_pixels`]: refused before decoding, so a
    /// decompression bomb never allocates its full size.
    #[error("image too large: {width} x {height} pixels exceeds limit of {limit} pixels")]
    TooLarge {
        /// Width from the image header.
        width: u32,
        /// Height from the image header.
        height: u32,
        /// The configured limit.
        limit: u64,
    },
}

impl From<image::ImageError> for VisionError {
    fn from(e: image::ImageError) -> Self {
        use image::ImageError as E;
        match e {
            E::Unsupported(u) => VisionError::Unsupported(u.to_string()),
            E::Limits(l) => VisionError::Corrupt(format!("decoder limit exceeded: {l}")),
            E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                VisionError::Corrupt("unexpected end of file".into())
            }
            other => VisionError::Corrupt(other.to_string()),
        }
    }
}
