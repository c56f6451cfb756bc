//! An inverted-residual block of the detector (1x1 expansion → depthwise → 1x1 projection, plus
//! the block's input when it is residual) as one op, computed row by row like the classifier's
//! (`crate::block`): layer at a time, the 160x160 expansion's output (6.5 MB at 320) leaves the
//! cache before the depthwise conv reads it back, and the depthwise output once more before the
//! projection. Here each task keeps a ring of the `k` expanded input rows the depthwise window
//! needs, runs the depthwise kernel of `super::dw` on them (the kernel layer at a time runs, so
//! the results are the same to the bit) and projects a few output rows at a time straight into
//! the output, adding the bias and the residual in the product's epilogue.

use pulp::Arch;
use rayon::prelude::*;

use super::dw;
use super::net::epilogue;
use crate::buf::{Buf, Floats};
use crate::gemm::{Epilogue, Packed};
use crate::kernels::{same_padding, Act, Depthwise, Shape};

/// Depthwise output pixels gathered per projection product: enough rows for the product's
/// tiles (at 64, a 56-pixel row was one product of 56 rows, its 12-row tiles leaving a ragged
/// tail; the class head ran ~5 % slower), few enough to stay in L2 (192 x 128 channels: 96 KB).
const GROUP_PIXELS: usize = 192;

/// The block's weights.
pub(super) struct Block {
    /// The expansion 1x1 conv (bias packed) and its activation; `None` when the depthwise conv
    /// reads the block's input as it is.
    pub expand: Option<(Packed, Act)>,
    pub dw: Depthwise,
    pub dw_act: Act,
    /// The projection 1x1 conv (bias packed, no activation).
    pub project: Packed,
    /// Whether the block's input is added to the projection (stride 1, same channels).
    pub residual: bool,
}

/// One task's buffers: the ring of expanded rows and the depthwise output rows.
type Scratch = (Buf, Buf);

impl Block {
    /// Runs the block on `x` (`s`) into `out`; buffers come from and go back to `spare`.
    pub fn run(
        &self,
        x: &[f32],
        s: Shape,
        out: &mut impl Floats,
        spare: &mut Vec<Buf>,
    ) -> anyhow::Result<Shape> {
        self.run_with(&self.dw, x, s, out, spare)
    }

    /// [`Block::run`] on `gate * x` (one factor per channel, a squeeze-excite gate) for a
    /// block without expansion: the depthwise conv is linear in each channel, so the gate
    /// scales its weights (k x k x C products per image) instead of the map (a pass over it).
    pub fn run_gated(
        &self,
        gate: &[f32],
        x: &[f32],
        s: Shape,
        out: &mut impl Floats,
        spare: &mut Vec<Buf>,
    ) -> anyhow::Result<Shape> {
        anyhow::ensure!(
            self.expand.is_none() && s.n == 1 && gate.len() == s.c,
            "block: gate of {} for {s:?}",
            gate.len()
        );
        let dw = gated(&self.dw, gate);
        self.run_with(&dw, x, s, out, spare)
    }

    fn run_with(
        &self,
        dw: &Depthwise,
        x: &[f32],
        s: Shape,
        out: &mut impl Floats,
        spare: &mut Vec<Buf>,
    ) -> anyhow::Result<Shape> {
        let cin = self.expand.as_ref().map_or(dw.bias.len(), |e| e.0.k);
        anyhow::ensure!(s.c == cin, "block: {} channels into {cin}", s.c);
        if let Some((e, _)) = &self.expand {
            anyhow::ensure!(e.n == dw.bias.len(), "block: expansion to depthwise");
        }
        anyhow::ensure!(self.project.k == dw.bias.len(), "block: projection rows");
        let (k, stride) = (dw.k, dw.stride);
        anyhow::ensure!(
            !self.residual || (stride == 1 && self.project.n == s.c),
            "block: residual with another shape"
        );
        let (_, _, oh) = same_padding(s.h, k, stride);
        let (_, _, ow) = same_padding(s.w, k, stride);
        let cout = self.project.n;
        out.resize_to_write(s.n * oh * ow * cout);
        // Bands of output rows, one per worker and image (each band expands again the k - stride
        // input rows it shares with the band above).
        // An even number of rows: the depthwise conv runs two at a time.
        let group = (GROUP_PIXELS / ow).next_multiple_of(2).clamp(1, oh);
        let bands = rayon::current_num_threads().div_ceil(s.n);
        let band_rows = oh.div_ceil(bands).next_multiple_of(group);
        let tasks: Vec<(usize, usize, &mut [f32])> = out
            .chunks_mut(oh * ow * cout)
            .enumerate()
            .flat_map(|(n, img)| {
                img.chunks_mut(band_rows * ow * cout)
                    .enumerate()
                    .map(move |(b, o)| (n, b * band_rows, o))
            })
            .collect();
        let mut scratch: Vec<Scratch> = (0..tasks.len())
            .map(|_| {
                (
                    spare.pop().unwrap_or_default(),
                    spare.pop().unwrap_or_default(),
                )
            })
            .collect();
        let arch = Arch::new();
        tasks
            .into_par_iter()
            .zip(scratch.par_iter_mut())
            .for_each(|((n, oy0, o), sc)| self.band(dw, arch, x, s, (n, oy0), group, o, sc));
        for (a, b) in scratch {
            spare.push(a);
            spare.push(b);
        }
        Ok(Shape {
            n: s.n,
            h: oh,
            w: ow,
            c: cout,
        })
    }

