//! Heatmap peaks to boxes, as the graph's own decode tail and vladmandic/human's
//! `src/object/centernet.ts`: a cell is a peak where it equals the max of its 3x3 neighbourhood
//! (TF "SAME" max pool), the best [`TOP_K`] peaks over all classes become boxes
//! `[4x - l, 4y - t, 4x + r, 4y + b]` (input pixels), then class-agnostic greedy NMS.

use super::net::{RawOutput, CLASSES, STRIDE};

/// Peaks decoded per image (the graph's TopK).
pub const TOP_K: usize = 100;

/// COCO's 80 detection classes, in the model's order.
pub const COCO: [&str; CLASSES] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// A detection in input fractions: corners `x0, y0, x1, y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    pub class: usize,
    pub score: f32,
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

/// `floor` (a probability) in the units of `raw`'s heatmap: sigmoid is monotonic, so peaks and
/// their order are the same on logits.
pub(super) fn heat_floor(floor: f32, logits: bool) -> f32 {
    match logits {
        true => (floor / (1.0 - floor)).ln(),
        false => floor,
    }
}

/// One image's best [`TOP_K`] heatmap peaks at `floor` or more (heatmap units): (value, flat
/// index `cell * CLASSES + class`), best first, ties in (y, x, class) order. The floor only skips
/// peaks NMS would drop anyway, but it spares sorting the ~10^5 near-zero local maxima.
pub(super) fn top(kp: &[f32], (gh, gw): (usize, usize), floor: f32) -> Vec<(f32, usize)> {
    let mut cand: Vec<(f32, usize)> = Vec::new();
    for y in 0..gh {
        for x in 0..gw {
            let cell = &kp[(y * gw + x) * CLASSES..][..CLASSES];
            // Nearly every cell has no class at the floor: one branch-free (vectorised) pass
            // over its classes instead of one branch per class.
            if !cell.iter().fold(false, |any, &v| any | (v >= floor)) {
                continue;
            }
            for (c, &v) in cell.iter().enumerate() {
                if v < floor {
                    continue;
                }
                let mut peak = true;
                'n: for ny in y.saturating_sub(1)..(y + 2).min(gh) {
                    for nx in x.saturating_sub(1)..(x + 2).min(gw) {
                        if kp[(ny * gw + nx) * CLASSES + c] > v {
                            peak = false;
                            break 'n;
                        }
                    }
                }
                if peak {
                    cand.push((v, (y * gw + x) * CLASSES + c));
                }
            }
        }
    }
    // Stable: equal scores keep the flat order, as TF's TopK.
    cand.sort_by(|a, b| b.0.total_cmp(&a.0));
    cand.truncate(TOP_K);
    cand
}

/// The best [`TOP_K`] peaks of image `i` scoring at least `floor`, best first, as boxes.
pub fn peaks(raw: &RawOutput, i: usize, floor: f32) -> Vec<Peak> {
    let (gh, gw) = raw.grid;
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    let floor = heat_floor(floor, raw.logits);
    let cells = gh * gw;
    let wh = &raw.wh[i * cells * 4..][..cells * 4];
    // The network's own pick (see `RawOutput::top`) when it is this one.
    let cand = match &raw.top {
        Some((f, top)) if i == 0 && *f == floor => top.clone(),
        _ => top(
            &raw.keypoints[i * cells * CLASSES..][..cells * CLASSES],
            raw.grid,
            floor,
        ),
    };
    cand.into_iter()
        .map(|(score, at)| {
            let (cell, class) = (at / CLASSES, at % CLASSES);
            let stride = STRIDE as f32;
            let (y, x) = ((cell / gw) as f32 * stride, (cell % gw) as f32 * stride);
            let d = &wh[cell * 4..][..4];
            let (h, w) = ((gh * STRIDE) as f32, (gw * STRIDE) as f32);
            Peak {
                class,
                score: if raw.logits { sigmoid(score) } else { score },
                x0: (x - d[0]) / w,
                y0: (y - d[1]) / h,
                x1: (x + d[2]) / w,
                y1: (y + d[3]) / h,
            }
        })
        .collect()
}

fn iou(a: &Peak, b: &Peak) -> f32 {
    let iw = (a.x1.min(b.x1) - a.x0.max(b.x0)).max(0.0);
    let ih = (a.y1.min(b.y1) - a.y0.max(b.y0)).max(0.0);
    let inter = iw * ih;
    let union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// Greedy class-agnostic NMS over peaks (best first): scores from `min_score`, overlap above
/// `max_iou` with a kept box suppresses, at most `max` kept.
pub fn suppress(peaks: &[Peak], min_score: f32, max_iou: f32, max: usize) -> Vec<Peak> {
    let mut kept: Vec<Peak> = Vec::new();
    for p in peaks.iter().filter(|p| p.score >= min_score) {
        if kept.len() == max {
            break;
        }
        if kept.iter().all(|k| iou(k, p) <= max_iou) {
            kept.push(*p);
        }
    }
    kept
}
