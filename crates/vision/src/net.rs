//! EfficientNet-Lite0: weights (batch norm folded at load) and the forward pass, NHWC.
//!
//! 1x1 convolutions are matrix products `[pixels, C_in] x [C_in, C_out]` (matrixmultiply through
//! ndarray, runtime-dispatched AVX/FMA); depthwise convolutions use [`crate::kernels`], because a
//! grouped conv2d is several times slower for them. On the wide early maps the expansion conv
//! writes straight into the depthwise kernel's padded input (see `FUSE_MIN_WIDTH`).

use anyhow::{bail, Context};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use safetensors::{Dtype, SafeTensors};

use rayon::prelude::*;

use pulp::Arch;

use crate::kernels::{bias_relu6_in_place, pool_relu6, stem_im2col, Depthwise, Shape};
use crate::preprocess::INPUT_SIZE;

/// The converted weights (see `tools/convert_weights.py`), embedded in the binary.
static WEIGHTS: &[u8] = include_bytes!("../../../models/efficientnet-lite0.safetensors");

/// (kernel, stride) of the 16 MBConv blocks of EfficientNet-Lite0.
const BLOCKS: [(usize, usize); 16] = [
    (3, 1),
    (3, 2),
    (3, 1),
    (5, 2),
    (5, 1),
    (3, 2),
    (3, 1),
    (3, 1),
    (5, 1),
    (5, 1),
    (5, 1),
    (5, 2),
    (5, 1),
    (5, 1),
    (5, 1),
    (3, 1),
];
/// Batch-norm epsilon of the TF original.
const BN_EPS: f32 = 1e-3;
/// Number of ImageNet classes.
pub const CLASSES: usize = 1000;

/// A 1x1 convolution as a `[C_in (+1 bias row), C_out]` matrix.
struct Pointwise {
    w: Array2<f32>,
    /// Bias when it is not folded into the matrix as a last row (applied by the next kernel).
    bias: Vec<f32>,
}

struct Block {
    expand: Option<Pointwise>,
    dw: Depthwise,
    project: Pointwise,
    residual: bool,
}

/// The network, ready for inference.
pub struct Net {
    stem: Pointwise,
    blocks: Vec<Block>,
    head: Pointwise,
    fc: Pointwise,
}

struct Weights<'a>(SafeTensors<'a>);

impl Weights<'_> {
    fn contains(&self, name: &str) -> bool {
        self.0.tensor(name).is_ok()
    }

    fn get(&self, name: &str) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
        let t = self
            .0
            .tensor(name)
            .with_context(|| format!("weight {name} missing"))?;
        anyhow::ensure!(
            t.dtype() == Dtype::F32,
            "{name}: expected f32, found {:?}",
            t.dtype()
        );
        let data = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        Ok((t.shape().to_vec(), data.collect()))
    }

    /// A conv weight `[C_out, ...]` scaled per output channel by its batch norm, plus the bias.
    fn folded(&self, conv: &str, bn: &str) -> anyhow::Result<(Vec<usize>, Vec<f32>, Vec<f32>)> {
        let (dims, mut w) = self.get(&format!("{conv}.weight"))?;
        let (_, gamma) = self.get(&format!("{bn}.weight"))?;
        let (_, beta) = self.get(&format!("{bn}.bias"))?;
        let (_, mean) = self.get(&format!("{bn}.running_mean"))?;
        let (_, var) = self.get(&format!("{bn}.running_var"))?;
        let cout = dims[0];
        if gamma.len() != cout {
            bail!("{bn}: {} channels for {cout} filters", gamma.len());
        }
        let per = w.len() / cout;
        let mut bias = Vec::with_capacity(cout);
        for o in 0..cout {
            let scale = gamma[o] / (var[o] + BN_EPS).sqrt();
            w[o * per..(o + 1) * per]
                .iter_mut()
                .for_each(|v| *v *= scale);
            bias.push(beta[o] - mean[o] * scale);
        }
        Ok((dims, w, bias))
    }
}

/// `[C_out, K]` row-major → `[K (+1), C_out]` tensor, optionally with the bias as the last row.
fn matrix(w: &[f32], cout: usize, bias: Option<&[f32]>) -> anyhow::Result<Array2<f32>> {
    let k = w.len() / cout;
    let rows = k + usize::from(bias.is_some());
    let mut t = vec![0.0f32; rows * cout];
    for o in 0..cout {
        for i in 0..k {
            t[i * cout + o] = w[o * k + i];
        }
    }
    if let Some(b) = bias {
        t[k * cout..].copy_from_slice(b);
    }
    Ok(Array2::from_shape_vec((rows, cout), t)?)
}

