//! The CenterNet program interpreter: ops over numbered NHWC values, each freed after its last
//! reader; unary element-wise ops run in place when they are their input's only reader.

use anyhow::{bail, Context};
use rayon::prelude::*;

use super::{load, ops};
use crate::gemm::{pointwise, Epilogue, Packed};
use crate::kernels::{stem_im2col, Shape};
use crate::program::{Program, ProgramOp, Value};

/// The converted weights and program (see `tools/convert_centernet.py`), embedded in the binary.
static WEIGHTS: &[u8] = include_bytes!("../../../../models/centernet.safetensors");
/// Input side of the network.
pub const SIDE: usize = 512;
/// Output grid side (stride 4) and classes.
pub const GRID: usize = 128;
pub const CLASSES: usize = 80;

pub(super) enum Op {
    /// The full k x k stem conv as im2col + product; the bias is the matrix's last row.
    Stem {
        x: usize,
        k: usize,
        stride: usize,
        w: Packed,
    },
    /// 1x1 conv plus bias, ReLU if `relu`.
    Pointwise {
        x: usize,
        w: Packed,
        bias: Vec<f32>,
        relu: bool,
    },
    /// Depthwise k x k, weights `[ky][kx][C]`, plus bias, ReLU if `relu`.
    Depthwise {
        x: usize,
        k: usize,
        stride: usize,
        w: Vec<f32>,
        bias: Vec<f32>,
        relu: bool,
    },
    /// Hard swish `(x * c) * relu6(x + 3)`, the graph's mulc/addc/relu6/mul chain in one pass
    /// (same operations in the same order, so the same result).
    HSwish {
        x: usize,
        c: f32,
    },
    /// Part of the [`Op::HSwish`] that follows; produces no value.
    Folded,
    MulC {
        x: usize,
        c: f32,
    },
    AddC {
        x: usize,
        c: f32,
    },
    Mul {
        x: usize,
        y: usize,
    },
    Add {
        x: usize,
        y: usize,
    },
    Relu {
        x: usize,
    },
    Relu6 {
        x: usize,
    },
    Sigmoid {
        x: usize,
    },
    Mean {
        x: usize,
    },
    Resize {
        x: usize,
        h: usize,
        w: usize,
    },
    Concat {
        x: usize,
        y: usize,
    },
}

/// Raw network outputs for a batch, NHWC-flat: the class heatmap (sigmoid, `[n][128][128][80]`)
/// and the box extents (left, top, right, bottom distances in input pixels, `[n][128][128][4]`).
pub struct RawOutput {
    pub keypoints: Vec<f32>,
    pub wh: Vec<f32>,
}

/// The detector network, ready for inference.
pub struct DetectNet {
    program: Program<Op>,
}

impl DetectNet {
    pub fn load() -> anyhow::Result<Self> {
        let (ops, outputs) = load::program(WEIGHTS)?;
        Ok(DetectNet {
            program: Program::new(ops, &outputs)?,
        })
    }

    /// Runs `n` images of `SIDE x SIDE x 3`, raw pixel values 0..255, laid end to end.
    pub fn forward(&self, input: &[f32]) -> anyhow::Result<RawOutput> {
        let per = SIDE * SIDE * 3;
        if input.is_empty() || !input.len().is_multiple_of(per) {
            bail!("input length {} is not a multiple of {per}", input.len());
        }
        let n = input.len() / per;
        let s0 = Shape {
            n,
            h: SIDE,
            w: SIDE,
            c: 3,
        };
        let outs = self
            .program
            .run(s0, input, &mut |i, op, vals, spare| match op {
                Op::Folded => Ok(None),
                _ => self.run(i, op, vals, spare).map(Some),
            })?;
        let [keypoints, wh]: [Vec<f32>; 2] = outs
            .try_into()
            .map_err(|_| anyhow::anyhow!("two outputs"))?;
        let raw = RawOutput { keypoints, wh };
        anyhow::ensure!(
            raw.keypoints.len() == n * GRID * GRID * CLASSES && raw.wh.len() == n * GRID * GRID * 4,
            "unexpected output sizes"
        );
        Ok(raw)
    }

