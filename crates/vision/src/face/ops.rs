//! BlazeFace's kernels besides the matrix products: depthwise 3x3 conv, 2x2 max pool, ReLU and
//! channel zero-padding, NHWC. The loops run over contiguous channel slices and go through
//! `pulp::Arch::dispatch`, which compiles them once more with AVX2/FMA and picks that copy at run
//! time (the same scheme as `crate::kernels`).

use pulp::{Arch, Simd, WithSimd};

use crate::kernels::{same_padding, Shape};

/// Depthwise conv with TF "SAME" padding, no bias or activation, into `out` (reused). With
/// `ones`, every output pixel gets one more channel fixed at 1.0, which carries the bias row of
/// the 1x1 conv that follows through its matrix product.
pub fn depthwise(
    x: &[f32],
    s: Shape,
    k: usize,
    stride: usize,
    w: &[f32],
    ones: bool,
    out: &mut Vec<f32>,
) -> Shape {
    let (pt, _, oh) = same_padding(s.h, k, stride);
    let (pl, _, ow) = same_padding(s.w, k, stride);
    let oc = s.c + usize::from(ones);
    out.clear();
    out.resize(s.n * oh * ow * oc, 0.0);
    Arch::new().dispatch(Dw {
        x,
        s,
        k,
        stride,
        w,
        pad: (pt, pl),
        oc,
        out,
    });
    Shape {
        h: oh,
        w: ow,
        c: oc,
        ..s
    }
}

struct Dw<'a> {
    x: &'a [f32],
    s: Shape,
    k: usize,
    stride: usize,
    w: &'a [f32],
    pad: (usize, usize),
    oc: usize,
    out: &'a mut [f32],
}

impl WithSimd for Dw<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Dw {
            x,
            s,
            k,
            stride,
            w,
            pad: (pt, pl),
            oc,
            out,
        } = self;
        let c = s.c;
        let oh = s.h.div_ceil(stride);
        let ow = out.len() / (s.n * oh * oc);
        for (n, img_out) in out.chunks_exact_mut(oh * ow * oc).enumerate() {
            let img = &x[n * s.h * s.w * c..][..s.h * s.w * c];
            for (oy, row) in img_out.chunks_exact_mut(ow * oc).enumerate() {
                for ky in 0..k {
                    let Some(iy) = (oy * stride + ky).checked_sub(pt).filter(|&y| y < s.h) else {
                        continue;
                    };
                    let src = &img[iy * s.w * c..][..s.w * c];
                    for kx in 0..k {
                        let wk = &w[(ky * k + kx) * c..][..c];
                        // Output pixels whose tap kx lands inside the row: ix = ox*stride+kx-pl.
                        let first = pl.saturating_sub(kx).div_ceil(stride);
                        let end = ((s.w + pl - kx).div_ceil(stride)).min(ow);
                        for ox in first..end {
                            let ix = ox * stride + kx - pl;
                            let acc = &mut row[ox * oc..][..c];
                            let px = &src[ix * c..][..c];
                            for ((a, &p), &wv) in acc.iter_mut().zip(px).zip(wk) {
                                *a += p * wv;
                            }
                        }
                    }
                }
                if oc > c {
                    row.chunks_exact_mut(oc).for_each(|px| px[c] = 1.0);
                }
            }
        }
    }
}

/// `x = max(x, 0)` in place.
pub fn relu(x: &mut [f32]) {
    struct Relu<'a>(&'a mut [f32]);
    impl WithSimd for Relu<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            self.0.iter_mut().for_each(|v| *v = v.max(0.0));
        }
    }
    Arch::new().dispatch(Relu(x));
}

/// 2x2 max pool, stride 2 (even sides in this network), into `out` (reused).
pub fn max_pool(x: &[f32], s: Shape, out: &mut Vec<f32>) -> Shape {
    let (oh, ow, c) = (s.h / 2, s.w / 2, s.c);
    out.clear();
    out.resize(s.n * oh * ow * c, f32::NEG_INFINITY);
    for (i, o) in out.chunks_exact_mut(c).enumerate() {
        let (n, oy, ox) = (i / (oh * ow), i / ow % oh, i % ow);
        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let at = ((n * s.h + 2 * oy + dy) * s.w + 2 * ox + dx) * c;
            o.iter_mut()
                .zip(&x[at..at + c])
                .for_each(|(m, &v)| *m = m.max(v));
        }
    }
    Shape { h: oh, w: ow, ..s }
}

/// Zero-pads every pixel's channels from `s.c` to `c`, into `out` (reused).
pub fn pad_channels(x: &[f32], s: Shape, c: usize, out: &mut Vec<f32>) -> Shape {
    out.clear();
    out.resize(x.len() / s.c * c, 0.0);
    for (d, px) in out.chunks_exact_mut(c).zip(x.chunks_exact(s.c)) {
        d[..s.c].copy_from_slice(px);
    }
    Shape { c, ..s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depthwise_matches_the_naive_definition() {
        let s = Shape {
            n: 2,
            h: 6,
            w: 7,
            c: 11,
        };
        let x: Vec<f32> = (0..s.n * s.h * s.w * s.c)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.3)
            .collect();
        let k = 3;
        let w: Vec<f32> = (0..k * k * s.c)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.25)
            .collect();
        for (stride, ones) in [(1, false), (2, true)] {
            let mut out = vec![f32::NAN; 7];
            let o = depthwise(&x, s, k, stride, &w, ones, &mut out);
            let (pt, _, oh) = same_padding(s.h, k, stride);
            let (pl, _, ow) = same_padding(s.w, k, stride);
            assert_eq!((o.h, o.w, o.c), (oh, ow, s.c + usize::from(ones)));
            for (i, px) in out.chunks_exact(o.c).enumerate() {
                let (n, oy, ox) = (i / (oh * ow), i / ow % oh, i % ow);
                for ch in 0..s.c {
                    let mut want = 0.0;
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (oy * stride + ky) as isize - pt as isize;
                            let ix = (ox * stride + kx) as isize - pl as isize;
                            if (0..s.h as isize).contains(&iy) && (0..s.w as isize).contains(&ix) {
                                let at = ((n * s.h + iy as usize) * s.w + ix as usize) * s.c + ch;
                                want += x[at] * w[(ky * k + kx) * s.c + ch];
                            }
                        }
                    }
                    assert!((px[ch] - want).abs() < 1e-5, "s{stride} {i}/{ch}");
                }
                if ones {
                    assert_eq!(px[s.c], 1.0);
                }
            }
        }
    }
}
