//! BlazeFace (MediaPipe short-range face detector, 128x128) in NHWC, run as the small op program
//! that `tools/convert_blazeface.py` wrote into the safetensors metadata: conv (stem, depthwise,
//! 1x1), ReLU, add, 2x2 max pool and zero channel padding over numbered values. The 1x1 convs and
//! the stem (through im2col) are matrix products over weights packed once at load
//! ([`crate::gemm`]); the depthwise 3x3 convs are direct loops over contiguous channel slices.

use anyhow::{bail, Context};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::gemm::{pointwise, Epilogue, Packed};
use crate::kernels::{same_padding, stem_im2col, Shape};

/// The converted weights and program (see `tools/convert_blazeface.py`), embedded in the binary.
static WEIGHTS: &[u8] = include_bytes!("../../../../models/blazeface-front-128.safetensors");
/// Input side of the network.
pub const SIDE: usize = 128;

/// One op as written by the converter; `x`/`y` are value numbers (0 = the input, `i + 1` = op i).
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Spec {
    Conv {
        x: usize,
        k: usize,
        stride: usize,
        group: usize,
        bias: bool,
    },
    Relu {
        x: usize,
    },
    Add {
        x: usize,
        y: usize,
    },
    Maxpool {
        x: usize,
    },
    Padc {
        x: usize,
        c: usize,
    },
}

enum Op {
    /// A full k x k conv (the stem) as im2col + product; the bias is the matrix's last row.
    Stem {
        x: usize,
        k: usize,
        stride: usize,
        w: Packed,
    },
    /// Depthwise k x k, weights `[ky][kx][C]`, no bias in this model.
    Depthwise {
        x: usize,
        k: usize,
        stride: usize,
        w: Vec<f32>,
    },
    /// 1x1 conv plus bias.
    Pointwise {
        x: usize,
        w: Packed,
        bias: Vec<f32>,
    },
    Relu {
        x: usize,
    },
    Add {
        x: usize,
        y: usize,
    },
    MaxPool {
        x: usize,
    },
    PadChannels {
        x: usize,
        c: usize,
    },
}

/// Raw network outputs for a batch, NHWC-flat as the ONNX model's four outputs: scores and
/// 16 box values (centre offset, size, 6 key points) per anchor, first the 16x16 grid (2 anchors
/// per cell), then the 8x8 grid (6 per cell).
pub struct RawOutput {
    pub scores16: Vec<f32>,
    pub scores8: Vec<f32>,
    pub boxes16: Vec<f32>,
    pub boxes8: Vec<f32>,
}

/// The detector network, ready for inference.
pub struct FaceNet {
    ops: Vec<Op>,
    /// Value numbers of the outputs: scores16, scores8, boxes16, boxes8.
    outputs: [usize; 4],
    /// Op index after which each value is no longer read (freed then).
    last_use: Vec<usize>,
}

fn tensor(st: &SafeTensors<'_>, name: &str) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    let t = st
        .tensor(name)
        .with_context(|| format!("tensor {name} missing"))?;
    anyhow::ensure!(t.dtype() == Dtype::F32, "{name}: expected f32");
    let data = t.data().chunks_exact(4);
    let data = data.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    Ok((t.shape().to_vec(), data.collect()))
}

impl FaceNet {
    /// Loads the embedded weights and program.
    pub fn load() -> anyhow::Result<Self> {
        let (_, meta) = SafeTensors::read_metadata(WEIGHTS)?;
        let meta = meta.metadata().as_ref().context("no metadata")?;
        let program: Vec<Spec> = serde_json::from_str(meta.get("program").context("no program")?)?;
        let names: std::collections::HashMap<String, usize> =
            serde_json::from_str(meta.get("outputs").context("no outputs")?)?;
        let out = |n: &str| names.get(n).copied().context("output missing");
        let outputs = [
            out("Identity")?,
            out("Identity_1")?,
            out("Identity_2")?,
            out("Identity_3")?,
        ];
        let st = SafeTensors::deserialize(WEIGHTS)?;
        let mut ops = Vec::with_capacity(program.len());
        for (i, spec) in program.into_iter().enumerate() {
            ops.push(match spec {
                Spec::Conv {
                    x,
                    k,
                    stride,
                    group,
                    bias,
                } => {
                    let (dims, w) = tensor(&st, &format!("{i}.weight"))?;
                    let b = match bias {
                        true => tensor(&st, &format!("{i}.bias"))?.1,
                        false => vec![0.0; dims[0]],
                    };
                    conv_op(x, k, stride, group, &dims, &w, b)?
                }
                Spec::Relu { x } => Op::Relu { x },
                Spec::Add { x, y } => Op::Add { x, y },
                Spec::Maxpool { x } => Op::MaxPool { x },
                Spec::Padc { x, c } => Op::PadChannels { x, c },
            });
        }
        let mut last_use = vec![0; ops.len() + 1];
        for (i, op) in ops.iter().enumerate() {
            for v in op.inputs() {
                anyhow::ensure!(v <= i, "op {i} reads value {v} before it exists");
                last_use[v] = i;
            }
        }
        for &o in &outputs {
            anyhow::ensure!(o <= ops.len(), "output value {o} out of range");
            last_use[o] = usize::MAX;
        }
        Ok(FaceNet {
            ops,
            outputs,
            last_use,
        })
    }

