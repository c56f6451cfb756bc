//! Reading BlazeFace's program and weights (written by `tools/convert_blazeface.py` into the
//! safetensors metadata) into ops with their weights packed once, folding each BlazeBlock
//! (depthwise → 1x1 + bias → add skip → ReLU) into one op.

use anyhow::{bail, Context};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use super::net::Op;
use crate::gemm::Packed;
use crate::kernels::{Depthwise, MAX_K};

/// One op as written by the converter; `x`/`y` are value numbers (0 = the input, `i + 1` = op i).
#[derive(Deserialize, Clone, Copy)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Spec {
    Conv {
        x: usize,
        k: usize,
        stride: usize,
        group: usize,
        bias: bool,
    },
    Relu {
        x: usize,
    },
    Add {
        x: usize,
        y: usize,
    },
    Maxpool {
        x: usize,
    },
    Padc {
        x: usize,
        c: usize,
    },
}

fn tensor(st: &SafeTensors<'_>, name: &str) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    let t = st
        .tensor(name)
        .with_context(|| format!("tensor {name} missing"))?;
    anyhow::ensure!(t.dtype() == Dtype::F32, "{name}: expected f32");
    let data = t.data().chunks_exact(4);
    let data = data.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    Ok((t.shape().to_vec(), data.collect()))
}

/// A conv's weight shape, weight and bias.
type Conv = (Vec<usize>, Vec<f32>, Option<Vec<f32>>);

/// The ops and the value numbers of the outputs (scores16, scores8, boxes16, boxes8).
pub fn program(weights: &[u8]) -> anyhow::Result<(Vec<Op>, [usize; 4])> {
    let (_, meta) = SafeTensors::read_metadata(weights)?;
    let meta = meta.metadata().as_ref().context("no metadata")?;
    let specs: Vec<Spec> = serde_json::from_str(meta.get("program").context("no program")?)?;
    let names: std::collections::HashMap<String, usize> =
        serde_json::from_str(meta.get("outputs").context("no outputs")?)?;
    let out = |n: &str| names.get(n).copied().context("output missing");
    let outputs = [
        out("Identity")?,
        out("Identity_1")?,
        out("Identity_2")?,
        out("Identity_3")?,
    ];
    // How many times each value is read (outputs count as reads).
    let mut reads = vec![0usize; specs.len() + 1];
    for s in &specs {
        for v in spec_inputs(s) {
            anyhow::ensure!(v < reads.len(), "value {v} out of range");
            reads[v] += 1;
        }
    }
    for &o in &outputs {
        anyhow::ensure!(o < reads.len(), "output value {o} out of range");
        reads[o] += 1;
    }
    let st = SafeTensors::deserialize(weights)?;
    let conv = |i: usize| -> anyhow::Result<Conv> {
        let (dims, w) = tensor(&st, &format!("{i}.weight"))?;
        let bias = match specs[i] {
            Spec::Conv { bias: true, .. } => Some(tensor(&st, &format!("{i}.bias"))?.1),
            _ => None,
        };
        Ok((dims, w, bias))
    };
    let mut ops = Vec::with_capacity(specs.len());
    let mut i = 0;
    while i < specs.len() {
        if let Some((x, skip, k, stride)) = block_at(&specs, &reads, i) {
            let (dd, dw, _) = conv(i)?;
            let (pd, pw, pb) = conv(i + 1)?;
            let Op::Depthwise { dw, .. } = conv_op(
                x,
                k,
                stride,
                dd.first().copied().unwrap_or(0),
                &dd,
                &dw,
                None,
            )?
            else {
                bail!("op {i}: expected a depthwise conv");
            };
            let [cout, cin, ..] = pd[..] else {
                bail!("op {}: bad weight shape", i + 1)
            };
            let bias = pb.unwrap_or_else(|| vec![0.0; cout]);
            ops.extend([Op::Folded, Op::Folded, Op::Folded]);
            ops.push(Op::Block {
                x,
                skip,
                dw,
                pw: Packed::new(&transpose_1x1(&pw, cin, cout), cin, cout, Some(&bias)),
            });
            i += 4;
            continue;
        }
        ops.push(match specs[i] {
            Spec::Conv {
                x,
                k,
                stride,
                group,
                ..
            } => {
                let (dims, w, bias) = conv(i)?;
                conv_op(x, k, stride, group, &dims, &w, bias)?
            }
            Spec::Relu { x } => Op::Relu { x },
            Spec::Add { x, y } => Op::Add { x, y },
            Spec::Maxpool { x } => Op::MaxPool { x },
            Spec::Padc { x, c } => Op::PadChannels { x, c },
        });
        i += 1;
    }
    Ok((ops, outputs))
}

