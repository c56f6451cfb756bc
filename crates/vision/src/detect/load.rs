//! Reading CenterNet's program and weights (written by `tools/convert_centernet.py` into the
//! safetensors metadata) into ops with their weights unpacked from f16 and packed once.

use std::collections::HashMap;

use anyhow::{bail, Context};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use super::net::Op;
use crate::gemm::Packed;
use crate::kernels::{Act, Depthwise, MAX_K};
use crate::program::ProgramOp;

/// One op as written by the converter; `x`/`y` are value numbers (0 = the input, `i + 1` = op i).
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Spec {
    Conv {
        name: String,
        x: usize,
        k: usize,
        stride: usize,
        depthwise: bool,
        bias: bool,
        relu: bool,
    },
    Mulc {
        x: usize,
        c: f32,
    },
    Addc {
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
    Concat {
        x: usize,
        y: usize,
    },
}

/// IEEE half → single (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match exp {
        0 => {
            // Zero or subnormal: man * 2^-24.
            let v = man as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        31 => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

fn tensor(st: &SafeTensors<'_>, name: &str) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    let t = st
        .tensor(name)
        .with_context(|| format!("tensor {name} missing"))?;
    anyhow::ensure!(t.dtype() == Dtype::F16, "{name}: expected f16");
    let data = t.data().chunks_exact(2);
    let data = data.map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])));
    Ok((t.shape().to_vec(), data.collect()))
}

/// The ops and the value numbers of the two outputs (keypoints, wh).
pub fn program(weights: &[u8]) -> anyhow::Result<(Vec<Op>, [usize; 2])> {
    let (_, meta) = SafeTensors::read_metadata(weights)?;
    let meta = meta.metadata().as_ref().context("no metadata")?;
    let specs: Vec<Spec> = serde_json::from_str(meta.get("program").context("no program")?)?;
    let names: HashMap<String, usize> =
        serde_json::from_str(meta.get("outputs").context("no outputs")?)?;
    let out = |n: &str| names.get(n).copied().context("output missing");
    let outputs = [out("keypoints")?, out("wh")?];
    let st = SafeTensors::deserialize(weights)?;
    let mut ops = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let op = match spec {
            Spec::Conv {
                name,
                x,
                k,
                stride,
                depthwise,
                bias,
                relu,
            } => {
                let (dims, w) = tensor(&st, &format!("{name}.weight"))?;
                let [kh, kw, cin, cout] = dims[..] else {
                    bail!("op {i}: weight must be 4-d, got {dims:?}");
                };
                anyhow::ensure!(kh == k && kw == k, "op {i}: kernel size mismatch");
                let cols = if depthwise { cin } else { cout };
                let b = if bias {
                    tensor(&st, &format!("{name}.bias"))?.1
                } else {
                    vec![0.0; cols]
                };
                anyhow::ensure!(b.len() == cols, "op {i}: bias length");
                if depthwise {
                    anyhow::ensure!(cout == 1, "op {i}: depthwise multiplier must be 1");
                    // TF `[ky][kx][C][1]` is already `[ky][kx][C]`.
                    anyhow::ensure!(
                        k <= MAX_K && stride <= 2,
                        "op {i}: depthwise {k}x{k}/{stride}"
                    );
                    Op::Depthwise {
                        x,
                        dw: Depthwise {
                            k,
                            stride,
                            weights: w,
                            bias: b,
                        },
                        act: if relu { Act::Relu } else { Act::None },
                    }
                } else if k == 1 {
                    anyhow::ensure!(stride == 1, "op {i}: strided 1x1 conv");
                    // HWIO `[1][1][cin][cout]` is row-major `[cin][cout]`.
                    Op::Pointwise {
                        x,
                        w: Packed::new(&w, cin, cout, Some(&b)),
                        act: if relu { Act::Relu } else { Act::None },
                    }
                } else {
                    anyhow::ensure!(!relu, "op {i}: relu after a full conv");
                    // HWIO rows are in (ky, kx, ci) order as `stem_im2col` lays them out; the
                    // bias is the extra last row.
                    let mut t = w;
                    t.extend_from_slice(&b);
                    Op::Stem {
                        x,
                        k,
                        stride,
                        w: Packed::new(&t, k * k * cin + 1, cout, None),
                        act: Act::None,
                    }
                }
            }
            Spec::Mulc { x, c } => Op::MulC { x, c },
            Spec::Addc { x, c } => Op::AddC { x, c },
            Spec::Mul { x, y } => Op::Mul { x, y },
            Spec::Add { x, y } => Op::Add { x, y },
            Spec::Relu { x } => Op::Relu { x },
            Spec::Relu6 { x } => Op::Relu6 { x },
            Spec::Sigmoid { x } => Op::Sigmoid { x },
            Spec::Mean { x } => Op::Mean { x },
            Spec::Resize { x, h, w } => Op::Resize { x, h, w },
            Spec::Concat { x, y } => Op::Concat {
                x,
                y,
                act: Act::None,
            },
        };
        ops.push(op);
    }
    fuse_hswish(&mut ops, &outputs);
    fuse_activations(&mut ops, &outputs);
    super::chains::fuse_blocks(&mut ops, &outputs);
    fuse_resize_concat(&mut ops, &outputs);
    Ok((ops, outputs))
}

/// Folds each [`Op::Resize`] whose only reader is a concatenation (as its second operand) into
/// an [`Op::ConcatResized`]: the upsampled map is never written on its own.
fn fuse_resize_concat(ops: &mut [Op], outputs: &[usize]) {
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

/// How many ops (and outputs) read each value.
pub(super) fn read_counts(ops: &[Op], outputs: &[usize]) -> Vec<usize> {
    let mut reads = vec![0usize; ops.len() + 1];
    for op in ops {
        for v in op.inputs() {
            reads[v] += 1;
        }
    }
    for &o in outputs {
        reads[o] += 1;
    }
    reads
}

/// Moves each [`Op::HSwish`] and [`Op::Relu`] into the conv (stem, 1x1 or depthwise) or the
/// concatenation it follows when it is that op's only reader: the op applies it before its one
/// store, and the activation just passes the buffer on.
fn fuse_activations(ops: &mut [Op], outputs: &[usize]) {
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
fn fuse_hswish(ops: &mut [Op], outputs: &[usize]) {
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
            fuse_hswish(&mut ops, &[6]);
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

    #[test]
    fn half_floats_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3155), 0.166_625_98);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x8000), -0.0);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
    }
}
