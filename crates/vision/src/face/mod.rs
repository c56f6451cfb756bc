//! Face detection: MediaPipe BlazeFace (short range) on the whole photo and on four overlapping
//! tiles, so that faces too small for one 128x128 view (group photos) are found as well.
//!
//! Each view is letterboxed into 128x128 (black bars, which the network expects from MediaPipe's
//! own preprocessing), normalised to [-1, 1] and run in one batch. Detections are mapped back to
//! fractions of the photo; a tile's detections touching a tile edge inside the photo are dropped
//! (a face cut by the tile), and weighted non-maximum suppression merges the views.

mod decode;
mod net;

use fast_image_resize::{
    images::Image as FirImage, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::RgbImage;
use imgtag_core::BBox;

pub use decode::Detection;
use net::{FaceNet, SIDE};

pub use net::RawOutput;

/// Tile side as a share of the photo's long side: two tiles per axis overlap by 20 %, so a face
/// up to a fifth of the photo lies whole in at least one tile.
const TILE: f32 = 0.6;
/// Candidate threshold before suppression (MediaPipe's default minimum detection confidence).
const CANDIDATE: f32 = 0.5;
/// Containment from which a smaller detection is part of a bigger one.
const CONTAINED: f32 = 0.6;
/// Margin (input fractions) within which a tile detection counts as touching the tile's edge.
const EDGE: f32 = 0.02;

/// A face found in a photo: its confidence and box in fractions of the photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    pub score: f32,
    pub bbox: BBox,
}

/// The embedded detector.
pub struct FaceDetector {
    net: FaceNet,
}

/// Part of the photo's letterbox square (side = the long side, centred) fed as one input:
/// offset and side in square fractions.
#[derive(Debug, Clone, Copy)]
struct View {
    x: f32,
    y: f32,
    side: f32,
}

const VIEWS: [View; 5] = [
    View {
        x: 0.0,
        y: 0.0,
        side: 1.0,
    },
    View {
        x: 0.0,
        y: 0.0,
        side: TILE,
    },
    View {
        x: 1.0 - TILE,
        y: 0.0,
        side: TILE,
    },
    View {
        x: 0.0,
        y: 1.0 - TILE,
        side: TILE,
    },
    View {
        x: 1.0 - TILE,
        y: 1.0 - TILE,
        side: TILE,
    },
];

impl FaceDetector {
    /// Loads the embedded model.
    pub fn load() -> anyhow::Result<Self> {
        Ok(FaceDetector {
            net: FaceNet::load()?,
        })
    }

    /// Faces in an upright RGB photo, best first.
    pub fn detect(&self, img: &RgbImage, resizer: &mut Resizer) -> anyhow::Result<Vec<Face>> {
        let input = views_input(img, resizer)?;
        let raw = self.net.forward(&input)?;
        Ok(self.merge(img, &raw))
    }

    /// Raw outputs for prepared inputs (`n` x 128x128x3 in [-1, 1]); for reference checks.
    pub fn raw(&self, input: &[f32]) -> anyhow::Result<RawOutput> {
        self.net.forward(input)
    }

    /// Decoded, suppressed detections of image `i` of a raw batch, in input fractions.
    pub fn detections(raw: &RawOutput, i: usize) -> Vec<Detection> {
        decode::suppress(decode::decode(raw, i, CANDIDATE), None)
    }

    fn merge(&self, img: &RgbImage, raw: &RawOutput) -> Vec<Face> {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let long = w.max(h);
        // The photo's extent in square fractions.
        let (ox, oy) = ((long - w) / 2.0 / long, (long - h) / 2.0 / long);
        let (ex, ey) = (1.0 - ox, 1.0 - oy);
        let mut all = Vec::new();
        for (i, v) in VIEWS.iter().enumerate() {
            for d in decode::decode(raw, i, CANDIDATE) {
                if v.side < 1.0 {
                    let (x0, y0) = (d.cx - d.w / 2.0, d.cy - d.h / 2.0);
                    let (x1, y1) = (d.cx + d.w / 2.0, d.cy + d.h / 2.0);
                    // A tile edge is inner unless it coincides with the photo's edge.
                    let cut = (x0 < EDGE && v.x > ox + 1e-3)
                        || (y0 < EDGE && v.y > oy + 1e-3)
                        || (x1 > 1.0 - EDGE && v.x + v.side < ex - 1e-3)
                        || (y1 > 1.0 - EDGE && v.y + v.side < ey - 1e-3);
                    if cut {
                        continue;
                    }
                }
                // View fractions → square fractions.
                all.push(Detection {
                    cx: v.x + d.cx * v.side,
                    cy: v.y + d.cy * v.side,
                    w: d.w * v.side,
                    h: d.h * v.side,
                    ..d
                });
            }
        }
        decode::suppress(all, Some(CONTAINED))
            .into_iter()
            .map(|d| {
                // Square fractions → photo fractions, clipped to the photo.
                let x0 = ((d.cx - d.w / 2.0 - ox) * long / w).clamp(0.0, 1.0);
                let y0 = ((d.cy - d.h / 2.0 - oy) * long / h).clamp(0.0, 1.0);
                let x1 = ((d.cx + d.w / 2.0 - ox) * long / w).clamp(0.0, 1.0);
                let y1 = ((d.cy + d.h / 2.0 - oy) * long / h).clamp(0.0, 1.0);
                Face {
                    score: d.score,
                    bbox: BBox {
                        x: x0,
                        y: y0,
                        w: x1 - x0,
                        h: y1 - y0,
                    },
                }
            })
            .filter(|f| f.bbox.w > 0.0 && f.bbox.h > 0.0)
            .collect()
    }
}

/// Every view of `img`, letterboxed to 128x128 and normalised to [-1, 1], end to end.
fn views_input(img: &RgbImage, resizer: &mut Resizer) -> anyhow::Result<Vec<f32>> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let long = w.max(h);
    let (ox, oy) = ((long - w) / 2.0, (long - h) / 2.0);
    let mut out = Vec::with_capacity(VIEWS.len() * SIDE * SIDE * 3);
    for v in VIEWS {
        // The view in photo pixels, and the part of it that lies on the photo.
        let (vx, vy, vs) = (v.x * long - ox, v.y * long - oy, v.side * long);
        let (sx0, sy0) = (vx.max(0.0), vy.max(0.0));
        let (sx1, sy1) = ((vx + vs).min(w), (vy + vs).min(h));
        let scale = SIDE as f32 / vs;
        let dx = ((sx0 - vx) * scale).round() as usize;
        let dy = ((sy0 - vy) * scale).round() as usize;
        let dw = (((sx1 - sx0) * scale).round() as usize).clamp(1, SIDE - dx);
        let dh = (((sy1 - sy0) * scale).round() as usize).clamp(1, SIDE - dy);
        let mut part = FirImage::new(dw as u32, dh as u32, PixelType::U8x3);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
            .crop(
                f64::from(sx0),
                f64::from(sy0),
                f64::from(sx1 - sx0),
                f64::from(sy1 - sy0),
            );
        resizer.resize(img, &mut part, &options)?;
        let mut canvas = vec![-1.0f32; SIDE * SIDE * 3];
        for (r, row) in part.buffer().chunks_exact(dw * 3).enumerate() {
            let dst = &mut canvas[((dy + r) * SIDE + dx) * 3..][..dw * 3];
            for (d, &p) in dst.iter_mut().zip(row) {
                *d = f32::from(p) / 127.5 - 1.0;
            }
        }
        out.extend_from_slice(&canvas);
    }
    Ok(out)
}
