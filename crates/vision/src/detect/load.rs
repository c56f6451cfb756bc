//! Reading CenterNet's program and weights (written by `tools/convert_centernet.py` into the
//! safetensors metadata) into ops with their weights unpacked from f16 and packed once.

use std::collections::HashMap;

use anyhow::{bail, Context};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use super::fuse;
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
    fuse::hswish(&mut ops, &outputs);
    fuse::activations(&mut ops, &outputs);
    super::chains::fuse_blocks(&mut ops, &outputs);
    fuse::resize_concat(&mut ops, &outputs);
    Ok((ops, outputs))
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

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

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
