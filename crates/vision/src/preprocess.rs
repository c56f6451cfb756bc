//! Bytes → network input: sniff, refuse bombs, decode (reduced-scale for big JPEGs), apply EXIF
//! orientation, centre-crop 260/292 of the short side, bicubic resize, normalise.

use std::io::Cursor;

use fast_image_resize::{images::Image as FirImage, FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::{jpeg_dc, VisionError};

/// Network input side.
pub const INPUT_SIZE: u32 = 260;
/// EfficientNet evaluation crops 260/(260+32) of the short side before resizing.
const CROP_PADDING: u32 = 32;

/// Decodes `bytes` into an upright RGB image, refusing images over `max_pixels`. JPEGs whose
/// short side exceeds `min_short_side` are decoded at 1/2, 1/4 or 1/8 scale in the DCT domain
/// (never below `min_short_side`), which makes a 12 MP photo several times cheaper to decode.
pub fn decode(bytes: &[u8], max_pixels: u64, min_short_side: u32) -> Result<RgbImage, VisionError> {
    decode_at_least(bytes, max_pixels, (min_short_side, 0))
}

/// [`decode`] keeping both the short side `>= min.0` and the long side `>= min.1` (the
/// classifier crops the short side, the detectors scale the long one).
pub fn decode_at_least(
    bytes: &[u8],
    max_pixels: u64,
    min: (u32, u32),
) -> Result<RgbImage, VisionError> {
    if bytes.is_empty() {
        return Err(VisionError::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| VisionError::NotAnImage)?;
    if format == ImageFormat::Jpeg {
        match decode_jpeg_scaled(bytes, max_pixels, min) {
            Ok(img) => return Ok(img),
            // jpeg-decoder lacks a few rare variants (e.g. arithmetic coding); `image` may cope.
            Err(JpegFallback::Unsupported) => {}
            Err(JpegFallback::Failed(e)) => return Err(e),
        }
    }
    decode_generic(bytes, format, max_pixels)
}

fn check_size(width: u32, height: u32, limit: u64) -> Result<(), VisionError> {
    if width == 0 || height == 0 {
        return Err(VisionError::Corrupt(format!(
            "{width} x {height} image has no pixels"
        )));
    }
    if u64::from(width) * u64::from(height) > limit {
        return Err(VisionError::TooLarge {
            width,
            height,
            limit,
        });
    }
    Ok(())
}

fn decode_generic(
    bytes: &[u8],
    format: ImageFormat,
    max_pixels: u64,
) -> Result<RgbImage, VisionError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // Belt and braces: the header check below is the real bomb guard; the allocation cap also
    // covers formats whose intermediate buffers exceed the final image (16-bit, alpha).
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(16).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    check_size(width, height, max_pixels)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    Ok(match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

enum JpegFallback {
    Unsupported,
    Failed(VisionError),
}

fn decode_jpeg_scaled(
    bytes: &[u8],
    max_pixels: u64,
    (min_short, min_long): (u32, u32),
) -> Result<RgbImage, JpegFallback> {
    use jpeg_decoder::{Error as JErr, PixelFormat};
    let corrupt = |e: JErr| match e {
        JErr::Unsupported(_) => JpegFallback::Unsupported,
        other => JpegFallback::Failed(VisionError::Corrupt(other.to_string())),
    };
    // The size `side` of a `w x h` image must keep for the short and long sides to stay at
    // their minimums (capped at the side itself).
    let req = |side: u32, (w, h): (u32, u32)| {
        let keep = |min: u32, of: u32| (u64::from(side) * u64::from(min)).div_ceil(u64::from(of));
        keep(min_short, w.min(h))
            .max(keep(min_long, w.max(h)))
            .min(u64::from(side)) as u32
    };
    // Whether a reduced scale can keep the minimums at all.
    let reducible = |w: u32, h: u32| req(w, (w, h)) < w && req(h, (w, h)) < h;
    // The smallest of 1/8 and 1/4 with either side still large enough (jpeg-decoder's choice
    // between them), for the DC/low-frequency path.
    let reduced = |w: u32, h: u32| {
        let keeps = |d: u32| w.div_ceil(d) >= req(w, (w, h)) || h.div_ceil(d) >= req(h, (w, h));
        let ok = check_size(w, h, max_pixels).is_ok() && reducible(w, h);
        match (ok, keeps(8), keeps(4)) {
            (true, true, _) => Some(jpeg_dc::Scale::Eighth),
            (true, false, true) => Some(jpeg_dc::Scale::Quarter),
            _ => None,
        }
    };
    if let Some(e) = jpeg_dc::decode(bytes, reduced) {
        let img = RgbImage::from_raw(e.width, e.height, e.rgb).ok_or_else(|| {
            JpegFallback::Failed(VisionError::Corrupt("decoded size mismatch".into()))
        })?;
        return Ok(orient(img, e.exif));
    }
    let mut dec = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    dec.read_info().map_err(corrupt)?;
    let info = dec.info().ok_or(JpegFallback::Unsupported)?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    check_size(w, h, max_pixels).map_err(JpegFallback::Failed)?;
    // The decoder picks the smallest 1/8..8/8 scale whose output is at least this size. At full
    // scale zune-jpeg (single-threaded, SIMD) is faster: jpeg-decoder starts a worker thread per
    // colour component for every image.
    let (rw, rh) = (req(w, (w, h)) as u16, req(h, (w, h)) as u16);
    let scaled = reducible(w, h) && dec.scale(rw, rh).map_err(corrupt)? != (w as u16, h as u16);
    if !scaled {
        // On any error jpeg-decoder runs after all, and its message is reported.
        if let Some(img) = decode_zune(bytes) {
            return Ok(img);
        }
    }
    let pixels = dec.decode().map_err(corrupt)?;
    let info = dec.info().ok_or(JpegFallback::Unsupported)?;
    let (sw, sh) = (u32::from(info.width), u32::from(info.height));
    let rgb: Vec<u8> = match info.pixel_format {
        PixelFormat::RGB24 => pixels,
        PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        PixelFormat::L16 => pixels.chunks_exact(2).flat_map(|p| [p[0]; 3]).collect(),
        PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                // Naive CMYK → RGB assuming 255 = no ink (Adobe's inverted storage, the common
                // case); colour accuracy hardly matters for classification.
                let k = u16::from(p[3]);
                [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k) / 255) as u8)
            })
            .collect(),
    };
    let short_ok = rgb.len() == (sw * sh * 3) as usize;
    let img = RgbImage::from_raw(sw, sh, rgb)
        .filter(|_| short_ok)
        .ok_or_else(|| {
            JpegFallback::Failed(VisionError::Corrupt("decoded size mismatch".into()))
        })?;
    Ok(orient(img, dec.exif_data()))
}

