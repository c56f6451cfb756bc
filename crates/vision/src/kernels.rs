//! Hand-written CPU kernels in NHWC layout: TF "SAME" padding, the stem's im2col, the depthwise
//! convolution and small fused element-wise passes. Safe Rust written so that the inner loops run
//! over contiguous channel slices, which the compiler vectorises; the hot loops go through
//! `pulp::Arch::dispatch`, which compiles them once more with AVX2/FMA enabled and picks that copy
//! at run time when the CPU has it (the binary itself stays baseline x86-64).

use pulp::{Arch, Simd, WithSimd};

use crate::dw_row::DwRow;
use rayon::prelude::*;

/// TF "SAME" padding of one spatial dimension: `(before, after, output size)`. Uneven on stride 2
/// (TF pads the extra pixel after), which PyTorch's symmetric padding would get wrong.
pub fn same_padding(size: usize, k: usize, stride: usize) -> (usize, usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + k).saturating_sub(size);
    (total / 2, total - total / 2, out)
}

#[inline]
pub(crate) fn relu6(v: f32) -> f32 {
    v.clamp(0.0, 6.0)
}

/// Geometry of a batch of NHWC feature maps.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Images in the batch.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

/// im2col for the 3x3 stride-2 stem over a 3-channel input: one row per output pixel holding the
/// 27 patch values in (ky, kx, channel) order plus a trailing 1.0 that multiplies the bias row of
/// the weight matrix.
pub fn stem_im2col(input: &[f32], s: Shape, k: usize, stride: usize, cols: &mut Vec<f32>) -> Shape {
    let (_, _, oh) = same_padding(s.h, k, stride);
    let (_, _, ow) = same_padding(s.w, k, stride);
    let row = k * k * s.c + 1;
    cols.resize(s.n * oh * ow * row, 0.0);
    cols.par_chunks_mut(ow * row)
        .enumerate()
        .for_each(|(r, out_row)| im2col_row(input, s, k, stride, r, out_row));
    Shape {
        n: s.n,
        h: oh,
        w: ow,
        c: row,
    }
}

/// Flat output row `r` (image `r / oh`, row `r % oh`) of the stem's im2col into `out_row`.
pub(crate) fn im2col_row(
    input: &[f32],
    s: Shape,
    k: usize,
    stride: usize,
    r: usize,
    out_row: &mut [f32],
) {
    im2col_pixels(input, s, (k, stride), (r, 0), out_row);
}

/// The im2col rows of output row `r`'s pixels from `first` on, as many as `out` holds.
pub(crate) fn im2col_pixels(
    input: &[f32],
    s: Shape,
    (k, stride): (usize, usize),
    (r, first): (usize, usize),
    out: &mut [f32],
) {
    let (pt, _, oh) = same_padding(s.h, k, stride);
    let (pl, _, _) = same_padding(s.w, k, stride);
    let row = k * k * s.c + 1;
    let (n, oy) = (r / oh, r % oh);
    let img = &input[n * s.h * s.w * s.c..(n + 1) * s.h * s.w * s.c];
    for (ox, dst) in (first..).zip(out.chunks_exact_mut(row)) {
        for ky in 0..k {
            let iy = (oy * stride + ky).checked_sub(pt).filter(|&y| y < s.h);
            // Away from the left and right edges a tap row is k whole pixels, contiguous in
            // the input as in the output: one copy instead of k.
            let x0 = (ox * stride).checked_sub(pl).filter(|&x| x + k <= s.w);
            if let (Some(iy), Some(x0)) = (iy, x0) {
                dst[ky * k * s.c..][..k * s.c]
                    .copy_from_slice(&img[(iy * s.w + x0) * s.c..][..k * s.c]);
                continue;
            }
            for kx in 0..k {
                let ix = (ox * stride + kx).checked_sub(pl).filter(|&x| x < s.w);
                let tap = &mut dst[(ky * k + kx) * s.c..][..s.c];
                // The buffer is reused: padding taps must be written as zeros. An element loop,
                // not `copy_from_slice`: 3 floats do not pay for a memcpy.
                match (iy, ix) {
                    (Some(iy), Some(ix)) => {
                        let src = &img[(iy * s.w + ix) * s.c..][..s.c];
                        tap.iter_mut().zip(src).for_each(|(d, &v)| *d = v);
                    }
                    _ => tap.iter_mut().for_each(|d| *d = 0.0),
                }
            }
        }
        dst[row - 1] = 1.0;
    }
}

/// Depthwise convolution parameters with batch norm already folded in.
#[derive(Debug)]
pub struct Depthwise {
    /// Kernel side.
    pub k: usize,
    /// Stride (1 or 2).
    pub stride: usize,
    /// Weights in `[ky][kx][channel]` order.
    pub weights: Vec<f32>,
    /// Per-channel bias.
    pub bias: Vec<f32>,
}

