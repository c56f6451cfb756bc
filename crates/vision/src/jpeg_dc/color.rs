//! Chroma upsampling and YCbCr → RGB of the 1/8- and 1/4-scale planes, the same arithmetic as
//! `jpeg-decoder` (libjpeg's triangle filter for 2x subsampling, nearest otherwise, BT.601 in
//! 20-bit fixed point, as its scalar path), so both paths give the same pixels up to rounding.

use super::Component;

/// Rows `(near, far)` that vertical 2x upsampling blends (3:1) for output row `row`.
fn v2_rows(row: usize, rows: usize) -> (usize, usize) {
    let near = row / 2;
    let far = if row.is_multiple_of(2) {
        near.saturating_sub(1)
    } else {
        near + 1
    };
    (near, far.min(rows - 1))
}

/// One output row of a component plane, upsampled to at least `ow` samples in `out`.
fn upsample_row(
    plane: &[u8],
    stride: usize,
    (iw, ih): (usize, usize),
    (fh, fv): (usize, usize),
    row: usize,
    out: &mut [u8],
) {
    let at = |r: usize| &plane[r * stride..][..iw];
    match (fh, fv) {
        (1, 1) => out[..iw].copy_from_slice(at(row)),
        (2, 1) | (2, 2) => {
            let (near, far) = if fv == 2 {
                v2_rows(row, ih)
            } else {
                (row, row)
            };
            let (near, far) = (at(near), at(far));
            // Vertical 3:1 blend (or the row itself), then the horizontal triangle filter.
            let t = |i: usize| {
                if fv == 2 {
                    3 * u32::from(near[i]) + u32::from(far[i])
                } else {
                    4 * u32::from(near[i])
                }
            };
            if iw == 1 {
                let v = ((t(0) + 2) >> 2) as u8;
                out[..2].fill(v);
                return;
            }
            let mut t1 = t(0);
            out[0] = ((t1 + 2) >> 2) as u8;
            for i in 1..iw {
                let t0 = t1;
                t1 = t(i);
                out[2 * i - 1] = ((3 * t0 + t1 + 8) >> 4) as u8;
                out[2 * i] = ((3 * t1 + t0 + 8) >> 4) as u8;
            }
            out[2 * iw - 1] = ((t1 + 2) >> 2) as u8;
        }
        (1, 2) => {
            let (near, far) = v2_rows(row, ih);
            let (near, far) = (at(near), at(far));
            for (o, (&n, &f)) in out.iter_mut().zip(near.iter().zip(far)) {
                *o = ((3 * u32::from(n) + u32::from(f) + 2) >> 2) as u8;
            }
        }
        _ => {
            for (o, &v) in out.chunks_mut(fh).zip(at(row / fv)) {
                o.fill(v);
            }
        }
    }
}

/// Interleaved RGB of the `ow x oh` output from the per-component planes of `s x s` samples
/// per block.
pub fn to_rgb(
    comps: &[Component],
    planes: &[Vec<u8>],
    (w, h): (usize, usize),
    (ow, oh): (usize, usize),
    s: usize,
) -> Vec<u8> {
    let mut rgb = vec![0u8; ow * oh * 3];
    // Image pixels per sample.
    let per = 8 / s;
    if comps.len() == 1 {
        let stride = w.div_ceil(8) * s;
        for (px, &y) in rgb
            .chunks_exact_mut(3)
            .zip(planes[0].chunks_exact(stride).flat_map(|r| &r[..ow]))
        {
            px.fill(y);
        }
        return rgb;
    }
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    let mcux = w.div_ceil(8 * hmax);
    let mut lines = vec![vec![0u8; (ow + 1) * hmax]; 3];
    for (row, out) in rgb.chunks_exact_mut(ow * 3).enumerate() {
        for ((c, plane), line) in comps.iter().zip(planes).zip(&mut lines) {
            let size = (
                (w * c.h).div_ceil(hmax * per),
                (h * c.v).div_ceil(vmax * per),
            );
            // As jpeg-decoder: a 1-wide or 1-high output needs no upsampling that way.
            let fh = if c.h == hmax || ow == 1 {
                1
            } else {
                hmax / c.h
            };
            let fv = if c.v == vmax || oh == 1 {
                1
            } else {
                vmax / c.v
            };
            upsample_row(plane, mcux * c.h * s, size, (fh, fv), row, line);
        }
        let (ys, cbs, crs) = (&lines[0][..ow], &lines[1][..ow], &lines[2][..ow]);
        for (px, ((&y, &cb), &cr)) in out.chunks_exact_mut(3).zip(ys.iter().zip(cbs).zip(crs)) {
            px.copy_from_slice(&ycbcr_to_rgb(y, cb, cr));
        }
    }
    rgb
}

const FIX: i32 = 20;

fn fixed(x: f32) -> i32 {
    (x * (1 << FIX) as f32 + 0.5) as i32
}

/// ITU-R BT.601 in fixed point, rounding exactly as `jpeg-decoder` (after libjpeg-turbo).
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = i32::from(y) * (1 << FIX) + (1 << (FIX - 1));
    let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
    let clamp = |v: i32| (v >> FIX).clamp(0, 255) as u8;
    [
        clamp(y + fixed(1.402) * cr),
        clamp(y - fixed(0.34414) * cb - fixed(0.71414) * cr),
        clamp(y + fixed(1.772) * cb),
    ]
}