/// Full-scale decode with zune-jpeg in strict mode (truncated data is an error), `None` on error.
fn decode_zune(bytes: &[u8]) -> Option<RgbImage> {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = dec.decode().ok()?;
    let (w, h) = dec.dimensions()?;
    if dec.output_colorspace()? != ColorSpace::RGB {
        return None;
    }
    let img = RgbImage::from_raw(u32::try_from(w).ok()?, u32::try_from(h).ok()?, pixels)?;
    Some(orient(img, dec.exif().map(Vec::as_slice)))
}

/// Applies the EXIF orientation, if any.
fn orient(img: RgbImage, exif: Option<&[u8]>) -> RgbImage {
    match exif.and_then(image::metadata::Orientation::from_exif_chunk) {
        Some(orientation) => {
            let mut dynimg = DynamicImage::ImageRgb8(img);
            dynimg.apply_orientation(orientation);
            dynimg.into_rgb8()
        }
        None => img,
    }
}

/// Smallest short side worth decoding: the centre crop (260/292 of it) still covers 260 pixels.
pub fn min_decode_side() -> u32 {
    INPUT_SIZE + CROP_PADDING
}

/// Photos whose long side is more than this many times the short side are letterboxed for the
/// classifier instead of centre-cropped: a centre square would keep under 40 % of them (of a
/// 4:1 panorama of a racing car, the cockpit alone, which the classifier took for a plane).
const LETTERBOX_ASPECT: u32 = 2;

/// Centre crop of 260/292 of the short side, bicubic (Catmull-Rom, as PIL's BICUBIC) resize to
/// 260x260; panoramas and other strips (`LETTERBOX_ASPECT`) whole, see `letterbox`. Returns
/// packed RGB bytes (260*260*3).
pub fn crop_resize(img: &RgbImage, resizer: &mut Resizer) -> Result<Vec<u8>, VisionError> {
    let (w, h) = img.dimensions();
    if u64::from(w.max(h)) > u64::from(LETTERBOX_ASPECT) * u64::from(w.min(h)) {
        return letterbox(img, resizer);
    }
    let crop = f64::from(w.min(h)) * f64::from(INPUT_SIZE) / f64::from(INPUT_SIZE + CROP_PADDING);
    let (left, top) = ((f64::from(w) - crop) / 2.0, (f64::from(h) - crop) / 2.0);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom))
        .crop(left, top, crop, crop);
    let mut dst = FirImage::new(INPUT_SIZE, INPUT_SIZE, fast_image_resize::PixelType::U8x3);
    resizer
        .resize(img, &mut dst, &options)
        .map_err(|e| VisionError::Corrupt(format!("resize failed: {e}")))?;
    Ok(dst.into_vec())
}

/// The whole photo resized (bicubic) to 260 on its long side, centred on a 260x260 square of
/// mid grey, which [`normalise`] maps to 0: the bars add no signal.
fn letterbox(img: &RgbImage, resizer: &mut Resizer) -> Result<Vec<u8>, VisionError> {
    let (w, h) = img.dimensions();
    let long = f64::from(w.max(h));
    let side = |v: u32| ((f64::from(v) * f64::from(INPUT_SIZE) / long).round() as u32).max(1);
    let (dw, dh) = (side(w), side(h));
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    let mut part = FirImage::new(dw, dh, fast_image_resize::PixelType::U8x3);
    resizer
        .resize(img, &mut part, &options)
        .map_err(|e| VisionError::Corrupt(format!("resize failed: {e}")))?;
    let n = INPUT_SIZE as usize;
    let (dw, dh) = (dw as usize, dh as usize);
    let (dx, dy) = ((n - dw) / 2, (n - dh) / 2);
    let mut out = vec![127u8; n * n * 3];
    for (r, row) in part.buffer().chunks_exact(dw * 3).enumerate() {
        out[((dy + r) * n + dx) * 3..][..dw * 3].copy_from_slice(row);
    }
    Ok(out)
}