impl Net {
    /// Loads and prepares the embedded weights.
    pub fn load() -> anyhow::Result<Self> {
        let w = Weights(SafeTensors::deserialize(WEIGHTS)?);
        let (dims, sw, sb) = w.folded("_conv_stem", "_bn0")?;
        // OIHW → rows in (ky, kx, ci) order to match `stem_im2col`.
        let (cout, cin, k) = (dims[0], dims[1], dims[2]);
        let mut reordered = vec![0.0f32; sw.len()];
        for o in 0..cout {
            for ci in 0..cin {
                for ky in 0..k {
                    for kx in 0..k {
                        reordered[o * cin * k * k + (ky * k + kx) * cin + ci] =
                            sw[((o * cin + ci) * k + ky) * k + kx];
                    }
                }
            }
        }
        let stem = Pointwise {
            w: matrix(&reordered, cout, Some(&sb))?,
            bias: Vec::new(),
        };
        let mut blocks = Vec::new();
        for (i, &(k, stride)) in BLOCKS.iter().enumerate() {
            let p = format!("_blocks.{i}");
            let expand = if w.contains(&format!("{p}._expand_conv.weight")) {
                let (d, ew, eb) = w.folded(&format!("{p}._expand_conv"), &format!("{p}._bn0"))?;
                Some((
                    d[1],
                    Pointwise {
                        w: matrix(&ew, d[0], None)?,
                        bias: eb,
                    },
                ))
            } else {
                None
            };
            let (d, dw, db) = w.folded(&format!("{p}._depthwise_conv"), &format!("{p}._bn1"))?;
            let (c, kk) = (d[0], d[2] * d[3]);
            if d[2] != k {
                bail!("{p}: kernel {} but the architecture says {k}", d[2]);
            }
            // [C][ky][kx] → [ky][kx][C]
            let mut weights = vec![0.0f32; dw.len()];
            for ch in 0..c {
                for j in 0..kk {
                    weights[j * c + ch] = dw[ch * kk + j];
                }
            }
            let (pd, pw, pb) = w.folded(&format!("{p}._project_conv"), &format!("{p}._bn2"))?;
            // Only a block fed by the stem may skip expansion: its depthwise input copy applies
            // ReLU6 without a bias, which is right for the stem output and nothing else.
            if expand.is_none() && i != 0 {
                bail!("{p}: block without expansion after the first");
            }
            let cin = expand.as_ref().map_or(c, |e| e.0);
            blocks.push(Block {
                expand: expand.map(|e| e.1),
                dw: Depthwise {
                    k,
                    stride,
                    weights,
                    bias: db,
                },
                project: Pointwise {
                    w: matrix(&pw, pd[0], Some(&pb))?,
                    bias: Vec::new(),
                },
                residual: stride == 1 && cin == pd[0],
            });
        }
        let (hd, hw, hb) = w.folded("_conv_head", "_bn1")?;
        let head = Pointwise {
            w: matrix(&hw, hd[0], None)?,
            bias: hb,
        };
        let (fd, fw) = w.get("_fc.weight")?;
        let (_, fb) = w.get("_fc.bias")?;
        if fd[0] != CLASSES {
            bail!("classifier has {} outputs, expected {CLASSES}", fd[0]);
        }
        let fc = Pointwise {
            w: matrix(&fw, fd[0], Some(&fb))?,
            bias: Vec::new(),
        };
        Ok(Net {
            stem,
            blocks,
            head,
            fc,
        })
    }

