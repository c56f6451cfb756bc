//! The matrix product's register tile: `R` rows x 1 or 2 SIMD vectors of accumulators over one
//! packed panel, then the epilogue and the store (shared with the stem's direct convolution).

use pulp::Simd;

use super::{Epilogue, Packed, MR};

/// A register tile's context: the weights, the activations (rows of `k`) and the output.
pub(crate) struct Tile<'a, S> {
    s: S,
    a: &'a [f32],
    k: usize,
    out: &'a mut [f32],
    n: usize,
    epi: Epilogue<'a>,
    w: &'a Packed,
}

impl<'a, S: Simd> Tile<'a, S> {
    /// A tile over `out` (`[rows, w.n]`) for activations `a` (`[rows, w.k]`).
    pub fn new(s: S, w: &'a Packed, a: &'a [f32], out: &'a mut [f32], epi: Epilogue<'a>) -> Self {
        Tile {
            s,
            a,
            k: w.k,
            out,
            n: w.n,
            epi,
            w,
        }
    }

    pub fn simd(&self) -> S {
        self.s
    }

    /// Rows `row..row + R` of panel `j`, its first `V` vectors of columns (1 or 2).
    #[inline(always)]
    pub(super) fn run<const R: usize, const V: usize>(
        &mut self,
        panel: &[f32],
        row: usize,
        j: usize,
    ) {
        let (s, k) = (self.s, self.k);
        let (b, _) = S::as_simd_f32s(panel);
        let b = &b[..2 * k];
        let rows: [&[f32]; R] = std::array::from_fn(|i| &self.a[(row + i) * k..][..k]);
        let zero = s.splat_f32s(0.0);
        let mut acc = [[zero; 2]; R];
        for p in 0..k {
            for i in 0..R {
                let av = s.splat_f32s(rows[i][p]);
                for v in 0..V {
                    acc[i][v] = s.mul_add_e_f32s(av, b[2 * p + v], acc[i][v]);
                }
            }
        }
        self.finish(&mut acc, row, j);
    }

    /// The epilogue and the store of rows `row..row + R` of panel `j`.
    #[inline(always)]
    pub fn finish<const R: usize>(&mut self, acc: &mut [[S::f32s; 2]; R], row: usize, j: usize) {
        let s = self.s;
        let zero = s.splat_f32s(0.0);
        let (lanes, col) = (S::F32_LANES, j * self.w.nr);
        let width = self.w.nr.min(self.n - col);
        let (lo, hi) = (width.min(lanes), width.saturating_sub(lanes));
        let (bias, _) = S::as_simd_f32s(&self.w.bias[col..col + self.w.nr]);
        let (six, bias) = (s.splat_f32s(6.0), [bias[0], bias[1]]);
        for (i, v) in acc.iter_mut().enumerate() {
            let at = (row + i) * self.n + col;
            match self.epi {
                Epilogue::Store => {}
                Epilogue::BiasRelu6 => {
                    for (x, b) in v.iter_mut().zip(bias) {
                        *x = s.min_f32s(s.max_f32s(s.add_f32s(*x, b), zero), six);
                    }
                }
                Epilogue::Bias => {
                    for (x, b) in v.iter_mut().zip(bias) {
                        *x = s.add_f32s(*x, b);
                    }
                }
                Epilogue::BiasRelu => {
                    for (x, b) in v.iter_mut().zip(bias) {
                        *x = s.max_f32s(s.add_f32s(*x, b), zero);
                    }
                }
                Epilogue::BiasHSwish(c) => {
                    let (c, three) = (s.splat_f32s(c), s.splat_f32s(3.0));
                    for (x, b) in v.iter_mut().zip(bias) {
                        let y = s.add_f32s(*x, b);
                        let gate = s.min_f32s(s.max_f32s(s.add_f32s(y, three), zero), six);
                        *x = s.mul_f32s(s.mul_f32s(y, c), gate);
                    }
                }
                Epilogue::Residual(res) => {
                    let r = &res[at..at + width];
                    v[0] = s.add_f32s(v[0], load(s, &r[..lo]));
                    v[1] = s.add_f32s(v[1], load(s, &r[lo..]));
                }
                Epilogue::BiasResidual { res, relu } => {
                    let r = &res[at..at + width];
                    v[0] = s.add_f32s(s.add_f32s(v[0], bias[0]), load(s, &r[..lo]));
                    v[1] = s.add_f32s(s.add_f32s(v[1], bias[1]), load(s, &r[lo..]));
                    if relu {
                        v.iter_mut().for_each(|x| *x = s.max_f32s(*x, zero));
                    }
                }
            }
            let (d0, d1) = self.out[at..at + width].split_at_mut(lo);
            store(s, d0, v[0]);
            if hi > 0 {
                store(s, d1, v[1]);
            }
        }
    }
}

