//! The thumbnail adapter: decode (any format the tagger reads), apply EXIF orientation,
//! downscale, encode JPEG. CPU work runs on the blocking pool so it never stalls requests.

use std::io::Cursor;

use async_trait::async_trait;
use bytes::Bytes;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use imgtag_core::ports::Thumbnailer;

/// Decompression bombs are refused before any pixel buffer is allocated.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
const QUALITY: u8 = 82;

pub struct ImageThumbnailer;

#[async_trait]
impl Thumbnailer for ImageThumbnailer {
    async fn thumbnail(&self, image: Bytes, max_side: u32) -> Result<Bytes, String> {
        tokio::task::spawn_blocking(move || make(&image, max_side))
            .await
            .map_err(|e| format!("thumbnail task: {e}"))?
    }
}

fn make(bytes: &[u8], max_side: u32) -> Result<Bytes, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().map_err(|e| e.to_string())?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    let (w, h) = (img.width(), img.height());
    if w.max(h) > max_side {
        // `thumbnail` keeps the aspect ratio within the box and is fast for big reductions.
        img = img.thumbnail(max_side, max_side);
    }
    let rgb = DynamicImage::ImageRgb8(img.into_rgb8());
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY);
    rgb.write_with_encoder(encoder).map_err(|e| e.to_string())?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn size_of(jpeg: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).unwrap();
        (img.width(), img.height())
    }

    #[test]
    fn long_side_is_capped_and_aspect_kept() {
        assert_eq!(size_of(&make(&png(800, 400), 256).unwrap()), (256, 128));
        assert_eq!(size_of(&make(&png(300, 900), 256).unwrap()), (85, 256));
    }

    #[test]
    fn small_images_are_not_upscaled() {
        assert_eq!(size_of(&make(&png(120, 80), 1024).unwrap()), (120, 80));
    }

    #[test]
    fn exif_orientation_is_applied() {
        // Stored 300×451 (rotated pixels) with Orientation 6: upright it is 451×300.
        let rotated = include_bytes!("../../../fixtures/images/chelsea-exif-rotated.jpg");
        assert_eq!(size_of(&make(rotated, 256).unwrap()), (256, 170));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(make(b"not an image at all", 256).is_err());
    }
}
