//! CenterNet's kernels besides the matrix products and the depthwise conv (`super::dw`), NHWC:
//! a plain depthwise conv to test that one against, spatial mean, the SE gate's broadcast product, bilinear 2x upsampling
//! (TF's legacy `align_corners = false, half_pixel_centers = false`) and channel concatenation.

use rayon::prelude::*;

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
pub fn mean(x: &[f32], s: Shape, out: &mut Vec<f32>) -> Shape {
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
pub fn mul(a: (&[f32], Shape), b: (&[f32], Shape), out: &mut Vec<f32>) -> anyhow::Result<Shape> {
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

/// Bilinear resize to `oh x ow` with TF's legacy sampling: source = destination * in / out.
pub fn resize(x: &[f32], s: Shape, oh: usize, ow: usize, out: &mut Vec<f32>) -> Shape {
    let c = s.c;
    out.clear();
    out.resize(s.n * oh * ow * c, 0.0);
    let (sy, sx) = (s.h as f32 / oh as f32, s.w as f32 / ow as f32);
    out.par_chunks_mut(ow * c).enumerate().for_each(|(r, row)| {
        let (n, oy) = (r / oh, r % oh);
        let img = &x[n * s.h * s.w * c..][..s.h * s.w * c];
        let fy = oy as f32 * sy;
        let y0 = (fy.floor() as usize).min(s.h - 1);
        let y1 = (y0 + 1).min(s.h - 1);
        let dy = fy - y0 as f32;
        for (ox, o) in row.chunks_exact_mut(c).enumerate() {
            let fx = ox as f32 * sx;
            let x0 = (fx.floor() as usize).min(s.w - 1);
            let x1 = (x0 + 1).min(s.w - 1);
            let dx = fx - x0 as f32;
            let at = |y: usize, xx: usize| &img[(y * s.w + xx) * c..][..c];
            let (a, b, cc, d) = (at(y0, x0), at(y0, x1), at(y1, x0), at(y1, x1));
            for (i, v) in o.iter_mut().enumerate() {
                let top = a[i] + (b[i] - a[i]) * dx;
                let bottom = cc[i] + (d[i] - cc[i]) * dx;
                *v = top + (bottom - top) * dy;
            }
        }
    });
    Shape { h: oh, w: ow, ..s }
}

/// Channel concatenation of two maps of the same geometry.
pub fn concat(a: (&[f32], Shape), b: (&[f32], Shape), out: &mut Vec<f32>) -> anyhow::Result<Shape> {
    let ((x, xs), (y, ys)) = (a, b);
    anyhow::ensure!(
        (xs.n, xs.h, xs.w) == (ys.n, ys.h, ys.w),
        "concat: shapes {xs:?} and {ys:?}"
    );
    out.clear();
    for (p, q) in x.chunks_exact(xs.c).zip(y.chunks_exact(ys.c)) {
        out.extend_from_slice(p);
        out.extend_from_slice(q);
    }
    Ok(Shape {
        c: xs.c + ys.c,
        ..xs
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_doubles_like_tf_legacy_bilinear() {
        let s = Shape {
            n: 1,
            h: 2,
            w: 2,
            c: 1,
        };
        let mut out = Vec::new();
        let o = resize(&[0.0, 1.0, 2.0, 3.0], s, 4, 4, &mut out);
        assert_eq!((o.h, o.w), (4, 4));
        // Rows sample y = 0, 0.5, 1, 1.5 (clamped to the last row beyond 1).
        assert_eq!(&out[..4], &[0.0, 0.5, 1.0, 1.0]);
        assert_eq!(&out[4..8], &[1.0, 1.5, 2.0, 2.0]);
        assert_eq!(&out[12..], &[2.0, 2.5, 3.0, 3.0]);
    }
}
