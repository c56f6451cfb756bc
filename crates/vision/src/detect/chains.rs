//! Finds the inverted-residual chains the program spells op by op and hands each to one
//! [`Op::Block`] (see `super::fused`), which runs it row by row.

use super::fused::Block;
use super::load::read_counts;
use super::net::Op;
use crate::kernels::Act;

/// Replaces each `[1x1 expansion →] depthwise → 1x1 projection (no activation) [→ add of the
/// chain's input]` whose intermediate values have no other reader by an [`Op::Block`] at the
/// chain's last op, the others by [`Op::Folded`]. Depthwise outputs that a squeeze-excite `Mean`
/// also reads stay layer at a time. Runs after `fuse_activations`, whose `Identity` ops it
/// looks through.
pub(super) fn fuse_blocks(ops: &mut [Op], outputs: &[usize]) {
    for i in 0..ops.len() {
        let reads = read_counts(ops, outputs);
        let Op::Pointwise {
            x: px,
            act: Act::None,
            ..
        } = ops[i]
        else {
            continue;
        };
        let Some((dv, mut folded)) = producer(ops, &reads, px) else {
            continue;
        };
        let Op::Depthwise { x: dx, .. } = ops[dv - 1] else {
            continue;
        };
        // With an expansion, the chain starts at its input; without, at the depthwise input
        // (which other ops may read as well).
        let (input, expand) = match producer(ops, &reads, dx) {
            Some((ev, ids)) if matches!(ops[ev - 1], Op::Pointwise { .. }) => {
                let Op::Pointwise { x, .. } = ops[ev - 1] else {
                    unreachable!()
                };
                folded.extend(ids);
                (x, Some(ev - 1))
            }
            _ => (dx, None),
        };
        let residual = (reads[i + 1] == 1)
            .then(|| {
                ops.iter().enumerate().skip(i + 1).find(|(_, op)| {
                    matches!(**op, Op::Add { x, y }
                        if (x, y) == (i + 1, input) || (x, y) == (input, i + 1))
                })
            })
            .flatten()
            .map(|(j, _)| j);
        let take = |op: &mut Op| std::mem::replace(op, Op::Folded);
        let expand = expand.map(|e| match take(&mut ops[e]) {
            Op::Pointwise { w, act, .. } => (w, act),
            _ => unreachable!("matched above"),
        });
        let Op::Depthwise {
            dw, act: dw_act, ..
        } = take(&mut ops[dv - 1])
        else {
            unreachable!("matched above")
        };
        let Op::Pointwise { w: project, .. } = take(&mut ops[i]) else {
            unreachable!("matched above")
        };
        for f in folded {
            ops[f] = Op::Folded;
        }
        let block = Box::new(Block {
            expand,
            dw,
            dw_act,
            project,
            residual: residual.is_some(),
        });
        ops[residual.unwrap_or(i)] = Op::Block { x: input, block };
    }
}

/// The op-made value behind `v` through `Identity` ops, and those ops, when `v` and every
/// value on the way has exactly one reader.
fn producer(ops: &[Op], reads: &[usize], mut v: usize) -> Option<(usize, Vec<usize>)> {
    let mut ids = Vec::new();
    loop {
        if v == 0 || reads[v] != 1 {
            return None;
        }
        match ops[v - 1] {
            Op::Identity { x } => {
                ids.push(v - 1);
                v = x;
            }
            _ => return Some((v, ids)),
        }
    }
}
