//! Matrix products for the 1x1 convolutions, over weights packed once at load time.
//!
//! A general GEMM packs both operands on every call; at batch size 1 that means copying the whole
//! model per image. Here the weights are stored in the microkernel's panel layout when the model
//! is loaded, and the activations are read in place: each tile keeps `MR` rows x 2 SIMD vectors of
//! accumulators in registers (6 x 16 with AVX2, 12 of the 16 registers) and streams one packed
//! panel. Bias + ReLU6 or the residual add happen on the registers before the single store.
//! Compiled per instruction set and picked at run time through `pulp` (safe API).

mod tile;

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::buf::Floats;

use tile::Rows;
pub(crate) use tile::{sweep, Tile, TileRows};

/// Rows per register tile.
pub(crate) const MR: usize = 6;
/// Rows of activations (times `k`, ~256 KB: L2) that all panels run over before the next rows:
/// each panel is then read from memory once per chunk and reused from L2 for every tile.
const CHUNK_FLOATS: usize = 64 * 1024;

/// A `[k, n]` weight matrix in panels of `nr` columns (2 SIMD vectors), each `k x nr` and
/// contiguous, zero-padded to whole panels; plus an optional per-column bias.
pub struct Packed {
    pub k: usize,
    pub n: usize,
    nr: usize,
    data: Vec<f32>,
    bias: Vec<f32>,
}

/// What happens to the product before it is stored.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    Store,
    /// `relu6(x + bias)` with the packed bias.
    BiasRelu6,
    /// `x + bias`.
    Bias,
    /// `relu(x + bias)`.
    BiasRelu,
    /// `y * c * relu6(y + 3)` for `y = x + bias`: MobileNetV3's hard swish, in the graph's order
    /// of operations (so the same result as the separate ops).
    BiasHSwish(f32),
    /// `x + residual`, `residual` laid out like the output.
    Residual(&'a [f32]),
    /// `(x + bias) + res`: a projection and the residual add after it, in that order; then
    /// ReLU if `relu` (BlazeFace's block ending).
    BiasResidual {
        res: &'a [f32],
        relu: bool,
    },
}

impl Packed {
    /// Packs row-major `w` (`[k][n]`) for the SIMD width this CPU will run with.
    pub fn new(w: &[f32], k: usize, n: usize, bias: Option<&[f32]>) -> Packed {
        let nr = 2 * crate::kernels::f32_lanes();
        let panels = n.div_ceil(nr);
        let mut data = vec![0.0f32; panels * k * nr];
        for (j, panel) in data.chunks_exact_mut(k * nr).enumerate() {
            for (p, dst) in panel.chunks_exact_mut(nr).enumerate() {
                let cols = (j * nr..n).take(nr);
                for (d, c) in dst.iter_mut().zip(cols) {
                    *d = w[p * n + c];
                }
            }
        }
        let mut padded = vec![0.0f32; panels * nr];
        if let Some(b) = bias {
            padded[..n].copy_from_slice(b);
        }
        Packed {
            k,
            n,
            nr,
            data,
            bias: padded,
        }
    }

    /// Weight `w[p][j]`.
    pub fn at(&self, p: usize, j: usize) -> f32 {
        self.data[(j / self.nr * self.k + p) * self.nr + j % self.nr]
    }

    /// The packed panels, `k x nr` each.
    pub fn panels(&self) -> std::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(self.k * self.nr)
    }

    /// Bias of column `j` (0 without one).
    pub fn bias_at(&self, j: usize) -> f32 {
        self.bias[j]
    }

    /// `out = a x w`, then `epi`, for `a` = `[m, k]` and `out` = `[m, n]` (single-threaded).
    pub fn gemm(&self, arch: Arch, a: &[f32], out: &mut [f32], epi: Epilogue<'_>) {
        debug_assert_eq!(a.len() / self.k, out.len() / self.n);
        arch.dispatch(Run {
            w: self,
            a,
            out,
            epi,
        });
    }
}

/// Target size (floats) of one row block of a 1x1 convolution: blocks are the unit of parallel
/// work.
const BLOCK_FLOATS: usize = 1 << 16;

