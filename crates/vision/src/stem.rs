//! The first convolution of the object and face detectors (k x k, stride 2, over the 3 colour
//! channels) computed directly from the image: each output pixel's k taps rows are k runs of
//! `k x 3` contiguous floats in the input, which the product's register tile reads in place. An
//! im2col copy of every patch (28 floats per output pixel at 3x3, a memcpy per tap row) cost
//! more than the product itself. Patches that reach into the padding (the map's border) still go
//! through im2col rows. Same products in the same order as im2col + matrix product: the same
//! results to the bit.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::buf::Floats;
use crate::gemm::{sweep, Epilogue, Packed, Tile, TileRows};
use crate::kernels::{im2col_pixels, same_padding, Shape};

/// Output rows per parallel task.
const BAND_ROWS: usize = 16;

/// The stem conv (`w`: the im2col rows' weights in (ky, kx, channel) order, bias as the last
/// row) plus `epi`.
pub fn stem_conv(
    input: &[f32],
    s: Shape,
    (k, stride): (usize, usize),
    w: &Packed,
    epi: Epilogue<'_>,
    out: &mut impl Floats,
) -> Shape {
    let (_, _, oh) = same_padding(s.h, k, stride);
    let (_, _, ow) = same_padding(s.w, k, stride);
    debug_assert_eq!(w.k, k * k * s.c + 1);
    out.resize_to_write(s.n * oh * ow * w.n);
    let arch = Arch::new();
    out.par_chunks_mut(BAND_ROWS * ow * w.n)
        .enumerate()
        .for_each_init(Vec::new, |edge, (b, o)| {
            for (i, row) in o.chunks_exact_mut(ow * w.n).enumerate() {
                let r = b * BAND_ROWS + i;
                arch.dispatch(Row {
                    input,
                    s,
                    k,
                    stride,
                    r,
                    w,
                    epi,
                    out: row,
                    edge,
                });
            }
        });
    Shape {
        n: s.n,
        h: oh,
        w: ow,
        c: w.n,
    }
}

/// Flat output row `r` (image `r / oh`, row `r % oh`) into `out`.
struct Row<'a> {
    input: &'a [f32],
    s: Shape,
    k: usize,
    stride: usize,
    r: usize,
    w: &'a Packed,
    epi: Epilogue<'a>,
    out: &'a mut [f32],
    /// im2col rows of the border pixels.
    edge: &'a mut Vec<f32>,
}

impl WithSimd for Row<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Row {
            input,
            s,
            k,
            stride,
            r,
            w,
            epi,
            out,
            edge,
        } = self;
        let (pt, _, oh) = same_padding(s.h, k, stride);
        let (pl, _, ow) = same_padding(s.w, k, stride);
        let (n, oy) = (r / oh, r % oh);
        let img = &input[n * s.h * s.w * s.c..][..s.h * s.w * s.c];
        // Output pixels whose taps all lie inside the image, horizontally: [lo, hi).
        let lo = pl.div_ceil(stride);
        let hi = (s.w + pl)
            .checked_sub(k)
            .map_or(0, |x| (x / stride + 1).min(ow));
        let top = (oy * stride).checked_sub(pt).filter(|&y| y + k <= s.h);
        let (lo, hi) = match top {
            Some(_) if lo < hi => (lo, hi),
            _ => (ow, ow),
        };
        // The border pixels through im2col.
        for (x0, x1) in [(0, lo), (hi, ow)].into_iter().filter(|(a, b)| a < b) {
            edge.resize((x1 - x0) * w.k, 0.0);
            im2col_pixels(input, s, (k, stride), (r, x0), edge);
            w.gemm(Arch::new(), edge, &mut out[x0 * w.n..x1 * w.n], epi);
        }
        let Some(top) = top.filter(|_| lo < hi) else {
            return;
        };
        let mut t = Tile::new(simd, w, &[], out, epi);
        let conv = Patches {
            img,
            kc: k * s.c,
            taps: k,
            row_step: s.w * s.c,
            first: (top * s.w + lo * stride - pl) * s.c,
            step: stride * s.c,
            lo,
        };
        for (j, panel) in w.panels().enumerate() {
            sweep(&mut t, &conv, panel, j, (lo, hi));
        }
    }
}

/// Where the patches of one output row's inner pixels are: pixel `x`'s tap row `ky` is
/// `img[first + (x - lo) * step + ky * row_step..][..kc]`.
struct Patches<'a> {
    img: &'a [f32],
    kc: usize,
    taps: usize,
    row_step: usize,
    first: usize,
    step: usize,
    lo: usize,
}

impl<S: Simd> TileRows<S> for Patches<'_> {
    /// Pixels `x..x + R` against panel `j`, its first `V` vectors of columns.
    #[inline(always)]
    fn tile<const R: usize, const V: usize>(
        &self,
        t: &mut Tile<'_, S>,
        panel: &[f32],
        x: usize,
        j: usize,
    ) {
        let s = t.simd();
        let (b, _) = S::as_simd_f32s(panel);
        let zero = s.splat_f32s(0.0);
        let mut acc = [[zero; 2]; R];
        for ky in 0..self.taps {
            let rows: [&[f32]; R] = std::array::from_fn(|i| {
                &self.img[self.first + (x - self.lo + i) * self.step + ky * self.row_step..]
                    [..self.kc]
            });
            let b = &b[2 * ky * self.kc..][..2 * self.kc];
            for p in 0..self.kc {
                for i in 0..R {
                    let av = s.splat_f32s(rows[i][p]);
                    for v in 0..V {
                        acc[i][v] = s.mul_add_e_f32s(av, b[2 * p + v], acc[i][v]);
                    }
                }
            }
        }
        // The bias row, times the 1.0 an im2col row ends with.
        let (one, last) = (s.splat_f32s(1.0), 2 * self.taps * self.kc);
        for a in acc.iter_mut() {
            for v in 0..V {
                a[v] = s.mul_add_e_f32s(one, b[last + v], a[v]);
            }
        }
        t.finish(&mut acc, x, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::pointwise;
    use crate::kernels::stem_im2col;

    /// The direct conv gives exactly im2col + product, across band and image boundaries, at
    /// 3x3 and 5x5, for 16 output channels (half panels on AVX-512) and 24 (a panel and a half),
    /// on odd and even sizes (the padding falls on other sides).
    #[test]
    fn matches_im2col_then_product() {
        for (k, h, w, cout) in [
            (3, 73, 150, 16),
            (5, 20, 33, 24),
            (3, 8, 9, 24),
            (5, 4, 5, 16),
        ] {
            let s = Shape { n: 2, h, w, c: 3 };
            let x: Vec<f32> = (0..s.n * s.h * s.w * s.c)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let rows = k * k * 3 + 1;
            let wts: Vec<f32> = (0..rows * cout)
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0)
                .collect();
            let packed = Packed::new(&wts, rows, cout, None);
            let mut cols = Vec::new();
            let cs = stem_im2col(&x, s, k, 2, &mut cols);
            let mut want = Vec::new();
            pointwise(&cols, &packed, &mut want, Epilogue::BiasRelu).unwrap();
            let mut got = vec![f32::NAN; 3];
            let gs = stem_conv(&x, s, (k, 2), &packed, Epilogue::BiasRelu, &mut got);
            assert_eq!((gs.n, gs.h, gs.w, gs.c), (cs.n, cs.h, cs.w, cout));
            assert_eq!(got, want, "k {k}, {h}x{w}, {cout} channels");
        }
    }
}
