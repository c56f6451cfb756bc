//! The box-extent head computed only where the decoder reads it. The head (3x3 depthwise over
//! the 128-channel stride-4 map, then a 1x1 to 4 extents, times 16) costs ~1 ms over the whole
//! grid at 320 px, yet decoding reads it at the [`super::decode::TOP_K`] best heatmap peaks at
//! most (usually a handful): same arithmetic per cell, on demand.

use super::net::Op;
use crate::kernels::{same_padding, Depthwise, Shape};

/// Where the head is in the program.
pub(super) struct BoxHead {
    /// The head's [`Op::Block`] (no expansion, stride 1, no residual).
    pub op: usize,
    /// The value it reads.
    pub input: usize,
    /// The constant multiplications between the block and the output, in order.
    pub tail: Vec<usize>,
    scale: f32,
}

impl BoxHead {
    /// The chain `Block → MulC*` producing value `wh`, each step read only by the next.
    pub fn find(ops: &[Op], wh: usize, reads: &[usize]) -> Option<BoxHead> {
        let (mut v, mut tail, mut scale) = (wh, Vec::new(), 1.0);
        loop {
            let i = v.checked_sub(1)?;
            match &ops[i] {
                Op::MulC { x, c } if reads[*x] == 1 => {
                    tail.push(i);
                    scale *= c;
                    v = *x;
                }
                Op::Block { x, block }
                    if block.expand.is_none() && block.dw.stride == 1 && !block.residual =>
                {
                    tail.reverse();
                    return Some(BoxHead {
                        op: i,
                        input: *x,
                        tail,
                        scale,
                    });
                }
                _ => return None,
            }
        }
    }

    /// The head's own depthwise conv.
    pub fn dw<'a>(&self, ops: &'a [Op]) -> &'a Depthwise {
        match &ops[self.op] {
            Op::Block { block, .. } => &block.dw,
            _ => unreachable!("found as a block"),
        }
    }

    /// The 4 extents at `cell` (row-major in the grid) of one image's head input `x` (`s`),
    /// given as the depthwise weights to use (the block's own, or squeeze-excite gated).
    pub fn at(&self, ops: &[Op], dw: &Depthwise, x: &[f32], s: Shape, cell: usize) -> [f32; 4] {
        let Op::Block { block: b, .. } = &ops[self.op] else {
            unreachable!("found as a block")
        };
        let (k, c) = (dw.k, dw.bias.len());
        let (pt, _, _) = same_padding(s.h, k, 1);
        let (pl, _, _) = same_padding(s.w, k, 1);
        let (y, xx) = (cell / s.w, cell % s.w);
        let mut d = dw.bias.clone();
        for ky in 0..k {
            let Some(iy) = (y + ky).checked_sub(pt).filter(|&v| v < s.h) else {
                continue;
            };
            for kx in 0..k {
                let Some(ix) = (xx + kx).checked_sub(pl).filter(|&v| v < s.w) else {
                    continue;
                };
                let px = &x[(iy * s.w + ix) * c..][..c];
                let w = &dw.weights[(ky * k + kx) * c..][..c];
                for ((a, &p), &w) in d.iter_mut().zip(px).zip(w) {
                    *a += p * w;
                }
            }
        }
        d.iter_mut().for_each(|v| *v = b.dw_act.apply(*v));
        std::array::from_fn(|j| {
            let dot: f32 = d
                .iter()
                .enumerate()
                .map(|(p, &v)| v * b.project.at(p, j))
                .sum();
            (dot + b.project.bias_at(j)) * self.scale
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{net::DetectNet, Frame, ObjectDetector, MIN_SCORE};

    /// Extents computed at the peaks only equal the whole head's there, and the peaks are the
    /// same as decoding the whole output finds.
    #[test]
    fn extents_at_the_peaks_match_the_whole_head() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/images/table.jpg"
        );
        let img = image::open(path).unwrap().to_rgb8();
        let net = DetectNet::load().unwrap();
        let det = ObjectDetector { net, side: 320 };
        let scaled = det.scale(&img, &mut fast_image_resize::Resizer::new());
        let frame = Frame::new(img.width(), img.height(), 320);
        let mut input = crate::buf::Buf::default();
        frame.render(&scaled.unwrap(), &mut input);
        let net = det.net;
        let whole = net
            .forward(input.clone(), (frame.h, frame.w), None)
            .unwrap();
        let lazy = net
            .forward(input, (frame.h, frame.w), Some(MIN_SCORE))
            .unwrap();
        let (_, top) = lazy.top.as_ref().expect("extents at the peaks only");
        assert!(top.len() >= 3, "{top:?}");
        let want = super::super::decode::top(&whole.keypoints, whole.grid, MIN_SCORE);
        let cells = |t: &[(f32, usize)]| t.iter().map(|&(_, at)| at).collect::<Vec<_>>();
        assert_eq!(cells(top), cells(&want));
        for &(_, at) in top {
            let cell = at / super::super::net::CLASSES;
            let (a, b) = (&lazy.wh[cell * 4..][..4], &whole.wh[cell * 4..][..4]);
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-3 * y.abs().max(1.0), "{a:?} vs {b:?}");
            }
        }
        let decoded = |r| super::super::ObjectDetector::detections(r, 0);
        assert_eq!(decoded(&lazy).len(), decoded(&whole).len());
    }
}
