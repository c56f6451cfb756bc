//! Object detection: CenterNet on MobileNetV3 (COCO's 80 classes; vladmandic/human's
//! `centernet` TF.js model, converted by `tools/convert_centernet.py`), in pure Rust.
//!
//! The photo is scaled to the run's side (512, the graph's own, or [`TAGGING_SIDE`]), centred in
//! the smallest frame of multiples of 32 that holds it (black bars) and fed as raw pixel values
//! 0..255. The network outputs a heatmap per class at a quarter of that size (128x128 for a
//! 512x512 frame) and four box extents per cell (the tagger computes those only at the peaks,
//! `boxes.rs`); peaks are decoded and suppressed as vladmandic/human does (score >=
//! [`MIN_SCORE`], class-agnostic NMS at IoU [`MAX_IOU`], at most [`MAX_DETECTED`]), then mapped
//! back to fractions of the photo.
//!
//! Cost: 1.3 G multiply-adds per pass at 512x512 (1.1 G in 1x1 convs, the 128x128x128 → 80
//! class head alone 0.17 G). The network is fully convolutional, so the tagger runs it at
//! [`TAGGING_SIDE`]: 0.73 G multiply-adds for a square photo, 0.49 G for a 3:2 one (384x256),
//! ~7-8 ms on one core of the 2-core dev machine (AVX-512), about half the classifier's path
//! (`bench/README.md`, "Detection cost"). A photo whose persons all fall just short of
//! the floor gets a second look at them (`zoom.rs`).

mod boxes;
mod chains;
mod decode;
pub(crate) mod dw;
mod fuse;
mod fused;
mod load;
mod merge;
mod net;
mod op;
mod ops;
mod profile;
mod zoom;

use fast_image_resize::{
    images::Image as FirImage, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::RgbImage;
use imgtag_core::BBox;

use crate::buf::{Buf, Floats};
pub use decode::COCO;
use net::DetectNet;
pub use net::{RawOutput, SIDE};

/// Input side the tagger runs the detector at (see [`ObjectDetector::with_side`]).
/// 384 rather than 320 since the classifier became EfficientNet-Lite2: the two small figures
/// of scipy's `ascent` then both pass the person floor (0.22-0.24 at 320), for 1.44x the
/// detector's arithmetic, which the larger classifier leaves room for (`bench/README.md`).
pub const TAGGING_SIDE: usize = 384;

/// vladmandic/human's defaults (`config.object`).
pub const MIN_SCORE: f32 = 0.2;
pub const MAX_IOU: f32 = 0.4;
pub const MAX_DETECTED: usize = 10;

/// An object found in a photo: its COCO class, confidence and box (fractions, origin top left).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Object {
    pub class: &'static str,
    pub score: f32,
    pub bbox: BBox,
}

/// The embedded detector.
pub struct ObjectDetector {
    net: DetectNet,
    side: usize,
}

impl ObjectDetector {
    /// Loads the embedded model, run at the graph's own 512 (the long side).
    pub fn load() -> anyhow::Result<Self> {
        Self::with_side(SIDE)
    }

    /// Loads the embedded model, run with `side` (a multiple of 32) as the long side. The cost
    /// falls with the square of the side; small objects are lost first.
    pub fn with_side(side: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (32..=1024).contains(&side) && side.is_multiple_of(32),
            "detector side {side} is not a multiple of 32 in 32..=1024"
        );
        Ok(ObjectDetector {
            net: DetectNet::load()?,
            side,
        })
    }

    /// Objects in an upright RGB photo, best first.
    pub fn detect(&self, img: &RgbImage, resizer: &mut Resizer) -> anyhow::Result<Vec<Object>> {
        self.detect_scaled(&self.scale(img, resizer)?)
    }

    /// The photo scaled to the detector's input (long side = the run's side, bilinear): what
    /// [`ObjectDetector::detect_scaled`] takes, and a cheaper source than the photo for the
    /// face detector's smaller views.
    pub fn scale(&self, img: &RgbImage, resizer: &mut Resizer) -> anyhow::Result<RgbImage> {
        let frame = Frame::new(img.width(), img.height(), self.side);
        let mut part = FirImage::new(frame.dw as u32, frame.dh as u32, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        resizer.resize(img, &mut part, &options)?;
        RgbImage::from_raw(part.width(), part.height(), part.into_vec())
            .ok_or_else(|| anyhow::anyhow!("scaled photo size mismatch"))
    }

    /// Objects in a photo already [scaled](ObjectDetector::scale), best first; boxes in
    /// fractions of the photo.
    pub fn detect_scaled(&self, scaled: &RgbImage) -> anyhow::Result<Vec<Object>> {
        let frame = Frame::new(scaled.width(), scaled.height(), self.side);
        anyhow::ensure!(
            (frame.dw, frame.dh) == (scaled.width() as usize, scaled.height() as usize),
            "photo not scaled to the detector's side {}",
            self.side
        );
        let mut input = self.net.input_buffer();
        frame.render(scaled, &mut input);
        let raw = self
            .net
            .forward(input, (frame.h, frame.w), Some(MIN_SCORE))?;
        let found = Self::detections(&raw, 0);
        self.net.recycle(raw);
        Ok(found
            .into_iter()
            .map(|o| Object {
                bbox: frame.to_photo(o.bbox),
                ..o
            })
            .filter(|o| o.bbox.w > 0.0 && o.bbox.h > 0.0)
            .collect())
    }

    /// Raw outputs for prepared inputs (`n` x side x side x 3, values 0..255); for reference
    /// checks.
    pub fn raw(&self, input: &[f32]) -> anyhow::Result<RawOutput> {
        let mut buf = self.net.input_buffer();
        buf.extend_from_slice(input);
        self.net.forward(buf, (self.side, self.side), None)
    }

    /// Decoded, suppressed detections of image `i` of a raw batch, in input fractions (unclipped).
    pub fn detections(raw: &RawOutput, i: usize) -> Vec<Object> {
        let peaks = decode::peaks(raw, i, MIN_SCORE);
        decode::suppress(&peaks, MIN_SCORE, MAX_IOU, MAX_DETECTED)
            .into_iter()
            .map(|p| Object {
                class: COCO[p.class],
                score: p.score,
                bbox: BBox {
                    x: p.x0,
                    y: p.y0,
                    w: p.x1 - p.x0,
                    h: p.y1 - p.y0,
                },
            })
            .collect()
    }
}