impl Depthwise {
    /// `relu6(dw(relu6(x)) + bias)` for a batch, layer at a time (the narrow late maps; wide
    /// maps go through [`crate::block`]). The activation of the input (the stem's raw output; a
    /// no-op after an expansion conv, which already applied it) happens while copying into a
    /// zero-padded buffer, so the inner loop has no bounds checks for borders. The output gets one
    /// extra channel fixed at 1.0 that carries the bias of the following 1x1 projection through
    /// the matrix product. `padded` and `out` are reused buffers; `out` receives `[pixels, C + 1]`.
    pub fn forward(&self, x: &[f32], s: Shape, padded: &mut Vec<f32>, out: &mut Vec<f32>) -> Shape {
        let arch = Arch::new();
        let c = s.c;
        debug_assert_eq!(self.bias.len(), c);
        let (pt, pb, oh) = same_padding(s.h, self.k, self.stride);
        let (pl, pr, ow) = same_padding(s.w, self.k, self.stride);
        let (hp, wp) = (s.h + pt + pb, s.w + pl + pr);
        padded.resize(s.n * hp * wp * c, 0.0);
        padded
            .par_chunks_mut(wp * c)
            .enumerate()
            .for_each(|(r, prow)| {
                let (n, py) = (r / hp, r % hp);
                // The buffer is reused, so borders are re-zeroed here rather than by a memset.
                let Some(iy) = py.checked_sub(pt).filter(|&y| y < s.h) else {
                    prow.fill(0.0);
                    return;
                };
                prow[..pl * c].fill(0.0);
                prow[(pl + s.w) * c..].fill(0.0);
                let src = &x[((n * s.h + iy) * s.w) * c..][..s.w * c];
                relu6_copy(arch, src, &mut prow[pl * c..][..s.w * c]);
            });
        let oc = c + 1;
        out.resize(s.n * oh * ow * oc, 0.0);
        let padded = &*padded;
        out.par_chunks_mut(ow * oc)
            .enumerate()
            .for_each(|(r, orow)| {
                let (n, oy) = (r / oh, r % oh);
                let first = n * hp + oy * self.stride;
                let rows: [&[f32]; MAX_K] = std::array::from_fn(|ky| match ky < self.k {
                    true => &padded[(first + ky) * wp * c..][..wp * c],
                    false => &[][..],
                });
                self.row(arch, &rows, c, orow);
            });
        Shape {
            n: s.n,
            h: oh,
            w: ow,
            c: oc,
        }
    }

    /// One output row: `rows[ky]` are the `k` zero-padded, activated input rows it reads (`c`
    /// channels per pixel); `orow` gets `C + 1` values per pixel, the last one 1.0.
    pub fn row(&self, arch: Arch, rows: &[&[f32]; MAX_K], c: usize, orow: &mut [f32]) {
        arch.dispatch(DwRow {
            dw: self,
            rows,
            c,
            orow,
        });
    }
}

/// An activation applied on the registers before a store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    None,
    Relu,
    /// MobileNetV3's hard swish `(x * c) * relu6(x + 3)` (`c` = 1/6), in the graph's order.
    HSwish(f32),
}

impl Act {
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Act::None => v,
            Act::Relu => v.max(0.0),
            Act::HSwish(c) => (v * c) * (v + 3.0).clamp(0.0, 6.0),
        }
    }
}

/// Largest depthwise kernel side.
pub const MAX_K: usize = 5;

/// Floats in the widest SIMD vector this CPU runs with (`pulp`'s dispatch: 16 with AVX-512, 8
/// with AVX2).
pub fn f32_lanes() -> usize {
    struct Lanes;
    impl WithSimd for Lanes {
        type Output = usize;
        fn with_simd<S: Simd>(self, _: S) -> usize {
            S::F32_LANES
        }
    }
    Arch::new().dispatch(Lanes)
}

/// `dst = relu6(src)`, compiled for the best instruction set available at run time.
pub fn relu6_copy(arch: Arch, src: &[f32], dst: &mut [f32]) {
    arch.dispatch(Relu6 { src, dst });
}

/// `dst = relu6(src)` for one row of pixels, compiled for the best instruction set available at
/// run time (see [`Arch::dispatch`]).
struct Relu6<'a> {
    src: &'a [f32],
    dst: &'a mut [f32],
}

impl WithSimd for Relu6<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        for (d, &v) in self.dst.iter_mut().zip(self.src) {
            *d = relu6(v);
        }
    }
}