    fn run(
        &self,
        i: usize,
        op: &Op,
        vals: &mut [Value],
        spare: &mut Vec<Vec<f32>>,
    ) -> anyhow::Result<(Shape, Vec<f32>)> {
        match *op {
            Op::HSwish { x, c } => {
                return self.unary(i, x, vals, move |v| (v * c) * (v + 3.0).clamp(0.0, 6.0))
            }
            Op::MulC { x, c } => return self.unary(i, x, vals, move |v| v * c),
            Op::AddC { x, c } => return self.unary(i, x, vals, move |v| v + c),
            Op::Relu { x } => return self.unary(i, x, vals, |v| v.max(0.0)),
            Op::Relu6 { x } => return self.unary(i, x, vals, |v| v.clamp(0.0, 6.0)),
            Op::Sigmoid { x } => return self.unary(i, x, vals, |v| 1.0 / (1.0 + (-v).exp())),
            _ => {}
        }
        let get = |v: usize| vals[v].as_ref().context("value already freed");
        let mut o = spare.pop().unwrap_or_default();
        let shape = match op {
            Op::Stem { x, k, stride, w } => {
                let (s, data) = get(*x)?;
                let mut cols = spare.pop().unwrap_or_default();
                let cs = stem_im2col(data, *s, *k, *stride, &mut cols);
                pointwise(&cols, w, &mut o, Epilogue::Store)?;
                spare.push(cols);
                Shape { c: w.n, ..cs }
            }
            Op::Pointwise { x, w, bias, relu } => {
                let (s, data) = get(*x)?;
                anyhow::ensure!(
                    s.c == w.k,
                    "op {i}: {} channels into a {}-row 1x1",
                    s.c,
                    w.k
                );
                pointwise(data, w, &mut o, Epilogue::Store)?;
                let relu = *relu;
                o.par_chunks_mut(w.n * 256).for_each(|rows| {
                    for px in rows.chunks_exact_mut(w.n) {
                        px.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                        if relu {
                            px.iter_mut().for_each(|v| *v = v.max(0.0));
                        }
                    }
                });
                Shape { c: w.n, ..*s }
            }
            Op::Depthwise {
                x,
                k,
                stride,
                w,
                bias,
                relu,
            } => {
                let (s, data) = get(*x)?;
                anyhow::ensure!(s.c == bias.len(), "op {i}: depthwise channels");
                ops::depthwise(data, *s, *k, *stride, w, bias, *relu, &mut o)
            }
            Op::Mul { x, y } => {
                let ((sx, a), (sy, b)) = (get(*x)?, get(*y)?);
                ops::mul((a, *sx), (b, *sy), &mut o)?
            }
            Op::Add { x, y } => {
                let ((s, a), (sy, b)) = (get(*x)?, get(*y)?);
                anyhow::ensure!(a.len() == b.len(), "op {i}: add {s:?} + {sy:?}");
                o.clear();
                o.extend(a.iter().zip(b).map(|(p, q)| p + q));
                *s
            }
            Op::Mean { x } => {
                let (s, data) = get(*x)?;
                ops::mean(data, *s, &mut o)
            }
            Op::Resize { x, h, w } => {
                let (s, data) = get(*x)?;
                ops::resize(data, *s, *h, *w, &mut o)
            }
            Op::Concat { x, y } => {
                let ((sx, a), (sy, b)) = (get(*x)?, get(*y)?);
                ops::concat((a, *sx), (b, *sy), &mut o)?
            }
            Op::HSwish { .. }
            | Op::Folded
            | Op::MulC { .. }
            | Op::AddC { .. }
            | Op::Relu { .. }
            | Op::Relu6 { .. }
            | Op::Sigmoid { .. } => unreachable!("handled above"),
        };
        Ok((shape, o))
    }

    /// Element-wise `f` of value `x`, in place when op `i` is its only reader; in parallel.
    fn unary<F: Fn(f32) -> f32 + Sync>(
        &self,
        i: usize,
        x: usize,
        vals: &mut [Value],
        f: F,
    ) -> anyhow::Result<(Shape, Vec<f32>)> {
        let (s, mut d) = if self.program.last_reader(x, i) {
            vals[x].take().context("value already freed")?
        } else {
            vals[x].clone().context("value already freed")?
        };
        d.par_chunks_mut(1 << 14)
            .for_each(|c| c.iter_mut().for_each(|v| *v = f(*v)));
        Ok((s, d))
    }
}

impl ProgramOp for Op {
    fn inputs(&self) -> Vec<usize> {
        match *self {
            Op::Stem { x, .. }
            | Op::Pointwise { x, .. }
            | Op::Depthwise { x, .. }
            | Op::HSwish { x, .. }
            | Op::MulC { x, .. }
            | Op::AddC { x, .. }
            | Op::Relu { x }
            | Op::Relu6 { x }
            | Op::Sigmoid { x }
            | Op::Mean { x }
            | Op::Resize { x, .. } => vec![x],
            Op::Mul { x, y } | Op::Add { x, y } | Op::Concat { x, y } => vec![x, y],
            Op::Folded => Vec::new(),
        }
    }
}