/// Where a photo goes in the network's input: scaled so its long side is the detector's side,
/// centred in the smallest `w x h` of multiples of 32 that holds it (black bars only up to the
/// next multiple: a 3:2 photo at 320 runs at 320x224, 70 % of the square's cost).
struct Frame {
    w: usize,
    h: usize,
    /// The scaled photo's offset and size inside the frame, in input pixels.
    dx: usize,
    dy: usize,
    dw: usize,
    dh: usize,
}

impl Frame {
    fn new(width: u32, height: u32, side: usize) -> Self {
        let (w, h) = (width as f32, height as f32);
        let scale = side as f32 / w.max(h);
        let dw = ((w * scale).round() as usize).clamp(1, side);
        let dh = ((h * scale).round() as usize).clamp(1, side);
        let (fw, fh) = (dw.next_multiple_of(32), dh.next_multiple_of(32));
        Frame {
            w: fw,
            h: fh,
            dx: (fw - dw) / 2,
            dy: (fh - dh) / 2,
            dw,
            dh,
        }
    }

    /// The scaled photo (`dw x dh`) in the frame, raw values 0..255 (`h x w x 3`), into
    /// `canvas` (emptied first): written once, row by row, bars included.
    fn render(&self, part: &RgbImage, canvas: &mut Buf) {
        let row_len = self.w * 3;
        canvas.clear();
        canvas.reserve(self.h * row_len);
        canvas.resize(self.dy * row_len + self.dx * 3, 0.0);
        for row in part.as_raw().chunks_exact(self.dw * 3) {
            canvas.extend(row.iter().map(|&p| f32::from(p)));
            // The right bar of this row and the left bar of the next.
            canvas.resize(canvas.len() + (self.w - self.dw) * 3, 0.0);
        }
        canvas.resize(self.h * row_len, 0.0);
    }

    /// A box in frame fractions as fractions of the photo, clipped to it.
    fn to_photo(&self, b: BBox) -> BBox {
        let x = |f: f32| ((f * self.w as f32 - self.dx as f32) / self.dw as f32).clamp(0.0, 1.0);
        let y = |f: f32| ((f * self.h as f32 - self.dy as f32) / self.dh as f32).clamp(0.0, 1.0);
        let (x0, y0, x1, y1) = (x(b.x), y(b.y), x(b.x + b.w), y(b.y + b.h));
        BBox {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buffers go back to the pool after each photo: the pool stops growing, and a reused buffer
    /// leaves nothing of the last photo in the next one's detections.
    #[test]
    fn passes_reuse_buffers_without_leftovers() {
        let det = ObjectDetector::with_side(TAGGING_SIDE).unwrap();
        let load = |f: &str| {
            let path = format!("{}/../../fixtures/images/{f}", env!("CARGO_MANIFEST_DIR"));
            image::open(path).unwrap().to_rgb8()
        };
        let (table, astronaut) = (load("table.jpg"), load("astronaut.png"));
        let mut r = Resizer::new();
        let first = det.detect(&table, &mut r).unwrap();
        assert!(!first.is_empty());
        det.detect(&astronaut, &mut r).unwrap();
        let pooled = det.net.pooled();
        for _ in 0..3 {
            det.detect(&astronaut, &mut r).unwrap();
            assert_eq!(det.detect(&table, &mut r).unwrap(), first);
        }
        assert_eq!(det.net.pooled(), pooled);
    }
}
