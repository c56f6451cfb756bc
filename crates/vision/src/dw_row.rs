//! The depthwise convolution's inner kernel: one output row, compiled per instruction set and
//! picked at run time through `pulp`. A register tile is `Q` neighbouring output pixels x one SIMD
//! vector of channels, so each weight vector loaded serves `Q` multiply-adds (one pixel at a time
//! needs two loads per multiply-add and is bound by the load ports).

use pulp::{Simd, WithSimd};

use crate::kernels::{relu6, Depthwise, MAX_K};

/// Output pixels per register tile.
const Q: usize = 4;

pub(crate) struct DwRow<'a> {
    pub dw: &'a Depthwise,
    /// The `k` zero-padded, activated input rows this output row reads.
    pub rows: &'a [&'a [f32]; MAX_K],
    /// Channels per input pixel; output pixels have `c + 1` (the last is 1.0).
    pub c: usize,
    pub orow: &'a mut [f32],
}

#[inline(always)]
fn load<S: Simd>(x: &[f32]) -> S::f32s {
    S::as_simd_f32s(&x[..S::F32_LANES]).0[0]
}

impl WithSimd for DwRow<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(mut self, s: S) {
        // Kernel side and stride as constants, so the tap loops unroll into registers.
        match (self.dw.k, self.dw.stride) {
            (3, 1) => self.tiles::<S, 3, 1>(s),
            (3, 2) => self.tiles::<S, 3, 2>(s),
            (5, 1) => self.tiles::<S, 5, 1>(s),
            (5, 2) => self.tiles::<S, 5, 2>(s),
            _ => {}
        }
        self.scalar_rest(S::F32_LANES);
    }
}

impl DwRow<'_> {
    #[inline(always)]
    fn tiles<S: Simd, const K: usize, const ST: usize>(&mut self, s: S) {
        let ow = self.orow.len() / (self.c + 1);
        let mut ox = 0;
        while ox + Q <= ow {
            self.tile::<S, Q, K, ST>(s, ox);
            ox += Q;
        }
        while ox < ow {
            self.tile::<S, 1, K, ST>(s, ox);
            ox += 1;
        }
    }

    /// Output pixels `ox..ox + R`, every whole vector of channels.
    #[inline(always)]
    fn tile<S: Simd, const R: usize, const K: usize, const ST: usize>(&mut self, s: S, ox: usize) {
        let (dw, c, lanes) = (self.dw, self.c, S::F32_LANES);
        let oc = c + 1;
        let (zero, six) = (s.splat_f32s(0.0), s.splat_f32s(6.0));
        // Input pixels the R outputs read along one row: (R - 1) * ST + K (at most 11).
        let span = (R - 1) * ST + K;
        for cb in (0..c / lanes * lanes).step_by(lanes) {
            let mut acc = [load::<S>(&dw.bias[cb..]); R];
            for ky in 0..K {
                let row = &self.rows[ky][ox * ST * c + cb..];
                let mut xs = [zero; 16];
                for (j, x) in xs.iter_mut().take(span).enumerate() {
                    *x = load::<S>(&row[j * c..]);
                }
                for kx in 0..K {
                    let w = load::<S>(&dw.weights[(ky * K + kx) * c + cb..]);
                    for (q, a) in acc.iter_mut().enumerate() {
                        *a = s.mul_add_e_f32s(xs[q * ST + kx], w, *a);
                    }
                }
            }
            for (q, a) in acc.into_iter().enumerate() {
                let v = s.min_f32s(s.max_f32s(a, zero), six);
                let dst = &mut self.orow[(ox + q) * oc + cb..][..lanes];
                S::as_mut_simd_f32s(dst).0[0] = v;
            }
        }
    }

    /// Channels that do not fill a vector (none in EfficientNet-Lite, every channel for other
    /// kernel sizes), and the trailing 1.0 of every pixel.
    fn scalar_rest(&mut self, lanes: usize) {
        let (c, k, stride) = (self.c, self.dw.k, self.dw.stride);
        let done = match (k, stride) {
            (3 | 5, 1 | 2) => c / lanes * lanes,
            _ => 0,
        };
        for (ox, px) in self.orow.chunks_exact_mut(c + 1).enumerate() {
            for ch in done..c {
                let mut acc = self.dw.bias[ch];
                for (ky, row) in self.rows.iter().take(k).enumerate() {
                    for kx in 0..k {
                        let w = self.dw.weights[(ky * k + kx) * c + ch];
                        acc += row[(ox * stride + kx) * c + ch] * w;
                    }
                }
                px[ch] = relu6(acc);
            }
            px[c] = 1.0;
        }
    }
}