/// RGB bytes → network input (NHWC, one image), `(p - 127) / 128` as EfficientNet-Lite expects.
pub fn normalise(rgb: &[u8], out: &mut Vec<f32>) {
    out.extend(rgb.iter().map(|&p| (f32::from(p) - 127.0) / 128.0));
}

/// Whole pipeline for one image: bytes → 260x260x3 normalised input.
pub fn prepare(
    bytes: &[u8],
    max_pixels: u64,
    resizer: &mut Resizer,
) -> Result<Vec<f32>, VisionError> {
    let img = decode(bytes, max_pixels, min_decode_side())?;
    classify_input(&img, resizer)
}

/// Decoded photo → 260x260x3 normalised classifier input.
pub fn classify_input(img: &RgbImage, resizer: &mut Resizer) -> Result<Vec<f32>, VisionError> {
    let rgb = crop_resize(img, resizer)?;
    let mut out = Vec::with_capacity(rgb.len());
    normalise(&rgb, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A photo in three vertical bands (red, green, blue) of `w` x `h`.
    fn bands(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, _| {
            let mut p = [0u8; 3];
            p[(x * 3 / w) as usize] = 255;
            image::Rgb(p)
        })
    }

    fn pixel(rgb: &[u8], x: usize, y: usize) -> [u8; 3] {
        let at = (y * INPUT_SIZE as usize + x) * 3;
        [rgb[at], rgb[at + 1], rgb[at + 2]]
    }

    #[test]
    fn a_panorama_is_classified_whole_and_a_wide_photo_centre_cropped() {
        let mut resizer = Resizer::new();
        // 4:1: all three bands side by side, grey bars above and below.
        let pano = crop_resize(&bands(800, 200), &mut resizer).unwrap();
        let (n, mid) = (INPUT_SIZE as usize, INPUT_SIZE as usize / 2);
        assert_eq!(pixel(&pano, mid, 5), [127; 3], "bar above");
        assert_eq!(pixel(&pano, mid, n - 6), [127; 3], "bar below");
        assert_eq!(pixel(&pano, 10, mid), [255, 0, 0]);
        assert_eq!(pixel(&pano, mid, mid), [0, 255, 0]);
        assert_eq!(pixel(&pano, n - 11, mid), [0, 0, 255]);
        // 16:9 (under 2:1): the centre square only (its outer fifths, blue, left out), no bars.
        let wide = RgbImage::from_fn(640, 360, |x, _| match x {
            128..512 => image::Rgb([0, 255, 0]),
            _ => image::Rgb([0, 0, 255]),
        });
        let wide = crop_resize(&wide, &mut resizer).unwrap();
        for (x, y) in [(0, 0), (mid, mid), (n - 1, n - 1)] {
            assert_eq!(pixel(&wide, x, y), [0, 255, 0], "at {x},{y}");
        }
        // Tall strips are letterboxed the same way, bars left and right.
        let tall = image::imageops::rotate90(&bands(800, 200));
        let tall = crop_resize(&tall, &mut resizer).unwrap();
        assert_eq!(pixel(&tall, 5, mid), [127; 3]);
        assert_eq!(pixel(&tall, mid, mid), [0, 255, 0]);
    }

    /// JPEGs decode at the smallest DCT scale that keeps both minimums: the long side only
    /// needs the detector's 320 where the short side keeps 256.
    #[test]
    fn jpegs_decode_at_the_smallest_scale_keeping_both_sides() {
        let jpeg = |w: u32, h: u32| {
            let mut out = Vec::new();
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
            bands(w, h).write_with_encoder(enc).unwrap();
            out
        };
        let size = |bytes: &[u8], min| decode_at_least(bytes, 1 << 30, min).unwrap().dimensions();
        let hd = jpeg(1920, 1080);
        assert_eq!(
            size(&hd, (256, 320)),
            (480, 270),
            "1/4: 270 >= 256, 480 >= 320"
        );
        assert_eq!(
            size(&hd, (320, 0)),
            (960, 540),
            "the short side alone at 320: 1/2"
        );
        assert_eq!(size(&hd, (256, 0)), (480, 270));
        // Near square, the long side decides: 1/4 would keep 275 >= 256 but 300 < 320.
        let square = jpeg(1200, 1100);
        assert_eq!(size(&square, (256, 320)), (600, 550));
        assert_eq!(size(&square, (256, 0)), (300, 275));
        assert_eq!(size(&jpeg(2560, 2560), (256, 320)), (320, 320), "1/8");
        assert_eq!(size(&jpeg(600, 400), (256, 320)), (600, 400), "full size");
    }
}
