//! The detector's depthwise k x k conv (TF "SAME" padding) + bias + activation, NHWC, one or
//! two output rows per task. Taps outside the map read zero vectors instead of a padded copy of
//! the input (multi-megabyte maps are read in place). Per vector of channels the k x k weights
//! are loaded once and the whole row of output pixels is swept with them in tiles of several
//! pixels, border pixels included (on the 10x7 maps nearly half the pixels are border ones; one
//! multiply-add chain per pixel there ran the 5x5 convs at 15 G multiply-adds/s). Channels that
//! do not fill a vector run in a masked one. With AVX-512, two output rows share a sweep, so
//! the input rows both read are loaded once. Maps start on a cache line (`crate::buf`): a
//! vector load that straddles two lines costs two. Compiled per instruction set through `pulp`.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::buf::Floats;
use crate::kernels::{same_padding, Act, Depthwise, Shape, MAX_K};

/// `act(dw(x) + bias)` into `out` (reused); returns the output shape.
pub fn depthwise(x: &[f32], s: Shape, dw: &Depthwise, act: Act, out: &mut impl Floats) -> Shape {
    let (pt, _, oh) = same_padding(s.h, dw.k, dw.stride);
    let (pl, _, ow) = same_padding(s.w, dw.k, dw.stride);
    let c = s.c;
    out.resize_to_write(s.n * oh * ow * c);
    let arch = Arch::new();
    // Pairs of output rows of one image (the last one alone when `oh` is odd).
    out.par_chunks_mut(oh * ow * c)
        .enumerate()
        .flat_map(|(n, img)| {
            img.par_chunks_mut(2 * ow * c)
                .enumerate()
                .map(move |(p, o)| (n, p, o))
        })
        .for_each(|(n, p, o)| {
            let img = &x[n * s.h * s.w * c..][..s.h * s.w * c];
            let oy = 2 * p;
            let rows = std::array::from_fn(|j| {
                (oy * dw.stride + j)
                    .checked_sub(pt)
                    .filter(|&y| y < s.h)
                    .map(|y| &img[y * s.w * c..][..s.w * c])
            });
            let (first, next) = o.split_at_mut(ow * c);
            let next = (!next.is_empty()).then_some(next);
            rows_of(arch, rows, (s.w, pl), dw, act, first, next);
        });
    Shape { h: oh, w: ow, ..s }
}

/// Input rows a call reads: `k` for one output row, `k + stride` for two.
pub(super) const WINDOW: usize = MAX_K + 2;

/// Output row `orow` from input rows `rows[..k]`, and with `next`, the row below it from
/// `rows[stride..stride + k]` (rows `None` above or below the map), each `w` pixels of the
/// layer's channels wide, with `pl` pixels of left padding. Two rows at a time load each input
/// row shared by both once: 1.3-1.4x the single row's rate in a microbenchmark (`bench/README.md`).
pub(super) fn rows_of(
    arch: Arch,
    rows: [Option<&[f32]>; WINDOW],
    (w, pl): (usize, usize),
    dw: &Depthwise,
    act: Act,
    orow: &mut [f32],
    next: Option<&mut [f32]>,
) {
    arch.dispatch(Row {
        rows,
        w,
        c: dw.bias.len(),
        pl,
        dw,
        act,
        orow,
        next,
    });
}

struct Row<'a> {
    /// The input rows the output rows read (`None` above or below the map).
    rows: [Option<&'a [f32]>; WINDOW],
    /// Input width and channels, left padding.
    w: usize,
    c: usize,
    pl: usize,
    dw: &'a Depthwise,
    act: Act,
    orow: &'a mut [f32],
    /// The output row below `orow`, computed in the same sweep.
    next: Option<&'a mut [f32]>,
}

