//! The FPN's upsample-and-merge kernels, NHWC: bilinear resize (TF's legacy `align_corners =
//! false, half_pixel_centers = false`), its 2x case pixel by pixel, and channel concatenation,
//! plain or with the second map resized on the fly (and the result's channel sums taken).

use rayon::prelude::*;

use crate::buf::Floats;
use crate::kernels::{Act, Shape};

/// Bilinear resize to `oh x ow` with TF's legacy sampling: source = destination * in / out.
pub fn resize(x: &[f32], s: Shape, oh: usize, ow: usize, out: &mut impl Floats) -> Shape {
    let c = s.c;
    out.resize_to_write(s.n * oh * ow * c);
    if (oh, ow) == (2 * s.h, 2 * s.w) {
        double(x, s, out);
        return Shape { h: oh, w: ow, ..s };
    }
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

/// [`resize`] to twice the size (the FPN's upsampling), in whole-pixel vector loops (see
/// [`doubled_pixel`]).
fn double(x: &[f32], s: Shape, out: &mut [f32]) {
    let (c, ow) = (s.c, 2 * s.w);
    out.par_chunks_mut(ow * c).enumerate().for_each(|(r, row)| {
        let (n, oy) = (r / (2 * s.h), r % (2 * s.h));
        let img = &x[n * s.h * s.w * c..][..s.h * s.w * c];
        let rows = source_rows(img, s, oy);
        for (ox, o) in row.chunks_exact_mut(c).enumerate() {
            doubled_pixel(rows, c, ox, o);
        }
    });
}

/// The source rows output row `oy` of a doubling reads, and whether it is odd (between them).
fn source_rows(img: &[f32], s: Shape, oy: usize) -> (&[f32], &[f32], bool) {
    let y0 = oy / 2;
    let odd = oy % 2 == 1;
    let y1 = if odd { (y0 + 1).min(s.h - 1) } else { y0 };
    let row = |y: usize| &img[y * s.w * s.c..][..s.w * s.c];
    (row(y0), row(y1), odd)
}

/// Pixel `ox` of a doubled row (`c` channels) into `o`: with the source at half the
/// destination's coordinates, even rows and columns copy a source pixel and odd ones take the
/// mean of two neighbours, `a + (b - a) * 0.5` as the general formula computes it (the last row
/// and column clamp to the edge, where it is `a` again).
#[inline(always)]
fn doubled_pixel(
    (top, bottom, odd_row): (&[f32], &[f32], bool),
    c: usize,
    ox: usize,
    o: &mut [f32],
) {
    let w = top.len() / c;
    let x0 = ox / 2;
    let x1 = if ox % 2 == 1 { (x0 + 1).min(w - 1) } else { x0 };
    let (a, b) = (&top[x0 * c..][..c], &top[x1 * c..][..c]);
    let (cc, d) = (&bottom[x0 * c..][..c], &bottom[x1 * c..][..c]);
    let half = |a: f32, b: f32| a + (b - a) * 0.5;
    match (ox % 2 == 1, odd_row) {
        (false, false) => o.copy_from_slice(a),
        (true, false) => (o.iter_mut().zip(a).zip(b)).for_each(|((o, &a), &b)| *o = half(a, b)),
        (false, true) => (o.iter_mut().zip(a).zip(cc)).for_each(|((o, &a), &cc)| *o = half(a, cc)),
        (true, true) => {
            for (i, o) in o.iter_mut().enumerate() {
                let (t, u) = (half(a[i], b[i]), half(cc[i], d[i]));
                *o = half(t, u);
            }
        }
    }
}

/// Channel concatenation of `x` and `y` resized to `x`'s size (the FPN's upsample-and-merge),
/// then `act`, written in one pass; with `sums`, also each image's per-channel sums of the
/// result (`[n][c]`, pixels added in order as [`super::ops::mean`] adds them), so the squeeze-excite mean
/// that follows need not read the map again. A doubling is computed pixel by pixel into place;
/// other sizes go through [`resize`] into `tmp`.
pub fn concat_resized(
    (x, xs): (&[f32], Shape),
    (y, ys): (&[f32], Shape),
    act: Act,
    out: &mut impl Floats,
    tmp: &mut impl Floats,
    sums: Option<&mut impl Floats>,
) -> anyhow::Result<Shape> {
    anyhow::ensure!(xs.n == ys.n, "concat: shapes {xs:?} and {ys:?}");
    let (cx, cy) = (xs.c, ys.c);
    let c = cx + cy;
    let doubled = (xs.h, xs.w) == (2 * ys.h, 2 * ys.w);
    if !doubled {
        resize(y, ys, xs.h, xs.w, tmp);
    }
    out.resize_to_write(xs.n * xs.h * xs.w * c);
    let mut sums = sums;
    if let Some(s) = sums.as_deref_mut() {
        s.resize(xs.n * c, 0.0);
        s.fill(0.0);
    }
    let per = xs.h * xs.w;
    for (n, img) in out.chunks_exact_mut(per * c).enumerate() {
        let src = &x[n * per * cx..][..per * cx];
        let small = &y[n * ys.h * ys.w * cy..][..ys.h * ys.w * cy];
        for (oy, row) in img.chunks_exact_mut(xs.w * c).enumerate() {
            let rows = doubled.then(|| source_rows(small, ys, oy));
            for (ox, o) in row.chunks_exact_mut(c).enumerate() {
                let p = oy * xs.w + ox;
                o[..cx].copy_from_slice(&src[p * cx..][..cx]);
                match rows {
                    Some(rows) => doubled_pixel(rows, cy, ox, &mut o[cx..]),
                    None => o[cx..].copy_from_slice(&tmp[(n * per + p) * cy..][..cy]),
                }
                apply(act, o);
                if let Some(s) = sums.as_deref_mut() {
                    s[n * c..][..c]
                        .iter_mut()
                        .zip(&*o)
                        .for_each(|(a, &v)| *a += v);
                }
            }
        }
    }
    Ok(Shape { c, ..xs })
}

/// `act` over one pixel, one loop per activation so each compiles to straight vector code.
#[inline(always)]
fn apply(act: Act, o: &mut [f32]) {
    match act {
        Act::None => {}
        Act::Relu => o.iter_mut().for_each(|v| *v = v.max(0.0)),
        Act::HSwish(k) => o
            .iter_mut()
            .for_each(|v| *v = (*v * k) * (*v + 3.0).clamp(0.0, 6.0)),
    }
}

/// Channel concatenation of two maps of the same geometry, then `act`.
pub fn concat(
    a: (&[f32], Shape),
    b: (&[f32], Shape),
    act: Act,
    out: &mut impl Floats,
) -> anyhow::Result<Shape> {
    let ((x, xs), (y, ys)) = (a, b);
    anyhow::ensure!(
        (xs.n, xs.h, xs.w) == (ys.n, ys.h, ys.w),
        "concat: shapes {xs:?} and {ys:?}"
    );
    out.clear();
    out.reserve(x.len() + y.len());
    for (p, q) in x.chunks_exact(xs.c).zip(y.chunks_exact(ys.c)) {
        let at = out.len();
        out.extend_from_slice(p);
        out.extend_from_slice(q);
        // In L1 right after the copy.
        apply(act, &mut out[at..]);
    }
    Ok(Shape {
        c: xs.c + ys.c,
        ..xs
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ops::mean;

    /// The 2x path against the general formula, computed here as `resize` does for other sizes.
    #[test]
    fn doubling_matches_the_general_resize() {
        let s = Shape {
            n: 2,
            h: 3,
            w: 5,
            c: 10,
        };
        let x: Vec<f32> = (0..s.n * s.h * s.w * s.c)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let mut fast = Vec::new();
        resize(&x, s, 6, 10, &mut fast);
        // The general formula, as `resize` computes it when not doubling.
        let mut want = vec![0.0; fast.len()];
        for n in 0..s.n {
            for oy in 0..6 {
                for ox in 0..10 {
                    let (fy, fx) = (oy as f32 * 0.5, ox as f32 * 0.5);
                    let (y0, x0) = (fy.floor() as usize, fx.floor() as usize);
                    let (y1, x1) = ((y0 + 1).min(s.h - 1), (x0 + 1).min(s.w - 1));
                    let (dy, dx) = (fy - y0 as f32, fx - x0 as f32);
                    for ch in 0..s.c {
                        let at = |y: usize, xx: usize| x[((n * s.h + y) * s.w + xx) * s.c + ch];
                        let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * dx;
                        let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * dx;
                        want[((n * 6 + oy) * 10 + ox) * s.c + ch] = top + (bottom - top) * dy;
                    }
                }
            }
        }
        assert_eq!(fast, want);
    }

    /// The one-pass upsample-and-merge against its three ops (resize, concatenation, mean), for
    /// a doubling and for another size, with each activation.
    #[test]
    fn resizing_concat_matches_resize_then_concat_and_mean() {
        let (xs, small) = (
            Shape {
                n: 2,
                h: 6,
                w: 10,
                c: 5,
            },
            Shape {
                n: 2,
                h: 3,
                w: 5,
                c: 7,
            },
        );
        let values = |s: Shape, k: usize| -> Vec<f32> {
            (0..s.n * s.h * s.w * s.c)
                .map(|i| ((i * k % 101) as f32 - 50.0) / 7.0)
                .collect()
        };
        let x = values(xs, 37);
        for (ys, act) in [
            (small, Act::Relu),
            (small, Act::HSwish(1.0 / 6.0)),
            (
                Shape {
                    h: 4,
                    w: 4,
                    ..small
                },
                Act::None,
            ),
        ] {
            let y = values(ys, 53);
            let mut up = Vec::new();
            let us = resize(&y, ys, xs.h, xs.w, &mut up);
            let mut want = Vec::new();
            let ws = concat((&x, xs), (&up, us), act, &mut want).unwrap();
            let mut want_mean = Vec::new();
            mean(&want, ws, &mut want_mean);
            let (mut got, mut tmp, mut sums) = (Vec::new(), Vec::new(), Vec::new());
            let gs = concat_resized((&x, xs), (&y, ys), act, &mut got, &mut tmp, Some(&mut sums))
                .unwrap();
            assert_eq!((gs.n, gs.h, gs.w, gs.c), (ws.n, ws.h, ws.w, ws.c));
            assert_eq!(got, want, "{ys:?} {act:?}");
            let px = (xs.h * xs.w) as f32;
            let got_mean: Vec<f32> = sums.iter().map(|v| v / px).collect();
            assert_eq!(got_mean, want_mean);
        }
    }

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