    /// Runs `n` images of `SIDE x SIDE x 3`, values in [-1, 1], laid end to end.
    pub fn forward(&self, input: &[f32]) -> anyhow::Result<RawOutput> {
        let per = SIDE * SIDE * 3;
        if input.is_empty() || !input.len().is_multiple_of(per) {
            bail!("input length {} is not a multiple of {per}", input.len());
        }
        let s0 = Shape {
            n: input.len() / per,
            h: SIDE,
            w: SIDE,
            c: 3,
        };
        let mut vals: Vec<Option<(Shape, Vec<f32>)>> = Vec::with_capacity(self.ops.len() + 1);
        vals.push(Some((s0, input.to_vec())));
        for (i, op) in self.ops.iter().enumerate() {
            let get = |v: usize| vals[v].as_ref().context("value already freed");
            let out = match op {
                Op::Stem { x, k, stride, w } => {
                    let (s, data) = get(*x)?;
                    let mut cols = Vec::new();
                    let cs = stem_im2col(data, *s, *k, *stride, &mut cols);
                    let mut o = Vec::new();
                    pointwise(&cols, w, &mut o, Epilogue::Store)?;
                    (Shape { c: w.n, ..cs }, o)
                }
                Op::Depthwise { x, k, stride, w } => {
                    let (s, data) = get(*x)?;
                    depthwise(data, *s, *k, *stride, w)
                }
                Op::Pointwise { x, w, bias } => {
                    let (s, data) = get(*x)?;
                    let mut o = Vec::new();
                    pointwise(data, w, &mut o, Epilogue::Store)?;
                    for px in o.chunks_exact_mut(w.n) {
                        px.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                    }
                    (Shape { c: w.n, ..*s }, o)
                }
                Op::Relu { x } => {
                    let (s, data) = get(*x)?;
                    (*s, data.iter().map(|v| v.max(0.0)).collect())
                }
                Op::Add { x, y } => {
                    let ((s, a), (_, b)) = (get(*x)?, get(*y)?);
                    anyhow::ensure!(a.len() == b.len(), "add: shapes differ");
                    (*s, a.iter().zip(b).map(|(p, q)| p + q).collect())
                }
                Op::MaxPool { x } => {
                    let (s, data) = get(*x)?;
                    max_pool(data, *s)
                }
                Op::PadChannels { x, c } => {
                    let (s, data) = get(*x)?;
                    let mut o = vec![0.0; data.len() / s.c * c];
                    for (d, px) in o.chunks_exact_mut(*c).zip(data.chunks_exact(s.c)) {
                        d[..s.c].copy_from_slice(px);
                    }
                    (Shape { c: *c, ..*s }, o)
                }
            };
            vals.push(Some(out));
            for v in op.inputs() {
                if self.last_use[v] == i {
                    vals[v] = None;
                }
            }
        }
        let mut take = |v: usize| vals[v].take().map(|(_, d)| d).context("output missing");
        let [s16, s8, b16, b8] = self.outputs;
        let raw = RawOutput {
            scores16: take(s16)?,
            scores8: take(s8)?,
            boxes16: take(b16)?,
            boxes8: take(b8)?,
        };
        let n = s0.n;
        anyhow::ensure!(
            raw.scores16.len() == n * 512 && raw.scores8.len() == n * 384,
            "unexpected output sizes"
        );
        Ok(raw)
    }
}

impl Op {
    fn inputs(&self) -> Vec<usize> {
        match *self {
            Op::Stem { x, .. }
            | Op::Depthwise { x, .. }
            | Op::Pointwise { x, .. }
            | Op::Relu { x }
            | Op::MaxPool { x }
            | Op::PadChannels { x, .. } => vec![x],
            Op::Add { x, y } => vec![x, y],
        }
    }
}

