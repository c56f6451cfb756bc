//! The interpreter's plain path: each op of the program on its operands, outputs in pool
//! buffers; element-wise ops in place when they are their input's last reader. The tagger's
//! special cases (lazy box head, squeeze-excite fold, concatenation mean) sit on top of it in
//! [`DetectNet::forward`].

use anyhow::{bail, Context};
use rayon::prelude::*;

use super::{DetectNet, Op, SIDE};
use crate::buf::{Buf, Floats};
use crate::detect::{dw, merge, ops};
use crate::gemm::{pointwise, Epilogue};
use crate::kernels::{Act, Shape};
use crate::program::Value;
use crate::stem::stem_conv;

impl DetectNet {
    pub(super) fn run(
        &self,
        i: usize,
        op: &Op,
        vals: &mut [Value],
        spare: &mut Vec<Buf>,
        (ih, iw): (usize, usize),
    ) -> anyhow::Result<(Shape, Buf)> {
        match *op {
            Op::HSwish { x, c } => {
                return self.unary(i, x, vals, spare, move |v| {
                    (v * c) * (v + 3.0).clamp(0.0, 6.0)
                })
            }
            Op::MulC { x, c } => return self.unary(i, x, vals, spare, move |v| v * c),
            Op::AddC { x, c } => return self.unary(i, x, vals, spare, move |v| v + c),
            Op::Relu { x } => return self.unary(i, x, vals, spare, |v| v.max(0.0)),
            Op::Relu6 { x } => return self.unary(i, x, vals, spare, |v| v.clamp(0.0, 6.0)),
            Op::Sigmoid { x } => {
                return self.unary(i, x, vals, spare, |v| 1.0 / (1.0 + (-v).exp()))
            }
            Op::Mul { x, y } => {
                if let Some(r) = self.in_place(i, (x, y), vals, ops::scale) {
                    return r;
                }
            }
            Op::Add { x, y } => {
                if let Some(r) = self.in_place(i, (x, y), vals, ops::add) {
                    return r;
                }
            }
            Op::Identity { x } if self.program.last_reader(x, i) => {
                return vals[x].take().context("value already freed")
            }
            Op::Identity { x } => return self.unary(i, x, vals, spare, |v| v),
            _ => {}
        }
        let get = |v: usize| vals[v].as_ref().context("value already freed");
        let mut o = spare.pop().unwrap_or_default();
        let shape = match op {
            Op::Stem {
                x,
                k,
                stride,
                w,
                act,
            } => {
                let (s, data) = get(*x)?;
                // The bias is the matrix's last row; the packed bias is zero.
                stem_conv(data, *s, (*k, *stride), w, epilogue(*act), &mut o)
            }
            Op::Pointwise { x, w, act } => {
                let (s, data) = get(*x)?;
                anyhow::ensure!(
                    s.c == w.k,
                    "op {i}: {} channels into a {}-row 1x1",
                    s.c,
                    w.k
                );
                pointwise(data, w, &mut o, epilogue(*act))?;
                Shape { c: w.n, ..*s }
            }
            Op::Depthwise { x, dw, act } => {
                let (s, data) = get(*x)?;
                anyhow::ensure!(s.c == dw.bias.len(), "op {i}: depthwise channels");
                dw::depthwise(data, *s, dw, *act, &mut o)
            }
            Op::Block { x, block } => {
                let (s, data) = get(*x)?;
                block.run(data, *s, &mut o, spare)?
            }
            Op::Mul { x, y } => {
                let ((sx, a), (sy, b)) = (get(*x)?, get(*y)?);
                ops::mul((a, *sx), (b, *sy), &mut o)?
            }
            Op::Add { x, y } => {
                let ((s, a), (sy, b)) = (get(*x)?, get(*y)?);
                anyhow::ensure!(a.len() == b.len(), "op {i}: add {s:?} + {sy:?}");
                o.clear();
                o.extend(a.iter().zip(b.iter()).map(|(p, q)| p + q));
                *s
            }
            Op::Mean { x } => {
                let (s, data) = get(*x)?;
                ops::mean(data, *s, &mut o)
            }
            Op::Resize { x, h, w } => {
                let (s, data) = get(*x)?;
                // The graph's sizes are for SIDE x SIDE; the maps scale with the input.
                merge::resize(data, *s, *h * ih / SIDE, *w * iw / SIDE, &mut o)
            }
            Op::Concat { x, y, act } => {
                let ((sx, a), (sy, b)) = (get(*x)?, get(*y)?);
                merge::concat((a, *sx), (b, *sy), *act, &mut o)?
            }
            Op::ConcatResized { .. } => {
                spare.push(o);
                return self.concat_resized(i, op, vals, spare, (ih, iw), None);
            }
            Op::HSwish { .. }
            | Op::Folded
            | Op::MulC { .. }
            | Op::AddC { .. }
            | Op::Relu { .. }
            | Op::Relu6 { .. }
            | Op::Sigmoid { .. }
            | Op::Identity { .. } => unreachable!("handled above"),
        };
        Ok((shape, o))
    }