/// `out = epi(inp x w)` for `inp` = `[rows, w.k]`, in row blocks in parallel, straight into `out`.
pub fn pointwise(
    inp: &[f32],
    w: &Packed,
    out: &mut impl Floats,
    epi: Epilogue<'_>,
) -> anyhow::Result<()> {
    let (k, n) = (w.k, w.n);
    anyhow::ensure!(inp.len().is_multiple_of(k), "matrix shapes do not match");
    let m = inp.len() / k;
    out.resize_to_write(m * n);
    if let Epilogue::Residual(r) | Epilogue::BiasResidual { res: r, .. } = epi {
        anyhow::ensure!(r.len() == m * n, "residual shape does not match");
    }
    let rows = (BLOCK_FLOATS / k.max(n)).clamp(16, 2048);
    // Equal shares for the workers: the late 14x14 and 7x7 layers give only one to three blocks,
    // which would leave a core idle when a single image is tagged with several threads.
    let threads = rayon::current_num_threads();
    let blocks = m
        .div_ceil(rows)
        .next_multiple_of(threads)
        .min(m.div_ceil(8).max(1));
    let rows = m.div_ceil(blocks).max(1);
    let arch = Arch::new();
    out.par_chunks_mut(rows * n)
        .zip(inp.par_chunks(rows * k))
        .enumerate()
        .for_each(|(i, (o, a))| {
            let epi = match epi {
                Epilogue::Residual(r) => Epilogue::Residual(&r[i * rows * n..][..o.len()]),
                Epilogue::BiasResidual { res, relu } => Epilogue::BiasResidual {
                    res: &res[i * rows * n..][..o.len()],
                    relu,
                },
                other => other,
            };
            w.gemm(arch, a, o, epi);
        });
    Ok(())
}

struct Run<'a> {
    w: &'a Packed,
    a: &'a [f32],
    out: &'a mut [f32],
    epi: Epilogue<'a>,
}

impl WithSimd for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Run { w, a, out, epi } = self;
        assert_eq!(
            w.nr,
            2 * S::F32_LANES,
            "weights packed for another SIMD width"
        );
        let (k, n) = (w.k, w.n);
        let m = out.len() / n;
        let chunk = (CHUNK_FLOATS / k).max(MR) / MR * MR;
        let mut t = Tile::new(s, w, a, out, epi);
        for r0 in (0..m).step_by(chunk) {
            let r1 = (r0 + chunk).min(m);
            for (j, panel) in w.data.chunks_exact(k * w.nr).enumerate() {
                sweep(&mut t, &Rows, panel, j, (r0, r1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_product_for_every_epilogue() {
        // Sizes exercise partial panels (n % 16), every row remainder and multi-chunk rows.
        for (m, k, n) in [
            (1, 3, 5),
            (7, 33, 24),
            (13, 16, 40),
            (50, 700, 17),
            (9, 1, 1),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1)
                .collect();
            let w: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.1)
                .collect();
            let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.3 - 1.0).collect();
            let res: Vec<f32> = (0..m * n).map(|i| (i % 9) as f32 * 0.5).collect();
            let packed = Packed::new(&w, k, n, Some(&bias));
            let naive: Vec<f32> = (0..m * n)
                .map(|i| (0..k).map(|p| a[i / n * k + p] * w[p * n + i % n]).sum())
                .collect();
            for epi in [
                Epilogue::Store,
                Epilogue::BiasRelu6,
                Epilogue::Bias,
                Epilogue::BiasRelu,
                Epilogue::BiasHSwish(0.5),
                Epilogue::Residual(&res),
                Epilogue::BiasResidual {
                    res: &res,
                    relu: false,
                },
                Epilogue::BiasResidual {
                    res: &res,
                    relu: true,
                },
            ] {
                let mut out = vec![f32::NAN; m * n];
                packed.gemm(Arch::new(), &a, &mut out, epi);
                for (i, (&got, &x)) in out.iter().zip(&naive).enumerate() {
                    let want = match epi {
                        Epilogue::Store => x,
                        Epilogue::BiasRelu6 => (x + bias[i % n]).clamp(0.0, 6.0),
                        Epilogue::Bias => x + bias[i % n],
                        Epilogue::BiasRelu => (x + bias[i % n]).max(0.0),
                        Epilogue::BiasHSwish(c) => {
                            let y = x + bias[i % n];
                            (y * c) * (y + 3.0).clamp(0.0, 6.0)
                        }
                        Epilogue::Residual(r) => x + r[i],
                        Epilogue::BiasResidual { res, relu: false } => (x + bias[i % n]) + res[i],
                        Epilogue::BiasResidual { res, relu: true } => {
                            ((x + bias[i % n]) + res[i]).max(0.0)
                        }
                    };
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{m}x{k}x{n} at {i}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
