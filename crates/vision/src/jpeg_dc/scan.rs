//! Reading the DC information of one scan into per-block coefficients, and the samples made
//! from them.

use super::huffman::{Bits, Table};
use super::{Component, Scale};

/// What a scan holds: a baseline scan's blocks, a progressive DC scan's first bits (above
/// `Al`), a DC refinement scan's bit `Al`, or something else (AC bands, a subset of components).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Pass {
    Baseline,
    First(u32),
    Refine(u32),
    Other,
}

/// The pass of the scan header `seg`; sets the components' Huffman tables when it covers them
/// all. `None` when malformed.
pub(super) fn scan_pass(seg: &[u8], comps: &mut [Component]) -> Option<Pass> {
    let ns = usize::from(*seg.first()?);
    let &[ss, se, ahal] = seg.get(1 + 2 * ns..4 + 2 * ns)? else {
        return None;
    };
    let (ah, al) = (u32::from(ahal >> 4), u32::from(ahal & 15));
    if ns != comps.len() {
        return Some(Pass::Other);
    }
    for (c, sel) in comps.iter_mut().zip(seg[1..].chunks_exact(2)) {
        if c.id != sel[0] {
            return Some(Pass::Other);
        }
        (c.td, c.ta) = (usize::from(sel[1] >> 4), usize::from(sel[1] & 15));
    }
    Some(match (ss, se, ah, al) {
        (0, 63, 0, 0) => Pass::Baseline,
        (0, 0, 0, al) if al < 14 => Pass::First(al),
        (0, 0, _, al) if al < 14 => Pass::Refine(al),
        _ => Pass::Other,
    })
}

/// Zeroed coefficients of each component's blocks (whole MCUs): per block its DC, and at
/// 1/4 scale its AC coefficients at zigzag positions 1, 2 and 4 too.
pub(super) fn blocks(
    comps: &[Component],
    (w, h): (usize, usize),
    scale: Scale,
) -> Option<Vec<Vec<i32>>> {
    let (mx, my) = mcus(comps, (w, h))?;
    let per = scale.samples() * scale.samples();
    Some(
        comps
            .iter()
            .map(|c| match comps.len() {
                1 => vec![0; mx * my * per],
                _ => vec![0; mx * c.h * my * c.v * per],
            })
            .collect(),
    )
}

/// MCUs across and down: a single-component scan is not interleaved, one block per MCU over
/// the component's size.
fn mcus(comps: &[Component], (w, h): (usize, usize)) -> Option<(usize, usize)> {
    let hmax = comps.iter().map(|c| c.h).max()?;
    let vmax = comps.iter().map(|c| c.v).max()?;
    Some(match comps.len() {
        1 => (w.div_ceil(8), h.div_ceil(8)),
        _ => (w.div_ceil(8 * hmax), h.div_ceil(8 * vmax)),
    })
}

/// Bytes of entropy-coded data before the next non-RST marker.
pub(super) fn entropy_len(src: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        i += memchr::memchr(0xff, src.get(i..)?)?;
        match *src.get(i + 1)? {
            0 | 0xd0..=0xd7 => i += 2,
            0xff => i += 1,
            _ => return Some(i),
        }
    }
}

/// Entropy-coded data up to the next non-RST marker with byte stuffing removed, split at the
/// restart markers: (end offset of each restart interval, bytes, source bytes read).
fn destuff(src: &[u8]) -> Option<(Vec<usize>, Vec<u8>, usize)> {
    let (mut ends, mut out, mut i) = (Vec::new(), Vec::with_capacity(src.len()), 0);
    loop {
        // No marker after the scan: truncated; let jpeg-decoder report it.
        let p = memchr::memchr(0xff, src.get(i..)?)?;
        out.extend_from_slice(&src[i..i + p]);
        i += p;
        match *src.get(i + 1)? {
            0 => {
                out.push(0xff);
                i += 2;
            }
            0xd0..=0xd7 => {
                ends.push(out.len());
                i += 2;
            }
            0xff => i += 1,
            _ => break,
        }
    }
    ends.push(out.len());
    Some((ends, out, i))
}

/// The frame size, the restart interval in force for a scan and the output scale.
#[derive(Clone, Copy)]
pub(super) struct Geometry {
    pub size: (usize, usize),
    pub restart: usize,
    pub scale: Scale,
}

