//! The CenterNet program interpreter: ops over numbered NHWC values, each freed after its last
//! reader; unary element-wise ops run in place when they are their input's only reader.

mod exec;

use anyhow::{bail, Context};

use super::boxes::BoxHead;
use super::fused::gated;
pub(super) use super::op::Op;
use super::{decode, load, profile};
use crate::buf::{Buf, Floats};
use crate::kernels::Shape;
use crate::program::{Program, Value};
pub(super) use exec::epilogue;

/// The converted weights and program (see `tools/convert_centernet.py`), embedded in the binary.
static WEIGHTS: &[u8] = include_bytes!("../../../../models/centernet.safetensors");
/// Input side the graph was exported at (its resize ops' sizes are for this side). The network is
/// fully convolutional, so any multiples of 32 run: `DetectNet::forward` takes the size.
pub const SIDE: usize = 512;
/// Output stride: the grid side is the input side / 4.
pub const STRIDE: usize = 4;
pub const CLASSES: usize = 80;

/// Raw network outputs for a batch, NHWC-flat: the class heatmap (sigmoid, `[n][gh][gw][80]`)
/// and the box extents (left, top, right, bottom distances in input pixels, `[n][gh][gw][4]`),
/// where `(gh, gw)` = [`RawOutput::grid`], the input's size / `STRIDE` (128x128 at 512x512).
pub struct RawOutput {
    pub keypoints: Buf,
    pub wh: Buf,
    /// Grid rows and columns.
    pub grid: (usize, usize),
    /// `keypoints` holds the heatmap's logits, the sigmoid not applied (decoding only needs it
    /// on the few peaks).
    pub logits: bool,
    /// When `wh` holds extents only where decoding reads them: the heatmap floor (its units)
    /// and image 0's peaks at that floor (`decode::top`); `wh` is zero elsewhere.
    pub top: Option<(f32, Vec<(f32, usize)>)>,
}

/// The detector network, ready for inference.
pub struct DetectNet {
    program: Program<Op>,
    /// The op that applies the heatmap's final sigmoid, if it is one.
    heat_sigmoid: Option<usize>,
    /// The box-extent head, when its shape allows computing it per cell.
    boxes: Option<BoxHead>,
    /// A [`Op::ConcatResized`] and the [`Op::Mean`] of its output (through `Identity` ops), by
    /// op index: the mean comes from sums taken while the concatenation is written.
    concat_mean: Option<(usize, usize)>,
    /// A squeeze-excite [`Op::Mul`] read only by blocks that start with their depthwise conv,
    /// and its gate value: `(op, gate)`.
    se_gate: Option<(usize, usize)>,
}

impl DetectNet {
    pub fn load() -> anyhow::Result<Self> {
        let (ops, outputs) = load::program(WEIGHTS)?;
        // Value v is op v - 1's output.
        let heat_sigmoid = outputs[0]
            .checked_sub(1)
            .filter(|&i| matches!(ops.get(i), Some(Op::Sigmoid { .. })));
        let boxes = BoxHead::find(&ops, outputs[1], &load::read_counts(&ops, &outputs));
        let concat_mean = super::fuse::concat_mean(&ops);
        let se_gate = super::fuse::se_gate(&ops, &outputs);
        Ok(DetectNet {
            program: Program::new(ops, &outputs)?,
            heat_sigmoid,
            boxes,
            concat_mean,
            se_gate,
        })
    }