/// Global average pool per image; each output row ends with a 1.0 for the classifier's bias row.
pub fn pool_mean(x: &[f32], s: Shape) -> Vec<f32> {
    let hw = s.h * s.w;
    let mut out = vec![0.0f32; s.n * (s.c + 1)];
    out.par_chunks_mut(s.c + 1)
        .enumerate()
        .for_each(|(n, dst)| {
            let img = &x[n * hw * s.c..][..hw * s.c];
            for px in img.chunks_exact(s.c) {
                for (d, &v) in dst.iter_mut().zip(px) {
                    *d += v;
                }
            }
            let inv = 1.0 / hw as f32;
            dst[..s.c].iter_mut().for_each(|v| *v *= inv);
            dst[s.c] = 1.0;
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every im2col entry is its tap's input pixel (zero in the padding), whether the row was
    /// copied whole or tap by tap: edges, odd sizes, 3x3 and 5x5.
    #[test]
    fn im2col_rows_hold_each_taps_pixel() {
        for (k, h, w) in [(3, 9, 11), (5, 10, 7), (3, 4, 4)] {
            let s = Shape { n: 2, h, w, c: 3 };
            let x: Vec<f32> = (0..s.n * h * w * 3).map(|i| i as f32 + 1.0).collect();
            let mut cols = Vec::new();
            let cs = stem_im2col(&x, s, k, 2, &mut cols);
            let (pt, _, _) = same_padding(h, k, 2);
            let (pl, _, _) = same_padding(w, k, 2);
            let row = k * k * 3 + 1;
            for (r, taps) in cols.chunks_exact(row).enumerate() {
                let (img, oy, ox) = (r / (cs.h * cs.w), r / cs.w % cs.h, r % cs.w);
                for (t, &got) in taps[..row - 1].iter().enumerate() {
                    let (ky, kx, ch) = (t / 3 / k, t / 3 % k, t % 3);
                    let iy = (oy * 2 + ky).checked_sub(pt).filter(|&y| y < h);
                    let ix = (ox * 2 + kx).checked_sub(pl).filter(|&x| x < w);
                    let want = match (iy, ix) {
                        (Some(iy), Some(ix)) => x[((img * h + iy) * w + ix) * 3 + ch],
                        _ => 0.0,
                    };
                    assert_eq!(got, want, "k {k}, {h}x{w}, row {r}, tap {t}");
                }
                assert_eq!(taps[row - 1], 1.0, "the bias column");
            }
        }
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        assert_eq!(same_padding(224, 3, 2), (0, 1, 112));
        assert_eq!(same_padding(56, 5, 2), (1, 2, 28));
        assert_eq!(same_padding(14, 3, 1), (1, 1, 14));
        assert_eq!(same_padding(7, 5, 1), (2, 2, 7));
        assert_eq!(same_padding(14, 1, 1), (0, 0, 14));
    }

    /// Direct (naive) depthwise convolution to check the optimised loop order against.
    #[test]
    fn depthwise_matches_naive_definition() {
        let s = Shape {
            n: 2,
            h: 7,
            w: 6,
            // 32 + 8 + 5: exercises the 32-wide, 8-wide and single-channel blocks.
            c: 45,
        };
        let x: Vec<f32> = (0..s.n * s.h * s.w * s.c)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.3)
            .collect();
        for (k, stride) in [(3, 1), (3, 2), (5, 1), (5, 2)] {
            let dw = Depthwise {
                k,
                stride,
                weights: (0..k * k * s.c)
                    .map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.25)
                    .collect(),
                bias: (0..s.c).map(|i| (i % 5) as f32 * 0.25 - 0.5).collect(),
            };
            // Dirty reused buffers must not leak into the result.
            let (mut padded, mut out) = (vec![f32::NAN; 10_000], vec![f32::NAN; 10]);
            let o = dw.forward(&x, s, &mut padded, &mut out);
            let (pt, _, oh) = same_padding(s.h, k, stride);
            let (pl, _, ow) = same_padding(s.w, k, stride);
            assert_eq!((o.h, o.w, o.c), (oh, ow, s.c + 1));
            for n in 0..s.n {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..s.c {
                            let mut acc = dw.bias[ch];
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * stride + ky) as isize - pt as isize;
                                    let ix = (ox * stride + kx) as isize - pl as isize;
                                    if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize
                                    {
                                        continue;
                                    }
                                    let v =
                                        x[((n * s.h + iy as usize) * s.w + ix as usize) * s.c + ch];
                                    acc += relu6(v) * dw.weights[(ky * k + kx) * s.c + ch];
                                }
                            }
                            let got = out[((n * oh + oy) * ow + ox) * o.c + ch];
                            assert!(
                                (got - relu6(acc)).abs() < 1e-5,
                                "k{k} s{stride}: {got} vs {acc}"
                            );
                        }
                        assert_eq!(out[((n * oh + oy) * ow + ox) * o.c + s.c], 1.0);
                    }
                }
            }
        }
    }
}