    /// Op `i`, an [`Op::ConcatResized`]; with `sums`, also the result's per-channel sums.
    pub(super) fn concat_resized(
        &self,
        i: usize,
        op: &Op,
        vals: &[Value],
        spare: &mut Vec<Buf>,
        (ih, iw): (usize, usize),
        sums: Option<&mut Buf>,
    ) -> anyhow::Result<(Shape, Buf)> {
        let Op::ConcatResized { x, y, h, w, act } = *op else {
            bail!("op {i} is not a resizing concatenation");
        };
        let get = |v: usize| vals[v].as_ref().context("value already freed");
        let ((sx, a), (sy, b)) = (get(x)?, get(y)?);
        // The graph's sizes are for SIDE x SIDE; the maps scale with the input.
        let target = (h * ih / SIDE, w * iw / SIDE);
        anyhow::ensure!(
            target == (sx.h, sx.w),
            "op {i}: resize to {target:?} for a {sx:?} map"
        );
        let (mut o, mut tmp) = (
            spare.pop().unwrap_or_default(),
            spare.pop().unwrap_or_default(),
        );
        let shape = merge::concat_resized((a, *sx), (b, *sy), act, &mut o, &mut tmp, sums);
        spare.push(tmp);
        Ok((shape?, o))
    }

    /// `f(map, other)` into the bigger operand's own buffer when op `i` is its last reader
    /// (spares a map-sized write of a fresh buffer); `None` when it is read later.
    fn in_place(
        &self,
        i: usize,
        (x, y): (usize, usize),
        vals: &mut [Value],
        f: fn(&mut [f32], Shape, &[f32], Shape) -> anyhow::Result<()>,
    ) -> Option<anyhow::Result<(Shape, Buf)>> {
        let len = |v: usize| vals[v].as_ref().map_or(0, |(_, d)| d.len());
        let (map, other) = if len(x) >= len(y) { (x, y) } else { (y, x) };
        if map == other || !self.program.last_reader(map, i) {
            return None;
        }
        let (ms, mut d) = vals[map].take()?;
        let r = match &vals[other] {
            Some((os, o)) => f(&mut d, ms, o, *os).map(|()| (ms, d)),
            None => Err(anyhow::anyhow!("value already freed")),
        };
        Some(r)
    }

    /// Element-wise `f` of value `x`, in place when op `i` is its last reader, else into a pool
    /// buffer; in parallel.
    fn unary<F: Fn(f32) -> f32 + Sync>(
        &self,
        i: usize,
        x: usize,
        vals: &mut [Value],
        spare: &mut Vec<Buf>,
        f: F,
    ) -> anyhow::Result<(Shape, Buf)> {
        if self.program.last_reader(x, i) {
            let (s, mut d) = vals[x].take().context("value already freed")?;
            d.par_chunks_mut(1 << 14)
                .for_each(|c| c.iter_mut().for_each(|v| *v = f(*v)));
            return Ok((s, d));
        }
        let (s, d) = vals[x].as_ref().context("value already freed")?;
        let mut o = spare.pop().unwrap_or_default();
        o.clear();
        o.extend_from_slice(d);
        o.par_chunks_mut(1 << 14)
            .for_each(|c| c.iter_mut().for_each(|v| *v = f(*v)));
        Ok((*s, o))
    }
}

/// The matrix product's epilogue that adds the packed bias and applies `act`.
pub(in crate::detect) fn epilogue(act: Act) -> Epilogue<'static> {
    match act {
        Act::None => Epilogue::Bias,
        Act::Relu => Epilogue::BiasRelu,
        Act::HSwish(c) => Epilogue::BiasHSwish(c),
    }
}