    /// Output rows `oy0..` of image `n` into `o` (whole rows of `[ow, C_out]`).
    #[allow(clippy::too_many_arguments)]
    fn band(
        &self,
        dw: &Depthwise,
        arch: Arch,
        x: &[f32],
        s: Shape,
        (n, oy0): (usize, usize),
        group: usize,
        o: &mut [f32],
        (ring, dws): &mut Scratch,
    ) {
        let (k, stride) = (dw.k, dw.stride);
        let (pt, _, _) = same_padding(s.h, k, stride);
        let (pl, _, ow) = same_padding(s.w, k, stride);
        let (ce, cout) = (dw.bias.len(), self.project.n);
        let row_len = s.w * ce;
        let image = &x[n * s.h * s.w * s.c..][..s.h * s.w * s.c];
        // Two output rows read k + stride input rows.
        let slots = k + stride;
        if self.expand.is_some() {
            ring.resize_to_write(slots * row_len);
        }
        dws.resize_to_write(group * ow * ce);
        // Which input row each ring slot holds (slot = row % slots): the rows of a window have
        // distinct slots, so expanding one never evicts another the window reads.
        let mut held = [usize::MAX; dw::WINDOW];
        let rows = o.len() / (ow * cout);
        for g0 in (0..rows).step_by(group) {
            let g = group.min(rows - g0);
            for (p, pair) in dws[..g * ow * ce].chunks_mut(2 * ow * ce).enumerate() {
                let (orow, next) = pair.split_at_mut(ow * ce);
                // Input row of the window's top tap, before subtracting the top padding.
                let first = (oy0 + g0 + 2 * p) * stride;
                let reads = if next.is_empty() { k } else { slots };
                let inside = |j: usize| {
                    (first + j)
                        .checked_sub(pt)
                        .filter(|&y| y < s.h && j < reads)
                };
                if let Some((e, act)) = &self.expand {
                    for iy in (0..reads).filter_map(inside) {
                        let slot = iy % slots;
                        if held[slot] != iy {
                            let src = &image[iy * s.w * s.c..][..s.w * s.c];
                            let dst = &mut ring[slot * row_len..][..row_len];
                            e.gemm(arch, src, dst, epilogue(*act));
                            held[slot] = iy;
                        }
                    }
                }
                let src: &[f32] = match self.expand {
                    Some(_) => ring,
                    None => image,
                };
                let window = std::array::from_fn(|j| {
                    inside(j).map(|iy| match self.expand {
                        Some(_) => &src[iy % slots * row_len..][..row_len],
                        None => &src[iy * row_len..][..row_len],
                    })
                });
                let next = (!next.is_empty()).then_some(next);
                dw::rows_of(arch, window, (s.w, pl), dw, self.dw_act, orow, next);
            }
            let m = g * ow;
            let dst = &mut o[g0 * ow * cout..][..m * cout];
            // A residual block keeps the map's shape, so its input rows line up with the output's.
            let epi = match self.residual {
                true => Epilogue::BiasResidual {
                    res: &image[(oy0 + g0) * ow * cout..][..m * cout],
                    relu: false,
                },
                false => Epilogue::Bias,
            };
            self.project.gemm(arch, &dws[..m * ce], dst, epi);
        }
    }
}

