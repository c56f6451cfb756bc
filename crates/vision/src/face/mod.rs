//! Face detection: MediaPipe BlazeFace (short range) on the whole photo and, where needed, on
//! overlapping tiles, so that faces too small for one 128x128 view (group photos) are found too.
//!
//! The whole photo is letterboxed into 128x128 (black bars, which the network expects from
//! MediaPipe's own preprocessing), normalised to [-1, 1] and run first. The tiles (a 2x2 grid of
//! 128x128 cut from the photo letterboxed into 214x214: 1.67x the whole view's scale) only help
//! where a face is too small for the whole view, and such a face still stirs the whole view's
//! finest anchors (16x16 grid) at a lower score: so the tiles run only if one of those anchors
//! scores at least `HINT` outside the faces already found with confidence. Most photos (no
//! people, or one large face) then cost one pass. Detections are mapped back to fractions of the
//! photo; a tile's detections touching a tile edge inside the photo are dropped (a face cut by
//! the tile), and weighted non-maximum suppression merges the views.

mod decode;
mod load;
mod net;
mod ops;

use fast_image_resize::{
    images::Image as FirImage, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::RgbImage;
use imgtag_core::BBox;

pub use decode::Detection;
use net::{FaceNet, SIDE};

pub use net::RawOutput;

/// Side of the letterbox square the tiles are cut from: two 128-pixel tiles per axis overlap by
/// 42 pixels (20 %), so a face up to a fifth of the photo lies whole in at least one tile.
const BASE: usize = 214;
/// Whole-view score from which a 16x16-grid anchor hints at a face too small to confirm there.
/// In probes (portraits shrunk to 1/2-1/4 of the photo, 2x2-4x4 grids of them) the faces the
/// tiles then found scored 0.24-0.68 there; photos without people scored 0.06-0.33 (coffee the
/// highest, the cat 0.24). 0.3 runs the tiles on none of those but coffee, at the price of the
/// faintest probe (a quarter-size portrait, 0.24).
const HINT: f32 = 0.3;
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

const WHOLE: View = View {
    x: 0.0,
    y: 0.0,
    side: 1.0,
};

/// Tile `t` (0 top left, 1 top right, 2 bottom left, 3 bottom right) in square fractions.
fn tile(t: usize) -> View {
    let far = (BASE - SIDE) as f32 / BASE as f32;
    View {
        x: (t % 2) as f32 * far,
        y: (t / 2) as f32 * far,
        side: SIDE as f32 / BASE as f32,
    }
}

impl FaceDetector {
    /// Loads the embedded model.
    pub fn load() -> anyhow::Result<Self> {
        Ok(FaceDetector {
            net: FaceNet::load()?,
        })
    }

    /// Faces in an upright RGB photo, best first. `confident` is the score from which a face
    /// counts (the caller's floor): tiles are not run to look again inside such faces.
    pub fn detect(
        &self,
        img: &RgbImage,
        resizer: &mut Resizer,
        confident: f32,
    ) -> anyhow::Result<Vec<Face>> {
        let whole = self.net.forward(&render(img, resizer, SIDE)?)?;
        let mut parts = vec![(WHOLE, &whole, 0)];
        let mut tile_raw = None;
        if needs_tiles(&whole, confident) {
            let base = render(img, resizer, BASE)?;
            let mut input = Vec::with_capacity(4 * SIDE * SIDE * 3);
            for t in 0..4 {
                let (x0, y0) = (t % 2 * (BASE - SIDE), t / 2 * (BASE - SIDE));
                for r in y0..y0 + SIDE {
                    input.extend_from_slice(&base[(r * BASE + x0) * 3..][..SIDE * 3]);
                }
            }
            let raw = tile_raw.insert(self.net.forward(&input)?);
            parts.extend((0..4).map(|t| (tile(t), &*raw, t)));
        }
        let faces = merge(img, &parts);
        for raw in std::iter::once(whole).chain(tile_raw) {
            self.net.recycle(raw);
        }
        Ok(faces)
    }

    /// Raw outputs for prepared inputs (`n` x 128x128x3 in [-1, 1]); for reference checks.
    pub fn raw(&self, input: &[f32]) -> anyhow::Result<RawOutput> {
        self.net.forward(input)
    }

    /// Decoded, suppressed detections of image `i` of a raw batch, in input fractions.
    pub fn detections(raw: &RawOutput, i: usize) -> Vec<Detection> {
        decode::suppress(decode::decode(raw, i, CANDIDATE), None)
    }
}

/// Whether the tiles are worth running after the whole view's pass: when it holds a hint of a
/// small face (a 16x16-grid anchor at [`HINT`] or more) outside every face already found at
/// `confident` or more. All four then run: small faces come in groups, and in a 2x2 grid of
/// portraits only the top faces left a hint.
fn needs_tiles(whole: &RawOutput, confident: f32) -> bool {
    let sure = decode::suppress(decode::decode(whole, 0, confident), None);
    decode::decode_fine(whole, 0, HINT).iter().any(|d| {
        !sure
            .iter()
            .any(|f| (d.cx - f.cx).abs() <= f.w / 2.0 && (d.cy - f.cy).abs() <= f.h / 2.0)
    })
}

/// Detections of every view (`(view, batch output, index in the batch)`), in photo fractions,
/// suppressed across views.
fn merge(img: &RgbImage, parts: &[(View, &RawOutput, usize)]) -> Vec<Face> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let long = w.max(h);
    // The photo's extent in square fractions.
    let (ox, oy) = ((long - w) / 2.0 / long, (long - h) / 2.0 / long);
    let (ex, ey) = (1.0 - ox, 1.0 - oy);
    let mut all = Vec::new();
    for &(v, raw, i) in parts {
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

/// `img` letterboxed into a `side` x `side` square (black bars), normalised to [-1, 1].
fn render(img: &RgbImage, resizer: &mut Resizer, side: usize) -> anyhow::Result<Vec<f32>> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let scale = side as f32 / w.max(h);
    let dw = ((w * scale).round() as usize).clamp(1, side);
    let dh = ((h * scale).round() as usize).clamp(1, side);
    let (dx, dy) = ((side - dw) / 2, (side - dh) / 2);
    let mut part = FirImage::new(dw as u32, dh as u32, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    resizer.resize(img, &mut part, &options)?;
    let mut canvas = vec![-1.0f32; side * side * 3];
    for (r, row) in part.buffer().chunks_exact(dw * 3).enumerate() {
        let dst = &mut canvas[((dy + r) * side + dx) * 3..][..dw * 3];
        for (d, &p) in dst.iter_mut().zip(row) {
            *d = f32::from(p) / 127.5 - 1.0;
        }
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buffers go back to the pool after each photo, tiles included: the pool stops growing and
    /// a reused buffer leaves nothing of the last photo in the next one's faces.
    #[test]
    fn passes_reuse_buffers_without_leftovers() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/images/astronaut.png"
        );
        let one = image::open(path).unwrap().to_rgb8();
        let (w, h) = one.dimensions();
        let mut grid = RgbImage::new(2 * w, 2 * h);
        for i in 0..4 {
            image::imageops::replace(&mut grid, &one, i64::from(i % 2 * w), i64::from(i / 2 * h));
        }
        let det = FaceDetector::load().unwrap();
        let mut r = Resizer::new();
        let found = |img: &RgbImage, r: &mut Resizer| det.detect(img, r, 0.75).unwrap();
        let (first_one, first_grid) = (found(&one, &mut r), found(&grid, &mut r));
        assert!(
            first_grid.len() > first_one.len(),
            "the grid runs the tiles"
        );
        let pooled = det.net.pooled();
        for _ in 0..3 {
            assert_eq!(found(&grid, &mut r), first_grid);
            assert_eq!(found(&one, &mut r), first_one);
        }
        assert_eq!(det.net.pooled(), pooled);
    }
}
