//! Rewrites of the loaded program that fold ops into their neighbours (the inverted-residual
//! chains are in `super::chains`): each keeps the graph's arithmetic, and spares a pass over a
//! map or a copy of it.

use super::load::read_counts;
use super::net::Op;
use crate::kernels::Act;
use crate::program::ProgramOp;

/// Folds each [`Op::Resize`] whose only reader is a concatenation (as its second operand) into
/// an [`Op::ConcatResized`]: the upsampled map is never written on its own.
pub(super) fn resize_concat(ops: &mut [Op], outputs: &[usize]) {
    let reads = read_counts(ops, outputs);
    for i in 0..ops.len() {
        let Op::Concat { x, y, act } = ops[i] else {
            continue;
        };
        // Value v is op v - 1's output.
        let Some(r) = y.checked_sub(1).filter(|_| reads[y] == 1) else {
            continue;
        };
        if let Op::Resize { x: small, h, w } = ops[r] {
            ops[r] = Op::Folded;
            ops[i] = Op::ConcatResized {
                x,
                y: small,
                h,
                w,
                act,
            };
        }
    }
}

/// A product of a map and a gate made by a sigmoid (squeeze-excite) whose every reader is a
/// block that starts with its depthwise conv (no expansion): `(op, gate value)`. The gate can
/// then scale those blocks' depthwise weights instead of the map.
pub(super) fn se_gate(ops: &[Op], outputs: &[usize]) -> Option<(usize, usize)> {
    let reads = read_counts(ops, outputs);
    ops.iter().enumerate().find_map(|(i, op)| {
        let Op::Mul { x, y } = *op else { return None };
        // Value v is op v - 1's output.
        let sigmoid = |v: usize| {
            v.checked_sub(1)
                .is_some_and(|p| matches!(ops[p], Op::Sigmoid { .. }))
        };
        let gate = [y, x].into_iter().find(|&v| sigmoid(v))?;
        let readers: Vec<&Op> = ops
            .iter()
            .filter(|o| o.inputs().contains(&(i + 1)))
            .collect();
        let all_blocks = readers.len() == reads[i + 1]
            && readers
                .iter()
                .all(|o| matches!(o, Op::Block { block, .. } if block.expand.is_none()));
        all_blocks.then_some((i, gate))
    })
}

/// The first [`Op::Mean`] that reads an [`Op::ConcatResized`]'s output (directly or through
/// `Identity` ops): `(concatenation, mean)` op indices.
pub(super) fn concat_mean(ops: &[Op]) -> Option<(usize, usize)> {
    ops.iter().enumerate().find_map(|(m, op)| {
        let Op::Mean { x } = *op else { return None };
        let mut v = x;
        loop {
            let i = v.checked_sub(1)?;
            match ops[i] {
                Op::Identity { x } => v = x,
                Op::ConcatResized { .. } => return Some((i, m)),
                _ => return None,
            }
        }
    })
}

/// Moves each [`Op::HSwish`] and [`Op::Relu`] into the conv (stem, 1x1 or depthwise) or the
/// concatenation it follows when it is that op's only reader: the op applies it before its one
/// store, and the activation just passes the buffer on.
pub(super) fn activations(ops: &mut [Op], outputs: &[usize]) {
    let reads = read_counts(ops, outputs);
    for i in 0..ops.len() {
        let (x, fused_act) = match ops[i] {
            Op::HSwish { x, c } => (x, Act::HSwish(c)),
            Op::Relu { x } => (x, Act::Relu),
            _ => continue,
        };
        // Value x is op x - 1's output.
        if x == 0 || reads[x] != 1 {
            continue;
        }
        let fused = match &mut ops[x - 1] {
            Op::Pointwise { act, .. }
            | Op::Depthwise { act, .. }
            | Op::Stem { act, .. }
            | Op::Concat { act, .. }
                if *act == Act::None =>
            {
                *act = fused_act;
                true
            }
            _ => false,
        };
        if fused {
            ops[i] = Op::Identity { x };
        }
    }
}

/// Replaces each `a = x * c; b = x + 3; r = relu6(b); y = a * r` (the intermediates read by
/// nothing else) with [`Op::HSwish`] in the final product's place and [`Op::Folded`] in the
/// others'. The four ops need not be adjacent: where the graph interleaves another branch's op
/// (expanded_conv_12's expansion beside the FPN's c4 branch), the split chain cost a copy of
/// `x` and three more passes over it.
pub(super) fn hswish(ops: &mut [Op], outputs: &[usize]) {
    let reads = read_counts(ops, outputs);
    // Value v is op v - 1's output.
    fn op(ops: &[Op], v: usize) -> Option<(usize, &Op)> {
        v.checked_sub(1).map(|i| (i, &ops[i]))
    }
    for i in 0..ops.len() {
        let Op::Mul { x: m1, y: m2 } = ops[i] else {
            continue;
        };
        let chain = [(m1, m2), (m2, m1)].into_iter().find_map(|(a, r)| {
            let (ia, &Op::MulC { x, c }) = op(ops, a)? else {
                return None;
            };
            let (ir, &Op::Relu6 { x: b }) = op(ops, r)? else {
                return None;
            };
            let (ib, &Op::AddC { x: x2, c: three }) = op(ops, b)? else {
                return None;
            };
            (x == x2 && three == 3.0 && [a, b, r].iter().all(|&v| reads[v] == 1)).then_some((
                [ia, ib, ir],
                x,
                c,
            ))
        });
        if let Some((folded, x, c)) = chain {
            for f in folded {
                ops[f] = Op::Folded;
            }
            ops[i] = Op::HSwish { x, c };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hard-swish chain is found with another branch's op inside it, and not where an
    /// intermediate has a second reader.
    #[test]
    fn hswish_chains_fuse_across_interleaved_ops() {
        let chain = |other_reads_b: bool| {
            let mut ops = vec![
                Op::MulC { x: 0, c: 0.5 }, // value 1
                Op::AddC { x: 0, c: 3.0 }, // value 2
                Op::Relu { x: 0 },         // value 3: another branch
                Op::Relu6 { x: 2 },        // value 4
                Op::Mul { x: 1, y: 4 },    // value 5
                Op::Add { x: 5, y: 3 },    // value 6
            ];
            if other_reads_b {
                ops[5] = Op::Add { x: 5, y: 2 };
            }
            hswish(&mut ops, &[6]);
            ops
        };
        let fused = chain(false);
        assert!(matches!(fused[4], Op::HSwish { x: 0, c } if c == 0.5));
        assert!([0, 1, 3].iter().all(|&i| matches!(fused[i], Op::Folded)));
        assert!(matches!(fused[2], Op::Relu { x: 0 }));
        let kept = chain(true);
        assert!(matches!(kept[4], Op::Mul { .. }));
        assert!(matches!(kept[1], Op::AddC { .. }));
    }
}
