//! EfficientNet-Lite2: weights (batch norm folded at load) and the forward pass, NHWC.
//!
//! 1x1 convolutions are matrix products `[pixels, C_in] x [C_in, C_out]` over weights packed at
//! load time ([`crate::gemm`]), with bias + ReLU6 or the residual add fused into the store;
//! depthwise convolutions use [`crate::kernels`]. Blocks on the wide early maps run row by row
//! ([`crate::block`]), so their large intermediate tensors stay in cache.

use anyhow::{bail, Context};
use safetensors::{Dtype, SafeTensors};

use crate::block;
use crate::gemm::{pointwise, Epilogue, Packed};
use crate::kernels::{pool_mean, stem_im2col, Depthwise, Shape};
use crate::preprocess::INPUT_SIZE;

/// The converted weights (see `tools/convert_weights.py`), embedded in the binary.
static WEIGHTS: &[u8] = include_bytes!("../../../models/efficientnet-lite2.safetensors");

/// EfficientNet-Lite2's stages: (kernel, stride of the first block, blocks). Lite-B0's repeats
/// (1, 2, 2, 3, 3, 4, 1) times depth 1.2, rounded up; the first and last stage fixed, as in TF's
/// `efficientnet_lite_builder`. Channel counts come from the weight shapes.
const STAGES: [(usize, usize, usize); 7] = [
    (3, 1, 1),
    (3, 2, 3),
    (5, 2, 3),
    (3, 2, 4),
    (5, 1, 4),
    (5, 2, 5),
    (3, 1, 1),
];

/// (kernel, stride) of each MBConv block, in order.
fn block_shapes() -> impl Iterator<Item = (usize, usize)> {
    STAGES
        .iter()
        .flat_map(|&(k, s, n)| (0..n).map(move |i| (k, if i == 0 { s } else { 1 })))
}

/// Batch-norm epsilon of the TF original.
const BN_EPS: f32 = 1e-3;
/// Number of ImageNet classes.
pub const CLASSES: usize = 1000;

/// Expansion and head convs carry their bias in the packed matrix's epilogue (with ReLU6);
/// stem, projections and the classifier have it as a last matrix row that multiplies a 1.0
/// column of their input.
struct Block {
    expand: Option<Packed>,
    dw: Depthwise,
    project: Packed,
    residual: bool,
}

/// The network, ready for inference.
pub struct Net {
    stem: Packed,
    blocks: Vec<Block>,
    head: Packed,
    fc: Packed,
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

/// `[C_out, K]` row-major → packed `[K (+1), C_out]`, the bias either as the last row
/// (`bias_row`) or for the epilogue (`bias`).
fn matrix(w: &[f32], cout: usize, bias_row: Option<&[f32]>, bias: Option<&[f32]>) -> Packed {
    let k = w.len() / cout;
    let rows = k + usize::from(bias_row.is_some());
    let mut t = vec![0.0f32; rows * cout];
    for o in 0..cout {
        for i in 0..k {
            t[i * cout + o] = w[o * k + i];
        }
    }
    if let Some(b) = bias_row {
        t[k * cout..].copy_from_slice(b);
    }
    Packed::new(&t, rows, cout, bias)
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
        let stem = matrix(&reordered, cout, Some(&sb), None);
        let mut blocks = Vec::new();
        for (i, (k, stride)) in block_shapes().enumerate() {
            let p = format!("_blocks.{i}");
            let expand = if w.contains(&format!("{p}._expand_conv.weight")) {
                let (d, ew, eb) = w.folded(&format!("{p}._expand_conv"), &format!("{p}._bn0"))?;
                Some((d[1], matrix(&ew, d[0], None, Some(&eb))))
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
                project: matrix(&pw, pd[0], Some(&pb), None),
                residual: stride == 1 && cin == pd[0],
            });
        }
        if w.contains(&format!("_blocks.{}._project_conv.weight", blocks.len())) {
            bail!(
                "the weights have more than the architecture's {} blocks",
                blocks.len()
            );
        }
        let (hd, hw, hb) = w.folded("_conv_head", "_bn1")?;
        let head = matrix(&hw, hd[0], None, Some(&hb));
        let (fd, fw) = w.get("_fc.weight")?;
        let (_, fb) = w.get("_fc.bias")?;
        if fd[0] != CLASSES {
            bail!("classifier has {} outputs, expected {CLASSES}", fd[0]);
        }
        let fc = matrix(&fw, fd[0], Some(&fb), None);
        Ok(Net {
            stem,
            blocks,
            head,
            fc,
        })
    }

    /// Logits `[n][1000]` for `n` normalised 260x260x3 NHWC images laid end to end in `input`.
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
            scratch,
        } = ws;
        let mut s = stem_im2col(
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
        let mut first = true;
        for b in &self.blocks {
            let inp: &[f32] = if first { cols } else { x };
            // Block 0 has no expansion: its input is the stem, run here over the im2col rows.
            let parts = block::Parts {
                expand: b.expand.as_ref().or(first.then_some(&self.stem)),
                dw: &b.dw,
                project: &b.project,
                residual: b.residual,
            };
            s = if s.w >= FUSE_MIN_WIDTH {
                block::run(&parts, inp, s, y, scratch)
            } else {
                let e = parts.expand.context("narrow block without expansion")?;
                pointwise(inp, e, y, Epilogue::BiasRelu6)?;
                let ds = b.dw.forward(y, Shape { c: e.n, ..s }, padded, dw);
                let epi = match b.residual {
                    true => Epilogue::Residual(inp),
                    false => Epilogue::Store,
                };
                pointwise(dw, &b.project, y, epi)?;
                Shape {
                    c: b.project.n,
                    ..ds
                }
            };
            std::mem::swap(x, y);
            first = false;
        }
        pointwise(x, &self.head, y, Epilogue::BiasRelu6)?;
        let pooled = pool_mean(
            y,
            Shape {
                c: self.head.n,
                ..s
            },
        );
        let mut flat = Vec::new();
        pointwise(&pooled, &self.fc, &mut flat, Epilogue::Store)?;
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
    scratch: Vec<block::Scratch>,
}

/// Narrowest feature map run row by row through [`block::run`]; narrower maps (14x14, 7x7) go
/// layer at a time, where the weights outweigh the activations and whole products use them best.
const FUSE_MIN_WIDTH: usize = 28;
