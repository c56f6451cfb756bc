//! BlazeFace (MediaPipe short-range face detector, 128x128) in NHWC, run as the small op program
//! that `tools/convert_blazeface.py` wrote into the safetensors metadata (see [`super::load`]).
//! Each BlazeBlock is one op: the SIMD depthwise conv shared with the object detector
//! ([`crate::detect::dw`]), then one matrix product over weights packed at load
//! ([`crate::gemm`]) whose epilogue adds the bias and the skip value and applies the ReLU.
//! Buffers are recycled between ops and kept between calls.

use anyhow::{bail, Context};

use super::load;
use super::ops::{max_pool, pad_channels, relu};
use crate::buf::{Buf, Floats};
use crate::detect::dw::depthwise;
use crate::gemm::{pointwise, Epilogue, Packed};
use crate::kernels::{Act, Depthwise, Shape};
use crate::program::{Program, ProgramOp, Value};
use crate::stem::stem_conv;

/// The converted weights and program (see `tools/convert_blazeface.py`), embedded in the binary.
static WEIGHTS: &[u8] = include_bytes!("../../../../models/blazeface-front-128.safetensors");
/// Input side of the network.
pub const SIDE: usize = 128;

pub(super) enum Op {
    /// A full k x k conv (the stem) as im2col + product; the bias is the matrix's last row.
    Stem {
        x: usize,
        k: usize,
        stride: usize,
        w: Packed,
    },
    /// `relu(pw(dw(x)) + bias + skip)`: depthwise k x k (no bias in this model), then the 1x1
    /// conv with its bias.
    Block {
        x: usize,
        skip: usize,
        dw: Depthwise,
        pw: Packed,
    },
    /// Depthwise k x k.
    Depthwise {
        x: usize,
        dw: Depthwise,
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
    /// Part of the [`Op::Block`] that follows; produces no value.
    Folded,
}

/// Raw network outputs for a batch, NHWC-flat as the ONNX model's four outputs: scores and
/// 16 box values (centre offset, size, 6 key points) per anchor, first the 16x16 grid (2 anchors
/// per cell), then the 8x8 grid (6 per cell).
pub struct RawOutput {
    pub scores16: Buf,
    pub scores8: Buf,
    pub boxes16: Buf,
    pub boxes8: Buf,
}

/// The detector network, ready for inference.
pub struct FaceNet {
    program: Program<Op>,
}

impl FaceNet {
    /// Loads the embedded weights and program.
    pub fn load() -> anyhow::Result<Self> {
        let (ops, outputs) = load::program(WEIGHTS)?;
        Ok(FaceNet {
            program: Program::new(ops, &outputs)?,
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
        let mut first = self.program.buffer();
        first.extend_from_slice(input);
        let outs = self.program.run(s0, first, &mut |i, op, vals, spare| {
            self.run(i, op, vals, spare)
        })?;
        let [scores16, scores8, boxes16, boxes8]: [Buf; 4] = outs
            .try_into()
            .map_err(|_| anyhow::anyhow!("four outputs"))?;
        let raw = RawOutput {
            scores16,
            scores8,
            boxes16,
            boxes8,
        };
        let n = s0.n;
        anyhow::ensure!(
            raw.scores16.len() == n * 512 && raw.scores8.len() == n * 384,
            "unexpected output sizes"
        );
        Ok(raw)
    }

    /// Takes back the buffers of a result the caller is done with (see
    /// `Program::recycle`).
    pub fn recycle(&self, raw: RawOutput) {
        self.program
            .recycle([raw.scores16, raw.scores8, raw.boxes16, raw.boxes8]);
    }

    #[cfg(test)]
    pub fn pooled(&self) -> usize {
        self.program.pooled()
    }

    /// Op `i`'s output value; buffers come from (and temporaries go back to) `spare`.
    fn run(
        &self,
        i: usize,
        op: &Op,
        vals: &mut [Value],
        spare: &mut Vec<Buf>,
    ) -> anyhow::Result<Value> {
        let get = |v: usize| vals[v].as_ref().context("value already freed");
        let mut o = spare.pop().unwrap_or_default();
        let shape = match op {
            Op::Folded => {
                spare.push(o);
                return Ok(None);
            }
            Op::Stem { x, k, stride, w } => {
                let (s, data) = get(*x)?;
                stem_conv(data, *s, (*k, *stride), w, Epilogue::Store, &mut o)
            }
            Op::Block { x, skip, dw, pw } => {
                let (s, data) = get(*x)?;
                let mut t = spare.pop().unwrap_or_default();
                let ds = depthwise(data, *s, dw, Act::None, &mut t);
                let (ss, res) = get(*skip)?;
                anyhow::ensure!(
                    (ss.n, ss.h, ss.w, ss.c, ds.c) == (ds.n, ds.h, ds.w, pw.n, pw.k),
                    "op {i}: skip shape {ss:?} does not match the block's output"
                );
                pointwise(&t, pw, &mut o, Epilogue::BiasResidual { res, relu: true })?;
                spare.push(t);
                Shape { c: pw.n, ..ds }
            }
            Op::Depthwise { x, dw } => {
                let (s, data) = get(*x)?;
                depthwise(data, *s, dw, Act::None, &mut o)
            }
            Op::Pointwise { x, w, bias } => {
                let (s, data) = get(*x)?;
                pointwise(data, w, &mut o, Epilogue::Store)?;
                for px in o.chunks_exact_mut(w.n) {
                    px.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                }
                Shape { c: w.n, ..*s }
            }
            Op::Relu { x } if self.program.last_reader(*x, i) => {
                // Its only reader: ReLU in place instead of into a new buffer.
                spare.push(o);
                let (s, mut data) = vals[*x].take().context("value already freed")?;
                relu(&mut data);
                return Ok(Some((s, data)));
            }
            Op::Relu { x } => {
                let (s, data) = get(*x)?;
                o.clear();
                o.extend_from_slice(data);
                relu(&mut o);
                *s
            }
            Op::Add { x, y } => {
                let ((s, a), (_, b)) = (get(*x)?, get(*y)?);
                anyhow::ensure!(a.len() == b.len(), "add: shapes differ");
                o.clear();
                o.extend(a.iter().zip(b.iter()).map(|(p, q)| p + q));
                *s
            }
            Op::MaxPool { x } => {
                let (s, data) = get(*x)?;
                max_pool(data, *s, &mut o)
            }
            Op::PadChannels { x, c } => {
                let (s, data) = get(*x)?;
                pad_channels(data, *s, *c, &mut o)
            }
        };
        Ok(Some((shape, o)))
    }
}

impl ProgramOp for Op {
    fn inputs(&self) -> Vec<usize> {
        match *self {
            Op::Stem { x, .. }
            | Op::Depthwise { x, .. }
            | Op::Pointwise { x, .. }
            | Op::Relu { x }
            | Op::MaxPool { x }
            | Op::PadChannels { x, .. } => vec![x],
            Op::Add { x, y } | Op::Block { x, skip: y, .. } => vec![x, y],
            Op::Folded => Vec::new(),
        }
    }
}