/// `dw` with each channel's weights times its gate factor.
pub(super) fn gated(dw: &Depthwise, gate: &[f32]) -> Depthwise {
    Depthwise {
        k: dw.k,
        stride: dw.stride,
        weights: (dw.weights.chunks_exact(gate.len()))
            .flat_map(|tap| tap.iter().zip(gate).map(|(w, g)| w * g))
            .collect(),
        bias: dw.bias.clone(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::gemm::pointwise;

    /// Deterministic values in about -1..1.
    pub(in crate::detect) fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 1009) as f32 / 504.5 - 1.0)
            .collect()
    }

    /// A gated block (gate folded into its depthwise weights) against the block on the map
    /// multiplied by the gate.
    #[test]
    fn gated_weights_match_the_gated_map() {
        let s = Shape {
            n: 1,
            h: 9,
            w: 7,
            c: 20,
        };
        let x = values(s.h * s.w * s.c, 1);
        let gate: Vec<f32> = values(s.c, 2).iter().map(|v| v.abs()).collect();
        let block = Block {
            expand: None,
            dw: Depthwise {
                k: 3,
                stride: 1,
                weights: values(9 * s.c, 3),
                bias: values(s.c, 4),
            },
            dw_act: Act::None,
            project: Packed::new(&values(s.c * 12, 5), s.c, 12, Some(&values(12, 6))),
            residual: false,
        };
        let gated_x: Vec<f32> = (x.chunks_exact(s.c))
            .flat_map(|p| p.iter().zip(&gate).map(|(v, g)| v * g))
            .collect();
        let (mut want, mut got, mut spare) = (Vec::new(), Vec::new(), Vec::new());
        block.run(&gated_x, s, &mut want, &mut spare).unwrap();
        block.run_gated(&gate, &x, s, &mut got, &mut spare).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5, "{g} vs {w}");
        }
    }

    /// The block against its ops layer at a time (the kernels the unfused program runs), on
    /// every kernel size, stride and activation the network uses, with and without expansion
    /// and residual; 3 workers split each of the 2 images into bands.
    #[test]
    fn matches_the_ops_layer_at_a_time() {
        let s = Shape {
            n: 2,
            h: 11,
            w: 13,
            c: 8,
        };
        let x = values(s.n * s.h * s.w * s.c, 1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for (k, stride) in [(3, 1), (3, 2), (5, 1), (5, 2)] {
            for act in [Act::Relu, Act::HSwish(1.0 / 6.0)] {
                for expand in [false, true] {
                    for residual in [false, true] {
                        if residual && stride != 1 {
                            continue;
                        }
                        // 20 channels: a whole SIMD vector or two and a scalar rest.
                        let ce = if expand { 20 } else { s.c };
                        let cout = if residual { s.c } else { 12 };
                        let ew = values(s.c * ce, 2);
                        let (eb, db, pb) = (values(ce, 3), values(ce, 4), values(cout, 5));
                        let pw = values(ce * cout, 6);
                        let dwts = values(k * k * ce, 7);
                        let depthwise = || Depthwise {
                            k,
                            stride,
                            weights: dwts.clone(),
                            bias: db.clone(),
                        };
                        let block = Block {
                            expand: expand.then(|| (Packed::new(&ew, s.c, ce, Some(&eb)), act)),
                            dw: depthwise(),
                            dw_act: act,
                            project: Packed::new(&pw, ce, cout, Some(&pb)),
                            residual,
                        };
                        let mut got = vec![f32::NAN; 7];
                        let mut spare = vec![Buf::from(vec![f32::NAN; 5]); 3];
                        let gs = pool
                            .install(|| block.run(&x, s, &mut got, &mut spare))
                            .unwrap();

                        let mut e = x.clone();
                        if expand {
                            let packed = Packed::new(&ew, s.c, ce, Some(&eb));
                            pointwise(&x, &packed, &mut e, epilogue(act)).unwrap();
                        }
                        let mut d = Vec::new();
                        let ds = dw::depthwise(&e, Shape { c: ce, ..s }, &depthwise(), act, &mut d);
                        let mut want = Vec::new();
                        let packed = Packed::new(&pw, ce, cout, Some(&pb));
                        pointwise(&d, &packed, &mut want, Epilogue::Bias).unwrap();
                        if residual {
                            want.iter_mut().zip(&x).for_each(|(w, r)| *w += r);
                        }
                        assert_eq!((gs.n, gs.h, gs.w, gs.c), (s.n, ds.h, ds.w, cout));
                        assert_eq!(got.len(), want.len());
                        let case = format!("k{k}/{stride} {act:?} expand {expand} res {residual}");
                        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                            assert!((g - w).abs() <= 1e-6, "{case} at {i}: {g} vs {w}");
                        }
                    }
                }
            }
        }
    }
}