    /// Logits `[n][1000]` for `n` normalised 224x224x3 NHWC images laid end to end in `input`.
    /// Uses the current rayon pool for parallel work and `ws` for all large buffers.
    pub fn forward(&self, input: &[f32], ws: &mut Workspace) -> anyhow::Result<Vec<Vec<f32>>> {
        let side = INPUT_SIZE as usize;
        let per_image = side * side * 3;
        if input.is_empty() || !input.len().is_multiple_of(per_image) {
            bail!(
                "input length {} is not a multiple of {per_image}",
                input.len()
            );
        }
        let n = input.len() / per_image;
        let Workspace {
            cols,
            x,
            y,
            padded,
            dw,
        } = ws;
        let s = stem_im2col(
            input,
            Shape {
                n,
                h: side,
                w: side,
                c: 3,
            },
            3,
            2,
            cols,
        );
        // The stem's output still lacks its ReLU6: block 0 (no expansion) applies it while padding.
        pointwise(cols, s.c, &self.stem.w, x, None)?;
        let mut s = Shape {
            c: self.stem.w.ncols(),
            ..s
        };
        for b in &self.blocks {
            let ds = match &b.expand {
                // Wide maps: the expansion writes each image row straight into the padded
                // depthwise input and activates it there while it is in cache, saving a write
                // and a read of the block's largest tensor. Narrow maps (14x14, 7x7) keep whole
                // products, where per-row calls would repack the (larger) weights too often.
                Some(e) if s.w >= FUSE_MIN_WIDTH => {
                    let es = Shape {
                        c: e.w.ncols(),
                        ..s
                    };
                    let arch = Arch::new();
                    let xin: &[f32] = x;
                    let fill = |n: usize, iy: usize, dst: &mut [f32]| {
                        let a = &xin[(n * s.h + iy) * s.w * s.c..][..s.w * s.c];
                        let a = ArrayView2::from_shape((s.w, s.c), a).expect("row shape");
                        let mut c =
                            ArrayViewMut2::from_shape((s.w, es.c), &mut *dst).expect("row shape");
                        general_mat_mul(1.0, &a, &e.w, 0.0, &mut c);
                        bias_relu6_in_place(arch, dst, &e.bias);
                    };
                    b.dw.forward_with(es, fill, padded, dw)
                }
                Some(e) => {
                    pointwise(x, s.c, &e.w, y, None)?;
                    let es = Shape {
                        c: e.w.ncols(),
                        ..s
                    };
                    b.dw.forward(y, es, Some(&e.bias), padded, dw)
                }
                None => b.dw.forward(x, s, None, padded, dw),
            };
            pointwise(
                dw,
                ds.c,
                &b.project.w,
                y,
                b.residual.then_some(x.as_slice()),
            )?;
            std::mem::swap(x, y);
            s = Shape {
                c: b.project.w.ncols(),
                ..ds
            };
        }
        pointwise(x, s.c, &self.head.w, y, None)?;
        let hs = Shape {
            c: self.head.w.ncols(),
            ..s
        };
        let pooled = pool_relu6(y, hs, &self.head.bias);
        let mut flat = Vec::new();
        pointwise(&pooled, hs.c + 1, &self.fc.w, &mut flat, None)?;
        Ok(flat.chunks_exact(CLASSES).map(<[f32]>::to_vec).collect())
    }
}

/// Reusable activation buffers. Allocating fresh multi-megabyte buffers per image costs more
/// than the arithmetic on them (the kernel maps and zero-fills new pages on first touch), so each
/// worker keeps one workspace and `resize` only ever grows it.
#[derive(Default)]
pub struct Workspace {
    cols: Vec<f32>,
    x: Vec<f32>,
    y: Vec<f32>,
    padded: Vec<f32>,
    dw: Vec<f32>,
}

/// Narrowest feature map whose expansion is fused into the depthwise padding (see `forward`).
const FUSE_MIN_WIDTH: usize = 28;

/// Target size (floats) of one row block of a 1x1 convolution: blocks are the unit of parallel
/// work, and large enough that packing the weight matrix per block is negligible.
const BLOCK_FLOATS: usize = 1 << 16;

/// `out = inp x w (+ residual)` for `inp` = `[rows, k]`, computed in row blocks in parallel,
/// straight into `out` (no temporary result).
fn pointwise(
    inp: &[f32],
    k: usize,
    w: &Array2<f32>,
    out: &mut Vec<f32>,
    residual: Option<&[f32]>,
) -> anyhow::Result<()> {
    let n = w.ncols();
    anyhow::ensure!(
        w.nrows() == k && inp.len().is_multiple_of(k),
        "matrix shapes do not match"
    );
    let m = inp.len() / k;
    out.resize(m * n, 0.0);
    let rows = (BLOCK_FLOATS / k.max(n)).clamp(16, 2048);
    // Equal shares for the workers: the late 14x14 and 7x7 layers give only one to three blocks,
    // which would leave a core idle when a single image is tagged with several threads.
    let threads = rayon::current_num_threads();
    let blocks = m
        .div_ceil(rows)
        .next_multiple_of(threads)
        .min(m.div_ceil(8).max(1));
    let rows = m.div_ceil(blocks).max(1);
    out.par_chunks_mut(rows * n)
        .zip(inp.par_chunks(rows * k))
        .enumerate()
        .try_for_each(|(i, (o, a))| -> anyhow::Result<()> {
            let r = a.len() / k;
            let a = ArrayView2::from_shape((r, k), a)?;
            // With beta = 0 the product overwrites `o`; with a residual, `o` starts as it.
            let beta = match residual {
                Some(res) => {
                    o.copy_from_slice(&res[i * rows * n..][..o.len()]);
                    1.0
                }
                None => 0.0,
            };
            let mut c = ArrayViewMut2::from_shape((r, n), o)?;
            general_mat_mul(1.0, &a, w, beta, &mut c);
            Ok(())
        })
}
