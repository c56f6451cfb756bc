//! The op-list interpreter both detectors run (BlazeFace in `face`, CenterNet in `detect`):
//! values are numbered (0 = the input, `i + 1` = op `i`'s output); each is freed into a buffer
//! pool after its last reader, and the pools are kept between calls, one per concurrent pass.

use std::sync::Mutex;

use anyhow::Context;

use crate::buf::{Buf, Floats};
use crate::kernels::Shape;

/// A value: its shape and NHWC data; `None` once freed, or for an op folded into the next.
pub(crate) type Value = Option<(Shape, Buf)>;

/// An op of a program: which values it reads.
pub(crate) trait ProgramOp {
    fn inputs(&self) -> Vec<usize>;
}

/// Op `i` of `program`: computes its value from `vals`; buffers come from (and temporaries go
/// back to) the pool.
pub(crate) type Step<'a, O> =
    dyn FnMut(usize, &O, &mut [Value], &mut Vec<Buf>) -> anyhow::Result<Value> + 'a;

pub(crate) struct Program<O> {
    pub(crate) ops: Vec<O>,
    outputs: Vec<usize>,
    /// Op index after which each value is no longer read (freed then); `MAX` for outputs.
    last_use: Vec<usize>,
    /// Idle buffer sets, one per concurrent pass at most.
    spare: Mutex<Vec<Vec<Buf>>>,
}

impl<O: ProgramOp> Program<O> {
    /// Checks that every op reads only values made before it, and every output exists.
    pub(crate) fn new(ops: Vec<O>, outputs: &[usize]) -> anyhow::Result<Self> {
        let mut last_use = vec![0; ops.len() + 1];
        for (i, op) in ops.iter().enumerate() {
            for v in op.inputs() {
                anyhow::ensure!(v <= i, "op {i} reads value {v} before it exists");
                last_use[v] = i;
            }
        }
        for &o in outputs {
            anyhow::ensure!(o <= ops.len(), "output value {o} out of range");
            last_use[o] = usize::MAX;
        }
        Ok(Program {
            ops,
            outputs: outputs.to_vec(),
            last_use,
            spare: Mutex::new(Vec::new()),
        })
    }

    /// Whether op `i` is the last reader of value `v`: it may then take `v`'s buffer.
    pub(crate) fn last_reader(&self, v: usize, i: usize) -> bool {
        self.last_use[v] == i
    }

    /// An empty buffer from the pool, for a pass's input (see [`Program::run`]).
    pub(crate) fn buffer(&self) -> Buf {
        let mut sets = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        let mut b = sets.last_mut().and_then(Vec::pop).unwrap_or_default();
        b.clear();
        b
    }

    /// Runs every op through `step` on `input` (of shape `s0`; best a [`Program::buffer`], as
    /// it joins the pool once read); the outputs' data, in order.
    pub(crate) fn run(
        &self,
        s0: Shape,
        input: Buf,
        step: &mut Step<'_, O>,
    ) -> anyhow::Result<Vec<Buf>> {
        let lock = || self.spare.lock().unwrap_or_else(|e| e.into_inner());
        let mut spare = lock().pop().unwrap_or_default();
        let mut vals: Vec<Value> = Vec::with_capacity(self.ops.len() + 1);
        vals.push(Some((s0, input)));
        for (i, op) in self.ops.iter().enumerate() {
            let out = step(i, op, &mut vals, &mut spare)?;
            vals.push(out);
            for v in op.inputs() {
                if self.last_reader(v, i) {
                    if let Some((_, buf)) = vals[v].take() {
                        spare.push(buf);
                    }
                }
            }
        }
        let outs = self
            .outputs
            .iter()
            .map(|&v| vals[v].take().map(|(_, d)| d).context("output missing"))
            .collect();
        lock().push(spare);
        outs
    }

    /// Gives buffers the caller is done with (outputs of [`Program::run`]) back to the pool.
    /// Without, every pass finds the pool short and grows fresh buffers op by op (realloc
    /// copies, zero fills, page faults: ~3 % of a tagging pass).
    pub(crate) fn recycle(&self, bufs: impl IntoIterator<Item = Buf>) {
        let mut sets = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        match sets.last_mut() {
            Some(set) => set.extend(bufs),
            None => sets.push(bufs.into_iter().collect()),
        }
    }

    /// Buffers in the pool.
    #[cfg(test)]
    pub(crate) fn pooled(&self) -> usize {
        let sets = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        sets.iter().map(Vec::len).sum()
    }
}