fn spec_inputs(s: &Spec) -> Vec<usize> {
    match *s {
        Spec::Conv { x, .. } | Spec::Relu { x } | Spec::Maxpool { x } | Spec::Padc { x, .. } => {
            vec![x]
        }
        Spec::Add { x, y } => vec![x, y],
    }
}

/// A BlazeBlock starting at op `i`: depthwise (no bias), 1x1 conv of it, add of that and a skip
/// value, ReLU of the sum, the intermediate values read by nothing else. Returns the block's
/// input, skip, kernel side and stride.
fn block_at(specs: &[Spec], reads: &[usize], i: usize) -> Option<(usize, usize, usize, usize)> {
    let &[dw, pw, add, relu] = specs.get(i..i + 4)? else {
        return None;
    };
    let Spec::Conv {
        x,
        k,
        stride,
        group,
        bias: false,
    } = dw
    else {
        return None;
    };
    let Spec::Conv {
        x: px,
        k: 1,
        stride: 1,
        group: 1,
        ..
    } = pw
    else {
        return None;
    };
    let (Spec::Add { x: ax, y: ay }, Spec::Relu { x: rx }) = (add, relu) else {
        return None;
    };
    let skip = match (ax, ay) {
        (a, s) | (s, a) if a == i + 2 => s,
        _ => return None,
    };
    let single = (i + 1..i + 4).all(|v| reads[v] == 1);
    (group > 1 && px == i + 1 && rx == i + 3 && skip != i + 2 && single)
        .then_some((x, skip, k, stride))
}

/// OIHW `[cout][cin][1][1]` → row-major `[cin][cout]`.
fn transpose_1x1(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut t = vec![0.0; cin * cout];
    for o in 0..cout {
        for i in 0..cin {
            t[i * cout + o] = w[o * cin + i];
        }
    }
    t
}

/// Builds a conv op from an OIHW weight.
fn conv_op(
    x: usize,
    k: usize,
    stride: usize,
    group: usize,
    dims: &[usize],
    w: &[f32],
    bias: Option<Vec<f32>>,
) -> anyhow::Result<Op> {
    let [cout, cin, kh, kw] = dims else {
        bail!("conv weight must be 4-d, got {dims:?}");
    };
    let (cout, cin) = (*cout, *cin);
    anyhow::ensure!(*kh == k && *kw == k, "kernel size mismatch");
    let bias = bias.unwrap_or_else(|| vec![0.0; cout]);
    if group > 1 {
        anyhow::ensure!(
            group == cout && cin == 1,
            "only depthwise grouping is supported"
        );
        anyhow::ensure!(k <= MAX_K, "depthwise kernel {k} too large");
        // [C][1][ky][kx] → [ky][kx][C]
        let mut weights = vec![0.0; w.len()];
        for ch in 0..cout {
            for j in 0..k * k {
                weights[j * cout + ch] = w[ch * k * k + j];
            }
        }
        let dw = Depthwise {
            k,
            stride,
            weights,
            bias,
        };
        return Ok(Op::Depthwise { x, dw });
    }
    if k == 1 {
        anyhow::ensure!(stride == 1, "strided 1x1 conv not supported");
        return Ok(Op::Pointwise {
            x,
            w: Packed::new(&transpose_1x1(w, cin, cout), cin, cout, None),
            bias,
        });
    }
    // Full conv: rows in (ky, kx, ci) order as `stem_im2col` lays them out, then the bias row.
    let rows = k * k * cin + 1;
    let mut t = vec![0.0; rows * cout];
    for o in 0..cout {
        for ci in 0..cin {
            for ky in 0..k {
                for kx in 0..k {
                    t[((ky * k + kx) * cin + ci) * cout + o] =
                        w[((o * cin + ci) * k + ky) * k + kx];
                }
            }
        }
        t[(rows - 1) * cout + o] = bias[o];
    }
    Ok(Op::Stem {
        x,
        k,
        stride,
        w: Packed::new(&t, rows, cout, None),
    })
}
