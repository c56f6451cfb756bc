//! A per-op timing hook for the detector: with `IMGTAG_PROFILE` set in the environment, each op
//! of each pass prints `op <index> <kind> <h>x<w>x<c> <microseconds> <multiply-adds>` to stderr
//! (multiply-adds 0 for ops without a product or convolution). For finding
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
        let macs = s.n * s.h * s.w * macs_per_pixel(op);
        eprintln!("op {i} {} {}x{}x{} {us:.1} {macs}", kind(op), s.h, s.w, s.c);
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
        Op::Concat { .. } | Op::ConcatResized { .. } => "concat",
    }
}

/// Multiply-adds per output pixel (biases packed as a weight row count as one).
fn macs_per_pixel(op: &Op) -> usize {
    match op {
        Op::Stem { w, .. } | Op::Pointwise { w, .. } => w.k * w.n,
        Op::Depthwise { dw, .. } => dw.k * dw.k * dw.bias.len(),
        Op::Block { block, .. } => {
            let b = &**block;
            // The expansion runs on the input grid: stride^2 input pixels per output pixel.
            let expand = b.expand.as_ref().map_or(0, |(e, _)| e.k * e.n);
            let dw = b.dw.k * b.dw.k * b.dw.bias.len();
            expand * b.dw.stride * b.dw.stride + dw + b.project.k * b.project.n
        }
        _ => 0,
    }
}