impl Geometry {
    /// Reads one scan's DC information from `src` (its entropy-coded data onwards) into `coefs`
    /// (`jpeg-decoder`'s coefficients before dequantisation); the bytes read.
    pub fn scan(
        self,
        comps: &[Component],
        tabs: &[(&Table, &Table)],
        pass: Pass,
        src: &[u8],
        coefs: &mut [Vec<i32>],
    ) -> Option<usize> {
        let (ends, data, used) = destuff(src)?;
        let quarter = self.scale == Scale::Quarter;
        let per = self.scale.samples() * self.scale.samples();
        let (mx, my) = mcus(comps, self.size)?;
        let unit = |c: &Component| if comps.len() == 1 { (1, 1) } else { (c.h, c.v) };
        let total = mx * my;
        let interval = if self.restart == 0 {
            total
        } else {
            self.restart
        };
        if ends.len() != total.div_ceil(interval) {
            return None;
        }
        let mut start = 0;
        for (seg, &end) in ends.iter().enumerate() {
            let mut bits = Bits::new(data.get(start..end)?);
            start = end;
            let mut pred = [0i16; 3];
            for mcu in seg * interval..((seg + 1) * interval).min(total) {
                let (x, y) = (mcu % mx, mcu / mx);
                for (ci, c) in comps.iter().enumerate() {
                    let (uh, uv) = unit(c);
                    let (dc, ac) = tabs[ci];
                    for by in y * uv..(y + 1) * uv {
                        for bx in x * uh..(x + 1) * uh {
                            let at = (by * mx * uh + bx) * per;
                            let block = &mut coefs[ci][at..at + per];
                            // i16 like jpeg-decoder's predictors, so even odd streams agree.
                            let diff = match (pass, quarter) {
                                (Pass::Baseline, false) => bits.block_dc(dc, ac)?,
                                (Pass::Baseline, true) => {
                                    let (diff, low) = bits.block_low(dc, ac)?;
                                    block[1..].copy_from_slice(&low);
                                    diff
                                }
                                (Pass::First(_), _) => bits.dc(dc)?,
                                (Pass::Refine(al), _) => {
                                    block[0] |= (bits.bit() << al) as i32;
                                    continue;
                                }
                                (Pass::Other, _) => return None,
                            };
                            pred[ci] = pred[ci].wrapping_add(diff as i16);
                            let al = match pass {
                                Pass::First(al) => al,
                                _ => 0,
                            };
                            block[0] = i32::from(pred[ci]) << al;
                        }
                    }
                }
            }
            if bits.overrun() {
                return None;
            }
        }
        Some(used)
    }

    /// One component's samples from its blocks' coefficients and quantisation table (zigzag
    /// order): per block its DC value at 1/8 scale, 2x2 pixels at 1/4 (`jpeg-decoder`'s
    /// integer 1x1 and 2x2 IDCTs), rows of `mcus across x blocks per MCU x samples` bytes.
    pub fn samples(
        &self,
        comps: &[Component],
        c: &Component,
        coefs: &[i32],
        q: &[i32; 64],
    ) -> Vec<u8> {
        let clamp = |v: i32| v.clamp(0, 255) as u8;
        if self.scale == Scale::Eighth {
            return coefs
                .iter()
                .map(|&v| clamp((v * q[0] + 1024) / 8))
                .collect();
        }
        let (mx, _) = mcus(comps, self.size).unwrap_or((0, 0));
        let bw = if comps.len() == 1 { mx } else { mx * c.h };
        let mut out = vec![0u8; coefs.len()];
        for (i, b) in coefs.chunks_exact(4).enumerate() {
            // Natural positions 0, 1 (zigzag 1), 8 (zigzag 2) and 9 (zigzag 4).
            let (s00, s01) = (b[0] * q[0], b[1] * q[1]);
            let (s10, s11) = (b[2] * q[2], b[3] * q[4]);
            let bias = (1 << 2) + (128 << 3);
            let (x0, x2) = (s00 + s10 + bias, s00 - s10 + bias);
            let (x1, x3) = (s01 + s11, s01 - s11);
            let (by, bx) = (i / bw, i % bw);
            let top = (2 * by * bw + bx) * 2;
            out[top] = clamp((x0 + x1) >> 3);
            out[top + 1] = clamp((x0 - x1) >> 3);
            out[top + 2 * bw] = clamp((x2 + x3) >> 3);
            out[top + 2 * bw + 1] = clamp((x2 - x3) >> 3);
        }
        out
    }
}