impl WithSimd for Row<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        // Two rows at a time only with AVX-512's 32 registers: the accumulators of both rows,
        // the weights and a row's input vectors fit.
        let two = S::F32_LANES >= 16 && self.next.is_some();
        match (two, self.dw.k, self.dw.stride) {
            (true, 3, 1) => self.sweep::<S, 3, 1, 4, 2, 2>(s),
            (true, 3, 2) => self.sweep::<S, 3, 2, 4, 2, 2>(s),
            (true, 5, 1) => self.sweep::<S, 5, 1, 4, 2, 2>(s),
            (true, 5, 2) => self.sweep::<S, 5, 2, 4, 2, 2>(s),
            _ => self.one_by_one(s),
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
    /// Without two-row tiles (AVX2, or a kernel size without SIMD code): the rows one by one.
    #[inline(always)]
    fn one_by_one<S: Simd>(mut self, s: S) {
        let next = self.next.take();
        let (rows, st) = (self.rows, self.dw.stride);
        let (w, c, pl, dw, act) = (self.w, self.c, self.pl, self.dw, self.act);
        self.one(s);
        if let Some(orow) = next {
            let rows = std::array::from_fn(|j| rows.get(j + st).copied().flatten());
            let lower = Row {
                rows,
                w,
                c,
                pl,
                dw,
                act,
                orow,
                next: None,
            };
            lower.one(s);
        }
    }

    /// `orow` alone. Pixels per tile (and per tile at the row's end): as many as keep the row's
    /// input vectors, the accumulators and a weight within the registers (16 on AVX2, 32 with
    /// AVX-512's 16 lanes).
    #[inline(always)]
    fn one<S: Simd>(self, s: S) {
        let wide = S::F32_LANES >= 16;
        match (self.dw.k, self.dw.stride, wide) {
            (3, 1, true) => self.sweep::<S, 3, 1, 12, 6, 1>(s),
            (3, 2, true) => self.sweep::<S, 3, 2, 6, 3, 1>(s),
            (5, 1, true) => self.sweep::<S, 5, 1, 8, 4, 1>(s),
            (5, 2, true) => self.sweep::<S, 5, 2, 6, 3, 1>(s),
            (3, 1, false) => self.sweep::<S, 3, 1, 6, 3, 1>(s),
            (3, 2, false) => self.sweep::<S, 3, 2, 4, 2, 1>(s),
            (5, 1, false) => self.sweep::<S, 5, 1, 4, 2, 1>(s),
            (5, 2, false) => self.sweep::<S, 5, 2, 3, 2, 1>(s),
            _ => self.scalar(0),
        }
    }

    /// `N` output rows (1, or 2 with `next`), each vector of channels in turn.
    #[inline(always)]
    fn sweep<
        S: Simd,
        const K: usize,
        const ST: usize,
        const Q: usize,
        const H: usize,
        const N: usize,
    >(
        mut self,
        s: S,
    ) {
        let (c, lanes) = (self.c, S::F32_LANES);
        let whole = c / lanes * lanes;
        for cb in (0..whole).step_by(lanes) {
            self.channels::<S, K, ST, Q, H, N, false>(s, cb, lanes);
        }
        if whole < c {
            self.channels::<S, K, ST, Q, H, N, true>(s, whole, c - whole);
        }
    }

    /// Channels `cb..cb + n` of the whole output row(s) (`n` < lanes only when `TAIL`), in
    /// tiles of `Q` pixels, or `H` where no more are left.
    #[inline(always)]
    fn channels<
        S: Simd,
        const K: usize,
        const ST: usize,
        const Q: usize,
        const H: usize,
        const N: usize,
        const TAIL: bool,
    >(
        &mut self,
        s: S,
        cb: usize,
        n: usize,
    ) {
        let c = self.c;
        let ow = self.orow.len() / c;
        let zero = s.splat_f32s(0.0);
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
        let mut ox = 0;
        while ox < ow {
            let (inner, cn) = ((first, end), (cb, n));
            ox += match ow - ox > H {
                true => self.tile::<S, K, ST, Q, N, TAIL>(s, &wv, bias, ox, inner, cn),
                false => self.tile::<S, K, ST, H, N, TAIL>(s, &wv, bias, ox, inner, cn),
            };
        }
    }

    /// Output pixels `ox..ox + R` (those inside the row) of the `N` rows, channels
    /// `cb..cb + n`; returns `R`, the pixels it stepped over. Border pixels (outside
    /// `first..end`) run in the tile too, their taps outside the row reading zeros, which leave
    /// the sums as they are: R independent multiply-add chains instead of one per pixel, which
    /// would wait on each add's latency.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn tile<
        S: Simd,
        const K: usize,
        const ST: usize,
        const R: usize,
        const N: usize,
        const TAIL: bool,
    >(
        &mut self,
        s: S,
        wv: &[[S::f32s; K]; K],
        bias: S::f32s,
        ox: usize,
        (first, end): (usize, usize),
        (cb, n): (usize, usize),
    ) -> usize {
        let (zero, six, three) = (s.splat_f32s(0.0), s.splat_f32s(6.0), s.splat_f32s(3.0));
        let acc = match ox >= first && ox + R <= end {
            true => self.pixels::<S, K, ST, R, N, false, TAIL>(s, wv, bias, ox, (cb, n)),
            false => self.pixels::<S, K, ST, R, N, true, TAIL>(s, wv, bias, ox, (cb, n)),
        };
        let (c, act) = (self.c, self.act);
        let ow = self.orow.len() / c;
        let outs = [Some(&mut *self.orow), self.next.as_deref_mut()];
        for (row, o) in acc.into_iter().zip(outs) {
            let Some(o) = o else { break };
            for (q, a) in row.into_iter().take(ow - ox).enumerate() {
                let v = activate(s, act, a, zero, three, six);
                store::<S, TAIL>(s, &mut o[(ox + q) * c + cb..], n, v);
            }
        }
        R
    }

    /// `bias + sum of taps` for the `R` output pixels from `ox` of the `N` rows, side by
    /// side. Each input vector of a row is loaded once and serves every tap that reads it (up
    /// to `K` per output row; with two, the input rows both read serve both); `CHECKED` reads
    /// zeros left and right of the map.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn pixels<
        S: Simd,
        const K: usize,
        const ST: usize,
        const R: usize,
        const N: usize,
        const CHECKED: bool,
        const TAIL: bool,
    >(
        &self,
        s: S,
        wv: &[[S::f32s; K]; K],
        bias: S::f32s,
        ox: usize,
        (cb, n): (usize, usize),
    ) -> [[S::f32s; R]; N] {
        let mut acc = [[bias; R]; N];
        let span = (R - 1) * ST + K;
        for (j, row) in self.rows.iter().take(K + (N - 1) * ST).enumerate() {
            let Some(row) = row else { continue };
            let mut xs = [bias; 16];
            if CHECKED {
                let zero = s.splat_f32s(0.0);
                for (i, x) in xs.iter_mut().take(span).enumerate() {
                    let ix = (ox * ST + i).wrapping_sub(self.pl);
                    *x = match ix < self.w {
                        true => load::<S, TAIL>(s, &row[ix * self.c + cb..], n),
                        false => zero,
                    };
                }
            } else {
                let base = &row[(ox * ST - self.pl) * self.c + cb..];
                for (i, x) in xs.iter_mut().take(span).enumerate() {
                    *x = load::<S, TAIL>(s, &base[i * self.c..], n);
                }
            }
            // Output row r reads this input row as its tap row j - r * ST.
            for (r, acc) in acc.iter_mut().enumerate() {
                let Some(wk) = j.checked_sub(r * ST).and_then(|ky| wv.get(ky)) else {
                    continue;
                };
                for (kx, w) in wk.iter().enumerate() {
                    for (q, a) in acc.iter_mut().enumerate() {
                        *a = s.mul_add_e_f32s(xs[q * ST + kx], *w, *a);
                    }
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

    /// Input, weights and bias of a test case (n = 2 images).
    fn case(k: usize, stride: usize, c: usize, h: usize, w: usize) -> (Shape, Vec<f32>, Depthwise) {
        let s = Shape { n: 2, h, w, c };
        let x = (0..s.n * h * w * c)
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
        (s, x, dw)
    }

    /// The plain loop of `ops::depthwise` (the definition), then `act`.
    fn plain(x: &[f32], s: Shape, dw: &Depthwise, act: Act) -> (Shape, Vec<f32>) {
        let mut want = Vec::new();
        let relu = act == Act::Relu;
        let ws = super::super::ops::depthwise(
            x,
            s,
            dw.k,
            dw.stride,
            &dw.weights,
            &dw.bias,
            relu,
            &mut want,
        );
        if let Act::HSwish(_) = act {
            want.iter_mut().for_each(|v| *v = act.apply(*v));
        }
        (ws, want)
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < 1e-4, "{what} at {i}: {g} vs {w}");
        }
    }

    /// Every kernel size and stride the networks use, odd channel counts (masked vectors),
    /// both parities of width, maps narrower than one tile and maps wide enough for several
    /// interior tiles and a ragged end.
    const CASES: [(usize, usize, usize, usize, usize); 9] = [
        (3, 1, 16, 9, 10),
        (3, 2, 24, 10, 17),
        (5, 1, 18, 7, 8),
        (5, 2, 40, 11, 12),
        (3, 2, 4, 6, 9),
        (3, 1, 24, 3, 40),
        (3, 2, 24, 4, 41),
        (5, 1, 18, 5, 29),
        (5, 2, 40, 5, 33),
    ];

    /// The kernel (this machine's best instruction set) against the plain loop.
    #[test]
    fn matches_the_plain_loop() {
        for (k, stride, c, h, w) in CASES {
            let (s, x, dw) = case(k, stride, c, h, w);
            for act in [Act::None, Act::Relu, Act::HSwish(1.0 / 6.0)] {
                let mut got = Vec::new();
                let gs = depthwise(&x, s, &dw, act, &mut got);
                let (ws, want) = plain(&x, s, &dw, act);
                assert_eq!((gs.h, gs.w, gs.c), (ws.h, ws.w, ws.c));
                assert_close(&got, &want, &format!("k{k}/{stride} c{c} w{w} {act:?}"));
            }
        }
    }

    /// AVX2's tile sizes (smaller than AVX-512's) against the plain loop, where this machine
    /// has AVX2: `depthwise` alone runs only the best instruction set.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_tiles_match_the_plain_loop() {
        let Some(v3) = pulp::x86::V3::try_new() else {
            return;
        };
        for (k, stride, c, h, w) in CASES {
            let (s, x, dw) = case(k, stride, c, h, w);
            let act = Act::HSwish(1.0 / 6.0);
            let (ws, want) = plain(&x, s, &dw, act);
            let (pt, _, _) = same_padding(s.h, k, stride);
            let (pl, _, _) = same_padding(s.w, k, stride);
            let mut got = vec![0.0; want.len()];
            // Pairs of rows, as `depthwise` hands them over.
            let pairs = got
                .chunks_mut(ws.h * ws.w * c)
                .enumerate()
                .flat_map(|(n, o)| {
                    o.chunks_mut(2 * ws.w * c)
                        .enumerate()
                        .map(move |(p, pair)| (n, 2 * p, pair))
                });
            for (n, oy, pair) in pairs {
                let img = &x[n * h * w * c..][..h * w * c];
                let rows = std::array::from_fn(|j| {
                    (oy * stride + j)
                        .checked_sub(pt)
                        .filter(|&y| y < h)
                        .map(|y| &img[y * w * c..][..w * c])
                });
                let (orow, next) = pair.split_at_mut(ws.w * c);
                let (dw, act) = (&dw, act);
                let row = Row {
                    rows,
                    w,
                    c,
                    pl,
                    dw,
                    act,
                    orow,
                    next: (!next.is_empty()).then_some(next),
                };
                v3.vectorize(|| row.with_simd(v3));
            }
            assert_close(&got, &want, &format!("avx2 k{k}/{stride} c{c} w{w}"));
        }
    }
}