/// `x` (at most a vector) as a vector, zeros past its end. A whole vector is a plain load:
/// pulp's partial loads and stores are calls to out-of-line functions, which cost the one-vector
/// panels (n = 16: every store) ~30 % (`bench/README.md`, ninth session).
#[inline(always)]
fn load<S: Simd>(s: S, x: &[f32]) -> S::f32s {
    match x.len() == S::F32_LANES {
        true => S::as_simd_f32s(x).0[0],
        false => s.partial_load_f32s(x),
    }
}

/// The store matching [`load`]: the first `d.len()` lanes of `v`.
#[inline(always)]
fn store<S: Simd>(s: S, d: &mut [f32], v: S::f32s) {
    match d.len() == S::F32_LANES {
        true => S::as_mut_simd_f32s(d).0[0] = v,
        false => s.partial_store_f32s(d, v),
    }
}

/// How the rows of a product's left operand reach a register tile: a tile of `R` rows from
/// `row` against panel `j`, its first `V` vectors of columns (1 or 2), finished into the output.
/// Dense rows ([`Rows`]) for the 1x1 convolutions; the stem's patches read in place.
pub(crate) trait TileRows<S: Simd> {
    fn tile<const R: usize, const V: usize>(
        &self,
        t: &mut Tile<'_, S>,
        panel: &[f32],
        row: usize,
        j: usize,
    );
}

/// Rows of `k` contiguous floats (a 1x1 convolution's activations).
pub(super) struct Rows;

impl<S: Simd> TileRows<S> for Rows {
    #[inline(always)]
    fn tile<const R: usize, const V: usize>(
        &self,
        t: &mut Tile<'_, S>,
        panel: &[f32],
        row: usize,
        j: usize,
    ) {
        t.run::<R, V>(panel, row, j);
    }
}

/// Rows `r0..r1` against panel `j` in register tiles: `MR` rows x 2 vectors, the last rows in a
/// smaller tile; a last panel at most one vector wide (n = 16, 24, 80 on AVX-512) in tiles of
/// one vector of columns and twice the rows, instead of multiplying zeros.
#[inline(always)]
pub(crate) fn sweep<S: Simd, L: TileRows<S>>(
    t: &mut Tile<'_, S>,
    rows: &L,
    panel: &[f32],
    j: usize,
    (r0, r1): (usize, usize),
) {
    let mut r = r0;
    if t.n - j * t.w.nr <= S::F32_LANES {
        while r + 2 * MR <= r1 {
            rows.tile::<{ 2 * MR }, 1>(t, panel, r, j);
            r += 2 * MR;
        }
        while r + 4 <= r1 {
            rows.tile::<4, 1>(t, panel, r, j);
            r += 4;
        }
        while r < r1 {
            rows.tile::<1, 1>(t, panel, r, j);
            r += 1;
        }
        return;
    }
    while r + MR <= r1 {
        rows.tile::<MR, 2>(t, panel, r, j);
        r += MR;
    }
    match r1 - r {
        1 => rows.tile::<1, 2>(t, panel, r, j),
        2 => rows.tile::<2, 2>(t, panel, r, j),
        3 => rows.tile::<3, 2>(t, panel, r, j),
        4 => rows.tile::<4, 2>(t, panel, r, j),
        5 => rows.tile::<5, 2>(t, panel, r, j),
        _ => {}
    }
}
