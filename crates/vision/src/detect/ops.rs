//! CenterNet's element-wise and reduction kernels, NHWC: spatial mean, the SE gate's broadcast
//! product, in-place add; and a plain depthwise conv to test the SIMD one (`super::dw`) against.
//! Upsampling and concatenation are in `super::merge`.

#[cfg(test)]
use rayon::prelude::*;

use crate::buf::Floats;
#[cfg(test)]
use crate::kernels::same_padding;
use crate::kernels::Shape;

/// Depthwise conv, weights `[ky][kx][C]`, plus bias, then ReLU if `relu`, into `out` (reused).
/// The plain definition the SIMD kernel (`super::dw`) is tested against.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub fn depthwise(
    x: &[f32],
    s: Shape,
    k: usize,
    stride: usize,
    w: &[f32],
    bias: &[f32],
    relu: bool,
    out: &mut Vec<f32>,
) -> Shape {
    let (pt, _, oh) = same_padding(s.h, k, stride);
    let (pl, _, ow) = same_padding(s.w, k, stride);
    let c = s.c;
    out.clear();
    out.resize(s.n * oh * ow * c, 0.0);
    out.par_chunks_mut(ow * c).enumerate().for_each(|(r, row)| {
        let (n, oy) = (r / oh, r % oh);
        let img = &x[n * s.h * s.w * c..][..s.h * s.w * c];
        for px in row.chunks_exact_mut(c) {
            px.copy_from_slice(bias);
        }
        for ky in 0..k {
            let Some(iy) = (oy * stride + ky).checked_sub(pt).filter(|&y| y < s.h) else {
                continue;
            };
            let src = &img[iy * s.w * c..][..s.w * c];
            for kx in 0..k {
                let wk = &w[(ky * k + kx) * c..][..c];
                let first = pl.saturating_sub(kx).div_ceil(stride);
                let end = (s.w + pl - kx).div_ceil(stride).min(ow);
                for ox in first..end {
                    let ix = ox * stride + kx - pl;
                    let acc = &mut row[ox * c..][..c];
                    let p = &src[ix * c..][..c];
                    for ((a, &v), &wv) in acc.iter_mut().zip(p).zip(wk) {
                        *a += v * wv;
                    }
                }
            }
        }
        if relu {
            row.iter_mut().for_each(|v| *v = v.max(0.0));
        }
    });
    Shape { h: oh, w: ow, ..s }
}

/// Mean over each image's pixels, per channel: `[n, 1, 1, c]`.
pub fn mean(x: &[f32], s: Shape, out: &mut impl Floats) -> Shape {
    out.clear();
    out.resize(s.n * s.c, 0.0);
    let px = s.h * s.w;
    for (o, img) in out.chunks_exact_mut(s.c).zip(x.chunks_exact(px * s.c)) {
        for p in img.chunks_exact(s.c) {
            o.iter_mut().zip(p).for_each(|(a, &v)| *a += v);
        }
        o.iter_mut().for_each(|v| *v /= px as f32);
    }
    Shape { h: 1, w: 1, ..s }
}

/// `map * gate` for a `[n, h, w, c]` map and a `[n, 1, 1, c]` gate (or equal shapes), into `out`.
pub fn mul(a: (&[f32], Shape), b: (&[f32], Shape), out: &mut impl Floats) -> anyhow::Result<Shape> {
    let ((map, ms), (gate, gs)) = if a.1.h * a.1.w >= b.1.h * b.1.w {
        (a, b)
    } else {
        (b, a)
    };
    anyhow::ensure!(
        ms.n == gs.n && ms.c == gs.c,
        "mul: shapes {ms:?} and {gs:?}"
    );
    out.clear();
    if ms.h == gs.h && ms.w == gs.w {
        out.extend(map.iter().zip(gate).map(|(p, q)| p * q));
        return Ok(ms);
    }
    anyhow::ensure!(gs.h == 1 && gs.w == 1, "mul: cannot broadcast {gs:?}");
    let px = ms.h * ms.w * ms.c;
    for (img, g) in map.chunks_exact(px).zip(gate.chunks_exact(ms.c)) {
        for p in img.chunks_exact(ms.c) {
            out.extend(p.iter().zip(g).map(|(v, q)| v * q));
        }
    }
    Ok(ms)
}

/// `map *= gate` in place, for a `[n, h, w, c]` map and a `[n, 1, 1, c]` gate or an equal shape.
pub fn scale(map: &mut [f32], ms: Shape, gate: &[f32], gs: Shape) -> anyhow::Result<()> {
    broadcast(map, ms, gate, gs, |v, g| *v *= g)
}

/// `map += other` in place, for equal shapes (or a `[n, 1, 1, c]` other).
pub fn add(map: &mut [f32], ms: Shape, other: &[f32], os: Shape) -> anyhow::Result<()> {
    broadcast(map, ms, other, os, |v, g| *v += g)
}

/// `f(map value, other value)` over `map`, `other` equal in shape or one pixel per image.
fn broadcast(
    map: &mut [f32],
    ms: Shape,
    other: &[f32],
    os: Shape,
    f: impl Fn(&mut f32, f32) + Sync,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        ms.n == os.n && ms.c == os.c,
        "broadcast: shapes {ms:?} and {os:?}"
    );
    if (ms.h, ms.w) == (os.h, os.w) {
        map.iter_mut().zip(other).for_each(|(v, &g)| f(v, g));
        return Ok(());
    }
    anyhow::ensure!(os.h == 1 && os.w == 1, "broadcast: cannot broadcast {os:?}");
    let px = ms.h * ms.w * ms.c;
    for (img, g) in map.chunks_exact_mut(px).zip(other.chunks_exact(ms.c)) {
        for p in img.chunks_exact_mut(ms.c) {
            p.iter_mut().zip(g).for_each(|(v, &q)| f(v, q));
        }
    }
    Ok(())
}
