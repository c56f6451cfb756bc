//! The detector's depthwise k x k conv (TF "SAME" padding) + bias + activation, NHWC, one output
//! row per task. Borders are handled by skipping taps, so the input is read in place (no padded
//! copy of multi-megabyte maps). Per vector of channels the k x k weights are loaded once and the
//! whole row of output pixels is swept with them: one input load per multiply-add. Channels that
//! do not fill a vector run in a masked one. Compiled per instruction set through `pulp`.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::kernels::{same_padding, Act, Depthwise, Shape, MAX_K};

/// `act(dw(x) + bias)` into `out` (reused); returns the output shape.
pub fn depthwise(x: &[f32], s: Shape, dw: &Depthwise, act: Act, out: &mut Vec<f32>) -> Shape {
    let (pt, _, oh) = same_padding(s.h, dw.k, dw.stride);
    let (pl, _, ow) = same_padding(s.w, dw.k, dw.stride);
    let c = s.c;
    out.resize(s.n * oh * ow * c, 0.0);
    let arch = Arch::new();
    out.par_chunks_mut(ow * c)
        .enumerate()
        .for_each(|(r, orow)| {
            let (n, oy) = (r / oh, r % oh);
            let img = &x[n * s.h * s.w * c..][..s.h * s.w * c];
            let rows = std::array::from_fn(|ky| {
                (oy * dw.stride + ky)
                    .checked_sub(pt)
                    .filter(|&y| y < s.h && ky < dw.k)
                    .map(|y| &img[y * s.w * c..][..s.w * c])
            });
            row(arch, rows, (s.w, pl), dw, act, orow);
        });
    Shape { h: oh, w: ow, ..s }
}

/// One output row `orow` from the `k` input rows it reads (`None` above or below the map), each
/// `w` pixels of the layer's channels wide, with `pl` pixels of left padding.
pub(super) fn row(
    arch: Arch,
    rows: [Option<&[f32]>; MAX_K],
    (w, pl): (usize, usize),
    dw: &Depthwise,
    act: Act,
    orow: &mut [f32],
) {
    arch.dispatch(Row {
        rows,
        w,
        c: dw.bias.len(),
        pl,
        dw,
        act,
        orow,
    });
}

struct Row<'a> {
    /// The k input rows the output row reads (`None` above or below the map).
    rows: [Option<&'a [f32]>; MAX_K],
    /// Input width and channels, left padding.
    w: usize,
    c: usize,
    pl: usize,
    dw: &'a Depthwise,
    act: Act,
    orow: &'a mut [f32],
}

impl WithSimd for Row<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        match (self.dw.k, self.dw.stride) {
            // Pixels per tile: as many as keep the row's input vectors, the accumulators and a
            // weight within AVX2's 16 registers.
            (3, 1) => self.sweep::<S, 3, 1, 6>(s),
            (3, 2) => self.sweep::<S, 3, 2, 4>(s),
            (5, 1) => self.sweep::<S, 5, 1, 4>(s),
            (5, 2) => self.sweep::<S, 5, 2, 3>(s),
            _ => self.scalar(0),
        }
    }
}

#[inline(always)]
fn activate<S: Simd>(
    s: S,
    act: Act,
    v: S::f32s,
    zero: S::f32s,
    three: S::f32s,
    six: S::f32s,
) -> S::f32s {
    match act {
        Act::None => v,
        Act::Relu => s.max_f32s(v, zero),
        Act::HSwish(k) => {
            let gate = s.min_f32s(s.max_f32s(s.add_f32s(v, three), zero), six);
            s.mul_f32s(s.mul_f32s(v, s.splat_f32s(k)), gate)
        }
    }
}

/// `n` channels from `x` as one vector: a plain load when `n` fills it (`TAIL` false), else a
/// masked one (zeros past `n`), so channel counts that do not fill a vector (24 or 72 on
/// AVX-512's 16 lanes) still run in vectors, and never read past the row.
#[inline(always)]
fn load<S: Simd, const TAIL: bool>(s: S, x: &[f32], n: usize) -> S::f32s {
    if TAIL {
        s.partial_load_f32s(&x[..n])
    } else {
        S::as_simd_f32s(&x[..S::F32_LANES]).0[0]
    }
}

