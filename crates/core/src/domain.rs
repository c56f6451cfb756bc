//! Domain types, each parsed once at the edge and trusted afterwards.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The owner of images: an account's stable id (local user id, Cognito `sub`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Owner(String);

impl Owner {
    /// Owners appear in blob keys, so only a conservative alphabet is accepted.
    pub fn parse(s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && !s.starts_with('.');
        if ok {
            Ok(Owner(s.to_owned()))
        } else {
            Err(Error::invalid("invalid-owner", "invalid owner id"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An image id: a UUIDv7 in simple (32 hex digit) form, so ids sort by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageId(String);

impl ImageId {
    pub fn new() -> Self {
        ImageId(uuid::Uuid::now_v7().simple().to_string())
    }
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            Ok(ImageId(s.to_owned()))
        } else {
            Err(Error::NotFound("image"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ImageId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag: trimmed, lower-case, single-spaced, 1..=64 characters, no separators or control
/// characters (commas separate tags in query strings, slashes separate path segments).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TagName(String);

impl TagName {
    pub fn parse(s: &str) -> Result<Self> {
        // Names read back from a catalog are already normal: one copy, not three allocations
        // per label (a page of 50 images parses ~250 of them).
        if is_normal_ascii(s) {
            return Ok(TagName(s.to_owned()));
        }
        normalise(s).map(TagName).ok_or_else(|| {
            Error::invalid(
                "invalid-tag",
                format!(
                    "invalid tag {s:?}: 1-64 characters, no control characters or , / \\ ? # %"
                ),
            )
        })
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The full rule: whitespace runs become one space, trimmed, lower case; then 1-64 characters,
/// no control character and none of `, / \\ ? # %`. `None` when `s` breaks it.
fn normalise(s: &str) -> Option<String> {
    let norm = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let bad = |c: char| c.is_control() || matches!(c, ',' | '/' | '\\' | '?' | '#' | '%');
    (!norm.is_empty() && norm.chars().count() <= 64 && !norm.chars().any(bad)).then_some(norm)
}

/// Whether `s` is a valid tag name that [`TagName::parse`] would return unchanged: printable
/// ASCII without upper case or a forbidden character, single spaces between words, at most 64.
fn is_normal_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0] != b' '
        && b[b.len() - 1] != b' '
        && !s.contains("  ")
        && b.iter().all(|&c| {
            (b' '..=b'~').contains(&c)
                && !c.is_ascii_uppercase()
                && !matches!(c, b',' | b'/' | b'\\' | b'?' | b'#' | b'%')
        })
}

impl TryFrom<String> for TagName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        TagName::parse(&s)
    }
}

impl From<TagName> for String {
    fn from(t: TagName) -> String {
        t.0
    }
}

impl std::fmt::Display for TagName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a label came from. Re-tagging replaces `Auto` labels and never touches `Manual` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelSource {
    Auto,
    Manual,
}

impl LabelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Auto => "auto",
            LabelSource::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(LabelSource::Auto),
            "manual" => Some(LabelSource::Manual),
            _ => None,
        }
    }
}

/// Where in the image a label was found, as fractions of the (EXIF-oriented) image's width and
/// height with the origin top left, so a client can draw it over any size of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// A tag on an image with a confidence in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub name: TagName,
    pub confidence: f32,
    pub source: LabelSource,
    /// Regions the label came from (detector labels such as `face`); empty for whole-image labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boxes: Vec<BBox>,
}

impl Label {
    pub fn auto(name: TagName, confidence: f32) -> Self {
        Label {
            name,
            confidence: confidence.clamp(0.0, 1.0),
            source: LabelSource::Auto,
            boxes: Vec::new(),
        }
    }
    pub fn manual(name: TagName) -> Self {
        Label {
            name,
            confidence: 1.0,
            source: LabelSource::Manual,
            boxes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageStatus {
    Pending,
    Tagged,
    Failed,
}

impl ImageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Pending => "pending",
            ImageStatus::Tagged => "tagged",
            ImageStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(ImageStatus::Pending),
            "tagged" => Some(ImageStatus::Tagged),
            "failed" => Some(ImageStatus::Failed),
            _ => None,
        }
    }
}

/// An image as stored in the catalog. `labels` are sorted by confidence, highest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: ImageId,
    pub owner: Owner,
    pub name: String,
    pub blob_key: crate::BlobKey,
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sha256: String,
    pub status: ImageStatus,
    pub failure_reason: Option<String>,
    pub labels: Vec<Label>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Image {
    pub fn tags(&self) -> Vec<&str> {
        self.labels.iter().map(|l| l.name.as_str()).collect()
    }
}

/// Cleans a user-supplied file name: keeps the last path segment, drops control characters,
/// caps the length. Names are display-only and never used as paths.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "image".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_are_normalised_and_checked() {
        assert_eq!(
            TagName::parse("  Tabby   Cat ").unwrap().as_str(),
            "tabby cat"
        );
        for bad in ["", "   ", "a,b", "../x", "a/b", "x\u{0}", &"x".repeat(65)] {
            assert!(TagName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// The shortcut for names already normal gives what the full normalisation gives, and
    /// declines everything it would change or refuse.
    #[test]
    fn the_fast_path_agrees_with_the_normalisation() {
        let slow = normalise;
        let mut cases: Vec<String> = [
            "cat",
            "tabby cat",
            "dining table",
            "tag-000",
            "a",
            "Cat",
            " cat",
            "cat ",
            "a  b",
            "a\tb",
            "a,b",
            "a/b",
            "a\\b",
            "a?b",
            "a#b",
            "100%",
            "é",
            "café",
            "x\u{7f}",
            "",
            "~!@$^&*()_+=-[]{}|;:'\"<>.",
            "ǅ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        cases.push("x".repeat(64));
        cases.push("x".repeat(65));
        for s in &cases {
            assert_eq!(TagName::parse(s).ok().map(|t| t.0), slow(s), "{s:?}");
            if is_normal_ascii(s) {
                assert_eq!(slow(s).as_deref(), Some(s.as_str()), "{s:?}");
            }
        }
    }

    #[test]
    fn image_ids_reject_traversal_and_garbage() {
        let id = ImageId::new();
        assert_eq!(ImageId::parse(id.as_str()).unwrap(), id);
        for bad in [
            "../etc/passwd",
            "",
            "ABCDEF0123456789ABCDEF0123456789",
            "x".repeat(32).as_str(),
        ] {
            assert!(ImageId::parse(bad).is_err());
        }
    }

    #[test]
    fn owners_reject_path_characters() {
        assert!(Owner::parse("alice_1").is_ok());
        for bad in ["", "..", "a/b", ".hidden", "a b"] {
            assert!(Owner::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_lose_their_directories() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\cat.jpg"), "cat.jpg");
        assert_eq!(clean_name(".."), "image");
    }
}
