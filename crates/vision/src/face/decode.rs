//! From BlazeFace's raw outputs to face boxes: MediaPipe's SSD anchors, box decoding and
//! weighted non-maximum suppression (as MediaPipe's `TensorsToDetections` + `NonMaxSuppression`
//! with `WEIGHTED` overlap handling, and the npm package's `Postprocess1`/`Postprocess2` shaders).

use super::net::SIDE;

/// A detection in the coordinates of one network input (fractions, origin top left).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub score: f32,
    /// Centre and size.
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
}

impl Detection {
    fn area(&self) -> f32 {
        self.w * self.h
    }

    fn intersection(&self, o: &Detection) -> f32 {
        let ix = (self.cx + self.w / 2.0).min(o.cx + o.w / 2.0)
            - (self.cx - self.w / 2.0).max(o.cx - o.w / 2.0);
        let iy = (self.cy + self.h / 2.0).min(o.cy + o.h / 2.0)
            - (self.cy - self.h / 2.0).max(o.cy - o.h / 2.0);
        ix.max(0.0) * iy.max(0.0)
    }

    /// Intersection over union.
    pub fn iou(&self, o: &Detection) -> f32 {
        let inter = self.intersection(o);
        inter / (self.area() + o.area() - inter).max(f32::MIN_POSITIVE)
    }

    /// Share of the smaller box inside the other: catches a partial face (from a tile that cuts
    /// through it) lying inside the whole face, which IoU alone would keep as a second face.
    pub fn containment(&self, o: &Detection) -> f32 {
        self.intersection(o) / self.area().min(o.area()).max(f32::MIN_POSITIVE)
    }
}

/// IoU from which two detections are the same face (MediaPipe's face detection setting).
const IOU_SAME: f32 = 0.3;

/// Decodes image `i` of a batch: every anchor scoring at least `threshold`, in input fractions.
pub fn decode(raw: &super::net::RawOutput, i: usize, threshold: f32) -> Vec<Detection> {
    decode_layers(raw, i, threshold, 2)
}

/// Like [`decode`], over the 16x16 grid only: its anchors are the ones that see the smallest
/// faces (8-pixel stride).
pub fn decode_fine(raw: &super::net::RawOutput, i: usize, threshold: f32) -> Vec<Detection> {
    decode_layers(raw, i, threshold, 1)
}

fn decode_layers(
    raw: &super::net::RawOutput,
    i: usize,
    threshold: f32,
    layers: usize,
) -> Vec<Detection> {
    let mut out = Vec::new();
    // 16x16 cells of 2 anchors (8-pixel stride), then 8x8 cells of 6 (16-pixel stride).
    let count = layers;
    let layers = [
        (16usize, 2usize, &raw.scores16, &raw.boxes16),
        (8, 6, &raw.scores8, &raw.boxes8),
    ];
    let scale = 1.0 / SIDE as f32;
    for (cells, per, scores, boxes) in layers.into_iter().take(count) {
        let count = cells * cells * per;
        let scores = &scores[i * count..][..count];
        let boxes = &boxes[i * count * 16..][..count * 16];
        for (a, (&logit, b)) in scores.iter().zip(boxes.chunks_exact(16)).enumerate() {
            let score = 1.0 / (1.0 + (-logit).exp());
            if score < threshold {
                continue;
            }
            let cell = a / per;
            let (ax, ay) = (
                ((cell % cells) as f32 + 0.5) / cells as f32,
                ((cell / cells) as f32 + 0.5) / cells as f32,
            );
            out.push(Detection {
                score,
                cx: ax + b[0] * scale,
                cy: ay + b[1] * scale,
                w: b[2] * scale,
                h: b[3] * scale,
            });
        }
    }
    out
}

/// Weighted non-maximum suppression: the best remaining detection absorbs every one overlapping
/// it by IoU >= 0.3 (or, with `contained`, lying mostly inside it); the merged box is their
/// score-weighted mean, with the best score.
pub fn suppress(mut dets: Vec<Detection>, contained: Option<f32>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    while let Some(&best) = dets.first() {
        let same = |d: &Detection| {
            best.iou(d) >= IOU_SAME || contained.is_some_and(|t| best.containment(d) >= t)
        };
        let (group, rest): (Vec<Detection>, Vec<Detection>) = dets.into_iter().partition(same);
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mean =
            |f: fn(&Detection) -> f32| group.iter().map(|d| f(d) * d.score).sum::<f32>() / total;
        kept.push(Detection {
            score: best.score,
            cx: mean(|d| d.cx),
            cy: mean(|d| d.cy),
            w: mean(|d| d.w),
            h: mean(|d| d.h),
        });
        dets = rest;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, cx: f32, cy: f32, side: f32) -> Detection {
        Detection {
            score,
            cx,
            cy,
            w: side,
            h: side,
        }
    }

    #[test]
    fn overlapping_boxes_merge_and_distant_ones_stay() {
        let out = suppress(
            vec![
                det(0.6, 0.52, 0.5, 0.2),
                det(0.9, 0.5, 0.5, 0.2),
                det(0.8, 0.1, 0.1, 0.1),
            ],
            None,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // Weighted mean of the centres 0.5 (0.9) and 0.52 (0.6).
        assert!((out[0].cx - 0.508).abs() < 1e-4, "{}", out[0].cx);
        assert_eq!(out[1].score, 0.8);
    }

    #[test]
    fn a_partial_box_inside_a_face_is_absorbed_only_with_containment() {
        let whole = det(0.9, 0.5, 0.5, 0.4);
        let part = Detection {
            score: 0.8,
            cx: 0.4,
            cy: 0.4,
            w: 0.12,
            h: 0.12,
        };
        assert_eq!(suppress(vec![whole, part], None).len(), 2);
        assert_eq!(suppress(vec![whole, part], Some(0.6)).len(), 1);
    }
}
