//! The detector program's ops: what each computes and which values it reads.

use super::fused::Block;
use crate::gemm::Packed;
use crate::kernels::{Act, Depthwise};
use crate::program::ProgramOp;

/// One op over numbered NHWC values (0 = the input, `i + 1` = op `i`'s output).
pub(super) enum Op {
    /// The full k x k stem conv as im2col + product; the bias is the matrix's last row.
    Stem {
        x: usize,
        k: usize,
        stride: usize,
        w: Packed,
        act: Act,
    },
    /// 1x1 conv plus bias (packed with the weights), then `act`.
    Pointwise {
        x: usize,
        w: Packed,
        act: Act,
    },
    /// Depthwise k x k plus bias, then `act`.
    Depthwise {
        x: usize,
        dw: Depthwise,
        act: Act,
    },
    /// An expansion → depthwise → projection (+ residual) chain run row by row.
    Block {
        x: usize,
        block: Box<Block>,
    },
    /// Value `x` unchanged: an activation fused into the conv that made `x`.
    Identity {
        x: usize,
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
    /// Channel concatenation, then `act` (an activation that followed it, fused).
    Concat {
        x: usize,
        y: usize,
        act: Act,
    },
    /// [`Op::Concat`] of `x` and `y` resized to `(h, w)` (sizes at [`super::net::SIDE`], as in
    /// [`Op::Resize`], whose op this one folds), in one pass (`merge::concat_resized`).
    ConcatResized {
        x: usize,
        y: usize,
        h: usize,
        w: usize,
        act: Act,
    },
}

impl ProgramOp for Op {
    fn inputs(&self) -> Vec<usize> {
        match *self {
            Op::Stem { x, .. }
            | Op::Pointwise { x, .. }
            | Op::Depthwise { x, .. }
            | Op::Block { x, .. }
            | Op::HSwish { x, .. }
            | Op::MulC { x, .. }
            | Op::AddC { x, .. }
            | Op::Relu { x }
            | Op::Relu6 { x }
            | Op::Sigmoid { x }
            | Op::Mean { x }
            | Op::Resize { x, .. }
            | Op::Identity { x } => vec![x],
            Op::Mul { x, y }
            | Op::Add { x, y }
            | Op::Concat { x, y, .. }
            | Op::ConcatResized { x, y, .. } => vec![x, y],
            Op::Folded => Vec::new(),
        }
    }
}