/// The store matching [`load`].
#[inline(always)]
fn store<S: Simd, const TAIL: bool>(s: S, x: &mut [f32], n: usize, v: S::f32s) {
    if TAIL {
        s.partial_store_f32s(&mut x[..n], v);
    } else {
        S::as_mut_simd_f32s(&mut x[..S::F32_LANES]).0[0] = v;
    }
}

impl Row<'_> {
    #[inline(always)]
    fn sweep<S: Simd, const K: usize, const ST: usize, const Q: usize>(mut self, s: S) {
        let (c, lanes) = (self.c, S::F32_LANES);
        let whole = c / lanes * lanes;
        for cb in (0..whole).step_by(lanes) {
            self.channels::<S, K, ST, Q, false>(s, cb, lanes);
        }
        if whole < c {
            self.channels::<S, K, ST, Q, true>(s, whole, c - whole);
        }
    }

    /// Channels `cb..cb + n` of the whole output row (`n` < lanes only when `TAIL`).
    #[inline(always)]
    fn channels<S: Simd, const K: usize, const ST: usize, const Q: usize, const TAIL: bool>(
        &mut self,
        s: S,
        cb: usize,
        n: usize,
    ) {
        let c = self.c;
        let ow = self.orow.len() / c;
        let (zero, six, three) = (s.splat_f32s(0.0), s.splat_f32s(6.0), s.splat_f32s(3.0));
        // Output pixels whose taps all fall inside the row: no per-tap checks there.
        let first = self.pl.div_ceil(ST);
        let end = (self.w + self.pl)
            .checked_sub(K)
            .map_or(0, |v| v / ST + 1)
            .min(ow)
            .max(first);
        let mut wv = [[zero; K]; K];
        for (ky, row) in wv.iter_mut().enumerate() {
            for (kx, v) in row.iter_mut().enumerate() {
                *v = load::<S, TAIL>(s, &self.dw.weights[(ky * K + kx) * c + cb..], n);
            }
        }
        let bias = load::<S, TAIL>(s, &self.dw.bias[cb..], n);
        for ox in (0..first).chain(end..ow) {
            let acc = self.pixel::<S, K, ST, true, TAIL>(s, &wv, bias, ox, (cb, n));
            let v = activate(s, self.act, acc, zero, three, six);
            store::<S, TAIL>(s, &mut self.orow[ox * c + cb..], n, v);
        }
        // Q pixels at a time: Q independent multiply-add chains instead of one, which
        // would wait on each add's latency.
        let mut ox = first;
        while ox + Q <= end {
            let acc = self.pixels::<S, K, ST, Q, TAIL>(s, &wv, bias, ox, (cb, n));
            for (q, a) in acc.into_iter().enumerate() {
                let v = activate(s, self.act, a, zero, three, six);
                store::<S, TAIL>(s, &mut self.orow[(ox + q) * c + cb..], n, v);
            }
            ox += Q;
        }
        for ox in ox..end {
            let acc = self.pixel::<S, K, ST, false, TAIL>(s, &wv, bias, ox, (cb, n));
            let v = activate(s, self.act, acc, zero, three, six);
            store::<S, TAIL>(s, &mut self.orow[ox * c + cb..], n, v);
        }
    }

    /// `bias + sum of taps` for output pixel `ox`, channels `cb..cb + n`; `CHECKED` skips
    /// taps left or right of the map.
    #[inline(always)]
    fn pixel<S: Simd, const K: usize, const ST: usize, const CHECKED: bool, const TAIL: bool>(
        &self,
        s: S,
        wv: &[[S::f32s; K]; K],
        bias: S::f32s,
        ox: usize,
        (cb, n): (usize, usize),
    ) -> S::f32s {
        let mut acc = bias;
        for (row, wk) in self.rows.iter().zip(wv) {
            let Some(row) = row else { continue };
            for (kx, w) in wk.iter().enumerate() {
                let ix = (ox * ST + kx).wrapping_sub(self.pl);
                if CHECKED && ix >= self.w {
                    continue;
                }
                acc = s.mul_add_e_f32s(load::<S, TAIL>(s, &row[ix * self.c + cb..], n), *w, acc);
            }
        }
        acc
    }

    /// [`Row::pixel`] for the `R` interior pixels from `ox`, side by side. Each input vector of
    /// a row is loaded once and serves every tap that reads it (up to `K` of them).
    #[inline(always)]
    fn pixels<S: Simd, const K: usize, const ST: usize, const R: usize, const TAIL: bool>(
        &self,
        s: S,
        wv: &[[S::f32s; K]; K],
        bias: S::f32s,
        ox: usize,
        (cb, n): (usize, usize),
    ) -> [S::f32s; R] {
        let mut acc = [bias; R];
        let span = (R - 1) * ST + K;
        for (row, wk) in self.rows.iter().zip(wv) {
            let Some(row) = row else { continue };
            let base = &row[(ox * ST - self.pl) * self.c + cb..];
            let mut xs = [bias; 16];
            for (j, x) in xs.iter_mut().take(span).enumerate() {
                *x = load::<S, TAIL>(s, &base[j * self.c..], n);
            }
            for (kx, w) in wk.iter().enumerate() {
                for (q, a) in acc.iter_mut().enumerate() {
                    *a = s.mul_add_e_f32s(xs[q * ST + kx], *w, *a);
                }
            }
        }
        acc
    }

    /// Channels `from..c`, one at a time.
    fn scalar(self, from: usize) {
        let (c, k, st) = (self.c, self.dw.k, self.dw.stride);
        for (ox, px) in self.orow.chunks_exact_mut(c).enumerate() {
            for (ch, o) in px.iter_mut().enumerate().skip(from) {
                let mut acc = self.dw.bias[ch];
                for (ky, row) in self.rows.iter().take(k).enumerate() {
                    let Some(row) = row else { continue };
                    for kx in 0..k {
                        let ix = (ox * st + kx).wrapping_sub(self.pl);
                        if ix < self.w {
                            acc += row[ix * c + ch] * self.dw.weights[(ky * k + kx) * c + ch];
                        }
                    }
                }
                *o = self.act.apply(acc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel against the plain loop of `ops::depthwise` (the definition) on every kernel
    /// size and stride the network uses, odd channel counts and both parities of width; each
    /// map is wide enough for at least one whole interior tile.
    #[test]
    fn matches_the_plain_loop() {
        for (k, stride, c, h, w) in [
            (3, 1, 16, 9, 10),
            (3, 2, 24, 10, 17),
            (5, 1, 18, 7, 8),
            (5, 2, 40, 11, 12),
            (3, 2, 4, 6, 9),
        ] {
            let s = Shape { n: 2, h, w, c };
            let x: Vec<f32> = (0..s.n * h * w * c)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let dw = Depthwise {
                k,
                stride,
                weights: (0..k * k * c)
                    .map(|i| ((i * 13 % 29) as f32 - 14.0) / 10.0)
                    .collect(),
                bias: (0..c).map(|i| i as f32 / 10.0 - 0.5).collect(),
            };
            for act in [Act::None, Act::Relu, Act::HSwish(1.0 / 6.0)] {
                let mut got = Vec::new();
                let gs = depthwise(&x, s, &dw, act, &mut got);
                let mut want = Vec::new();
                let relu = act == Act::Relu;
                let ws = super::super::ops::depthwise(
                    &x,
                    s,
                    k,
                    stride,
                    &dw.weights,
                    &dw.bias,
                    relu,
                    &mut want,
                );
                assert_eq!((gs.h, gs.w, gs.c), (ws.h, ws.w, ws.c));
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let w = match act {
                        Act::HSwish(_) => act.apply(*w),
                        _ => *w,
                    };
                    assert!(
                        (g - w).abs() < 1e-4,
                        "k{k}/{stride} c{c} {act:?} at {i}: {g} vs {w}"
                    );
                }
            }
        }
    }
}