    /// Runs `n` images of `h x w x 3` (`h` and `w` multiples of 32; a photo's own shape spares
    /// the letterbox bars a square would need), raw pixel values 0..255, laid end to end. With
    /// `peaks_from` (a score), the tagger's way: the heatmap's final sigmoid is left out, and for
    /// a single image the box extents are computed only at the peaks scoring at least that
    /// (see [`RawOutput::top`]). `input` best comes from [`DetectNet::input_buffer`].
    pub fn forward(
        &self,
        input: Buf,
        (h, w): (usize, usize),
        peaks_from: Option<f32>,
    ) -> anyhow::Result<RawOutput> {
        anyhow::ensure!(
            h >= 32 && w >= 32 && h.is_multiple_of(32) && w.is_multiple_of(32),
            "input {w}x{h} is not in positive multiples of 32"
        );
        let per = h * w * 3;
        if input.is_empty() || !input.len().is_multiple_of(per) {
            bail!("input length {} is not a multiple of {per}", input.len());
        }
        let n = input.len() / per;
        let s0 = Shape { n, h, w, c: 3 };
        let logits = peaks_from.is_some() && self.heat_sigmoid.is_some();
        let lazy = self
            .boxes
            .as_ref()
            .filter(|_| n == 1 && peaks_from.is_some());
        let mut head: Value = None;
        let mut sums: Value = None;
        let mut gate: Option<Vec<f32>> = None;
        let outs = self.program.run(s0, input, &mut |i, op, vals, spare| {
            profile::timed(i, op, || match op {
                Op::Folded => Ok(None),
                Op::Sigmoid { x } if logits && self.heat_sigmoid == Some(i) => self
                    .run(i, &Op::Identity { x: *x }, vals, spare, (h, w))
                    .map(Some),
                // The squeeze-excite mean over a resizing concatenation: summed while it is
                // written, so the mean need not read the map again.
                _ if self.concat_mean.is_some_and(|(c, _)| c == i) => {
                    let mut buf = spare.pop().unwrap_or_default();
                    let r = self.concat_resized(i, op, vals, spare, (h, w), Some(&mut buf))?;
                    sums = Some((r.0, buf));
                    Ok(Some(r))
                }
                _ if self.concat_mean.is_some_and(|(_, m)| m == i) => {
                    let (s, mut buf) = sums.take().context("mean before its concatenation")?;
                    let px = (s.h * s.w) as f32;
                    buf.iter_mut().for_each(|v| *v /= px);
                    Ok(Some((Shape { h: 1, w: 1, ..s }, buf)))
                }
                // The head's squeeze-excite product: the map passes on as it is and the gate
                // scales the heads' depthwise weights instead (`Block::run_gated`).
                _ if n == 1 && self.se_gate.is_some_and(|(m, _)| m == i) => {
                    let (Some((_, g)), &Op::Mul { x, y }) = (self.se_gate, op) else {
                        bail!("op {i} is not a gated product")
                    };
                    let map = if x == g { y } else { x };
                    let (_, gv) = vals[g].as_ref().context("value already freed")?;
                    gate = Some(gv.to_vec());
                    self.run(i, &Op::Identity { x: map }, vals, spare, (h, w))
                        .map(Some)
                }
                _ if lazy.is_some_and(|b| b.op == i) => {
                    let x = lazy.map_or(0, |b| b.input);
                    head = match self.program.last_reader(x, i) {
                        true => vals[x].take(),
                        false => vals[x].clone(),
                    };
                    let s = head.as_ref().context("value already freed")?.0;
                    // A pool buffer, filled at the peaks below.
                    Ok(Some((Shape { c: 4, ..s }, spare.pop().unwrap_or_default())))
                }
                Op::Block { x, block }
                    if gate.is_some() && self.se_gate.is_some_and(|(m, _)| *x == m + 1) =>
                {
                    let (s, data) = vals[*x].as_ref().context("value already freed")?;
                    let mut o = spare.pop().unwrap_or_default();
                    let g = gate.as_deref().unwrap_or_default();
                    let shape = block.run_gated(g, data, *s, &mut o, spare)?;
                    Ok(Some((shape, o)))
                }
                Op::MulC { x, .. } if lazy.is_some_and(|b| b.tail.contains(&i)) => self
                    .run(i, &Op::Identity { x: *x }, vals, spare, (h, w))
                    .map(Some),
                _ => self.run(i, op, vals, spare, (h, w)).map(Some),
            })
        })?;
        let [keypoints, mut wh]: [Buf; 2] = outs
            .try_into()
            .map_err(|_| anyhow::anyhow!("two outputs"))?;
        let grid = (h / STRIDE, w / STRIDE);
        let cells = n * grid.0 * grid.1;
        let mut top = None;
        if let (Some(b), Some((s, x)), Some(score)) = (lazy, &head, peaks_from) {
            let floor = decode::heat_floor(score, logits);
            let best = decode::top(&keypoints, grid, floor);
            wh.clear();
            wh.resize(cells * 4, 0.0);
            // Several classes can peak in one cell: its extents once.
            let mut at_cells: Vec<usize> = best.iter().map(|&(_, at)| at / CLASSES).collect();
            at_cells.sort_unstable();
            at_cells.dedup();
            let own = b.dw(&self.program.ops);
            let dw = gate.as_deref().map(|g| gated(own, g));
            for cell in at_cells {
                let e = b.at(&self.program.ops, dw.as_ref().unwrap_or(own), x, *s, cell);
                wh[cell * 4..][..4].copy_from_slice(&e);
            }
            top = Some((floor, best));
        }
        if let Some((_, x)) = head {
            self.program.recycle([x]);
        }
        let raw = RawOutput {
            keypoints,
            wh,
            grid,
            logits,
            top,
        };
        anyhow::ensure!(
            raw.keypoints.len() == cells * CLASSES && raw.wh.len() == cells * 4,
            "unexpected output sizes"
        );
        Ok(raw)
    }

    /// An empty buffer from the pool for [`DetectNet::forward`]'s input.
    pub fn input_buffer(&self) -> Buf {
        self.program.buffer()
    }

    /// Takes back the buffers of a result the caller is done with (see [`Program::recycle`]).
    pub fn recycle(&self, raw: RawOutput) {
        self.program.recycle([raw.keypoints, raw.wh]);
    }

    #[cfg(test)]
    pub fn pooled(&self) -> usize {
        self.program.pooled()
    }
}
