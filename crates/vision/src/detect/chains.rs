//! Finds the inverted-residual chains the program spells op by op and hands each to one
//! [`Op::Block`] (see `super::fused`), which runs it row by row.

use super::fused::Block;
use super::load::read_counts;
use super::net::Op;
use crate::gemm::Packed;
use crate::kernels::{Act, Depthwise};

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
        let block = Box::new(pad(Block {
            expand,
            dw,
            dw_act,
            project,
            residual: residual.is_some(),
        }));
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

/// `b` with its expanded channels padded with zeros to whole SIMD vectors, when it has an
/// expansion: one block expands to 18 (its last 2 channels took the depthwise kernel's scalar
/// loop, ~8x slower per channel), and with whole vectors every pixel of the expanded rows
/// starts on a vector boundary, so with the rows aligned (`fused.rs`) no load straddles two
/// cache lines (72 channels on AVX-512's 16 lanes: every other pixel did). The extra channels are 0 after the expansion (zero weights and bias;
/// ReLU and hard swish keep 0), stay 0 through the depthwise conv and add exact zeros in the
/// projection. The real channels' results differ only in rounding: the vector kernel's fused
/// multiply-add where the scalar loop rounded the product and the sum apart.
fn pad(b: Block) -> Block {
    let ce = b.dw.bias.len();
    let to = ce.next_multiple_of(crate::kernels::f32_lanes());
    let Some((e, act)) = b.expand.as_ref().filter(|_| to != ce) else {
        return b;
    };
    let ex: Vec<f32> = (0..e.k)
        .flat_map(|p| (0..to).map(move |j| if j < ce { e.at(p, j) } else { 0.0 }))
        .collect();
    let eb: Vec<f32> = (0..to)
        .map(|j| if j < ce { e.bias_at(j) } else { 0.0 })
        .collect();
    let (k, dw) = (b.dw.k, &b.dw.weights);
    let weights = (0..k * k)
        .flat_map(|t| (0..to).map(move |c| if c < ce { dw[t * ce + c] } else { 0.0 }))
        .collect();
    let mut bias = b.dw.bias.clone();
    bias.resize(to, 0.0);
    let (n, pr) = (b.project.n, &b.project);
    let pw: Vec<f32> = (0..to)
        .flat_map(|p| (0..n).map(move |j| if p < ce { pr.at(p, j) } else { 0.0 }))
        .collect();
    let pb: Vec<f32> = (0..n).map(|j| pr.bias_at(j)).collect();
    Block {
        expand: Some((Packed::new(&ex, e.k, to, Some(&eb)), *act)),
        dw: Depthwise {
            k,
            stride: b.dw.stride,
            weights,
            bias,
        },
        dw_act: b.dw_act,
        project: Packed::new(&pw, to, n, Some(&pb)),
        residual: b.residual,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fused::tests::values;
    use super::*;
    use crate::kernels::Shape;

    /// A block expanding to 18 channels gives the same outputs padded to whole vectors (up to
    /// the fused multiply-add's rounding).
    #[test]
    fn padding_the_expansion_changes_nothing() {
        let s = Shape {
            n: 1,
            h: 9,
            w: 11,
            c: 8,
        };
        let (ce, cout) = (18, 12);
        let x = values(s.h * s.w * s.c, 1);
        let block = |act| Block {
            expand: Some((
                Packed::new(&values(s.c * ce, 2), s.c, ce, Some(&values(ce, 3))),
                act,
            )),
            dw: Depthwise {
                k: 5,
                stride: 1,
                weights: values(25 * ce, 4),
                bias: values(ce, 5),
            },
            dw_act: act,
            project: Packed::new(&values(ce * cout, 6), ce, cout, Some(&values(cout, 7))),
            residual: false,
        };
        for act in [Act::Relu, Act::HSwish(1.0 / 6.0)] {
            let padded = pad(block(act));
            let lanes = crate::kernels::f32_lanes();
            assert_eq!(padded.dw.bias.len(), 18usize.next_multiple_of(lanes));
            let run = |b: &Block| {
                let mut out = Vec::new();
                b.run(&x, s, &mut out, &mut Vec::new()).unwrap();
                out
            };
            let (got, want) = (run(&padded), run(&block(act)));
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{act:?}: {g} vs {w}"
                );
            }
        }
    }
}