/// Builds a conv op from an OIHW weight.
fn conv_op(
    x: usize,
    k: usize,
    stride: usize,
    group: usize,
    dims: &[usize],
    w: &[f32],
    bias: Vec<f32>,
) -> anyhow::Result<Op> {
    let [cout, cin, kh, kw] = dims else {
        bail!("conv weight must be 4-d, got {dims:?}");
    };
    let (cout, cin) = (*cout, *cin);
    anyhow::ensure!(*kh == k && *kw == k, "kernel size mismatch");
    if group > 1 {
        anyhow::ensure!(
            group == cout && cin == 1,
            "only depthwise grouping is supported"
        );
        anyhow::ensure!(
            bias.iter().all(|&b| b == 0.0),
            "depthwise bias not supported"
        );
        // [C][1][ky][kx] → [ky][kx][C]
        let mut t = vec![0.0; w.len()];
        for ch in 0..cout {
            for j in 0..k * k {
                t[j * cout + ch] = w[ch * k * k + j];
            }
        }
        return Ok(Op::Depthwise { x, k, stride, w: t });
    }
    if k == 1 {
        anyhow::ensure!(stride == 1, "strided 1x1 conv not supported");
        let mut t = vec![0.0; cin * cout];
        for o in 0..cout {
            for i in 0..cin {
                t[i * cout + o] = w[o * cin + i];
            }
        }
        return Ok(Op::Pointwise {
            x,
            w: Packed::new(&t, cin, cout, None),
            bias,
        });
    }
    // Full conv: rows in (ky, kx, ci) order as `stem_im2col` lays them out, then the bias row.
    let rows = k * k * cin + 1;
    let mut t = vec![0.0; rows * cout];
    for o in 0..cout {
        for ci in 0..cin {
            for ky in 0..k {
                for kx in 0..k {
                    t[((ky * k + kx) * cin + ci) * cout + o] =
                        w[((o * cin + ci) * k + ky) * k + kx];
                }
            }
        }
        t[(rows - 1) * cout + o] = bias[o];
    }
    Ok(Op::Stem {
        x,
        k,
        stride,
        w: Packed::new(&t, rows, cout, None),
    })
}

/// Depthwise conv with TF "SAME" padding, no bias or activation.
fn depthwise(x: &[f32], s: Shape, k: usize, stride: usize, w: &[f32]) -> (Shape, Vec<f32>) {
    let (pt, _, oh) = same_padding(s.h, k, stride);
    let (pl, _, ow) = same_padding(s.w, k, stride);
    let c = s.c;
    let mut out = vec![0.0f32; s.n * oh * ow * c];
    for (n, img_out) in out.chunks_exact_mut(oh * ow * c).enumerate() {
        let img = &x[n * s.h * s.w * c..][..s.h * s.w * c];
        for (oy, row) in img_out.chunks_exact_mut(ow * c).enumerate() {
            for ky in 0..k {
                let Some(iy) = (oy * stride + ky).checked_sub(pt).filter(|&y| y < s.h) else {
                    continue;
                };
                let src = &img[iy * s.w * c..][..s.w * c];
                for kx in 0..k {
                    let wk = &w[(ky * k + kx) * c..][..c];
                    for (ox, acc) in row.chunks_exact_mut(c).enumerate() {
                        let Some(ix) = (ox * stride + kx).checked_sub(pl).filter(|&v| v < s.w)
                        else {
                            continue;
                        };
                        let px = &src[ix * c..][..c];
                        for ((a, &p), &wv) in acc.iter_mut().zip(px).zip(wk) {
                            *a += p * wv;
                        }
                    }
                }
            }
        }
    }
    (Shape { h: oh, w: ow, ..s }, out)
}

/// 2x2 max pool, stride 2 (even sides in this network).
fn max_pool(x: &[f32], s: Shape) -> (Shape, Vec<f32>) {
    let (oh, ow, c) = (s.h / 2, s.w / 2, s.c);
    let mut out = vec![f32::NEG_INFINITY; s.n * oh * ow * c];
    for (i, o) in out.chunks_exact_mut(c).enumerate() {
        let (n, oy, ox) = (i / (oh * ow), i / ow % oh, i % ow);
        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let at = ((n * s.h + 2 * oy + dy) * s.w + 2 * ox + dx) * c;
            o.iter_mut()
                .zip(&x[at..at + c])
                .for_each(|(m, &v)| *m = m.max(v));
        }
    }
    (Shape { h: oh, w: ow, ..s }, out)
}
