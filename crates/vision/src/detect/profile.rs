//! A per-op timing hook for the detector: with `IMGTAG_PROFILE` set in the environment, each op
//! of each pass prints `op <index> <kind> <h>x<w>x<c> <microseconds>` to stderr. For finding
//! where the detector's time goes (aggregate the medians per index over many passes); off, it
//! costs one flag read per op.

use std::sync::LazyLock;
use std::time::Instant;

use super::net::Op;
use crate::kernels::Shape;

static ON: LazyLock<bool> = LazyLock::new(|| std::env::var_os("IMGTAG_PROFILE").is_some());

/// Runs op `i` through `f`, timing it when profiling is on.
pub(super) fn timed<T>(
    i: usize,
    op: &Op,
    f: impl FnOnce() -> anyhow::Result<Option<(Shape, T)>>,
) -> anyhow::Result<Option<(Shape, T)>> {
    if !*ON {
        return f();
    }
    let start = Instant::now();
    let out = f();
    if let Ok(Some((s, _))) = &out {
        let us = start.elapsed().as_secs_f64() * 1e6;
        eprintln!("op {i} {} {}x{}x{} {us:.1}", kind(op), s.h, s.w, s.c);
    }
    out
}

fn kind(op: &Op) -> &'static str {
    match op {
        Op::Stem { .. } => "stem",
        Op::Pointwise { .. } => "pointwise",
        Op::Depthwise { .. } => "depthwise",
        Op::Block { .. } => "block",
        Op::Identity { .. } => "identity",
        Op::HSwish { .. } => "hswish",
        Op::Folded => "folded",
        Op::MulC { .. } => "mulc",
        Op::AddC { .. } => "addc",
        Op::Mul { .. } => "mul",
        Op::Add { .. } => "add",
        Op::Relu { .. } => "relu",
        Op::Relu6 { .. } => "relu6",
        Op::Sigmoid { .. } => "sigmoid",
        Op::Mean { .. } => "mean",
        Op::Resize { .. } => "resize",
        Op::Concat { .. } => "concat",
    }
}
