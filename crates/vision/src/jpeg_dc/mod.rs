//! 1/8-scale JPEG decoding from the DC coefficients alone. At 1/8 scale every 8x8 block becomes
//! one pixel, its DC value; `jpeg-decoder` still decodes, dequantises and stores every AC
//! coefficient and starts worker threads per image. This path only walks the Huffman stream on the
//! calling thread and skips the AC symbols, with the same output as `jpeg-decoder` at 1/8 (same
//! DC rounding, chroma upsampling and colour conversion; its SIMD colour path rounds a few values
//! by one the other way).
//!
//! Progressive JPEGs (what web tools save photos as) carry every block's DC value in their first
//! scan and its remaining low bits in DC refinement scans: only those are read, the AC scans
//! (most of the file) are skipped by their markers. `jpeg-decoder` instead decodes and stores
//! every scan of the whole image, 50-80 ms for an 8 MP photo.
//!
//! Only baseline/extended Huffman JPEGs with one interleaved scan and progressive Huffman ones
//! whose DC scans hold every component, 8-bit samples, grayscale or YCbCr are handled; anything
//! else (or anything malformed) returns `None` and the caller uses `jpeg-decoder`, which also
//! produces the error messages.

mod color;
mod huffman;

use huffman::{Bits, Table};

/// An image decoded at 1/8 scale, before EXIF orientation.
pub struct Eighth<'a> {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    /// The EXIF payload (after `Exif\0\0`), as `jpeg-decoder` reports it.
    pub exif: Option<&'a [u8]>,
}

pub(crate) struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Huffman table indexes (DC, AC), set by the scan header.
    td: usize,
    ta: usize,
}

fn be16(s: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*s.get(at)?, *s.get(at + 1)?]))
}

/// The next marker segment at `*at`: (marker, payload without the length field).
fn segment<'a>(bytes: &'a [u8], at: &mut usize) -> Option<(u8, &'a [u8])> {
    while bytes.get(*at)? == &0xff && bytes.get(*at + 1)? == &0xff {
        *at += 1; // fill bytes
    }
    if bytes.get(*at)? != &0xff {
        return None;
    }
    let marker = *bytes.get(*at + 1)?;
    let len = usize::from(be16(bytes, *at + 2)?);
    let seg = bytes.get(*at + 4..*at + 2 + len.max(2))?;
    *at += 2 + len;
    Some((marker, seg))
}

/// Decodes `bytes` at 1/8 scale if `accept(width, height)` of the frame says so; `None` if it
/// does not, or if this path does not handle the file.
pub fn decode(bytes: &[u8], accept: impl Fn(u32, u32) -> bool) -> Option<Eighth<'_>> {
    if bytes.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut at = 2;
    let (mut qdc, mut dc_tabs, mut ac_tabs) = (
        [None; 4],
        [None, None, None, None],
        [None, None, None, None],
    );
    let (mut comps, mut size, mut restart, mut exif) = (Vec::new(), (0, 0), 0usize, None);
    let mut progressive = false;
    let first = loop {
        let (marker, seg) = segment(bytes, &mut at)?;
        match marker {
            0xdb => {
                let mut s = seg;
                while let [pq_tq, rest @ ..] = s {
                    let (pq, tq) = (pq_tq >> 4, usize::from(pq_tq & 15));
                    let n = if pq == 0 { 64 } else { 128 };
                    let first = if pq == 0 {
                        u16::from(*rest.first()?)
                    } else {
                        be16(rest, 0)?
                    };
                    *qdc.get_mut(tq)? = Some(i32::from(first));
                    s = rest.get(n..)?;
                }
            }
            0xc4 => {
                let mut s = seg;
                while let [tc_th, rest @ ..] = s {
                    let counts: &[u8; 16] = rest.get(..16)?.try_into().ok()?;
                    let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let table = Table::new(counts, rest.get(16..16 + n)?)?;
                    let th = usize::from(tc_th & 15);
                    match tc_th >> 4 {
                        0 => *dc_tabs.get_mut(th)? = Some(table),
                        1 => *ac_tabs.get_mut(th)? = Some(table),
                        _ => return None,
                    }
                    s = rest.get(16 + n..)?;
                }
            }
            // Baseline, extended sequential and progressive Huffman, 8-bit only.
            0xc0..=0xc2 => {
                if seg.first() != Some(&8) || !comps.is_empty() {
                    return None;
                }
                progressive = marker == 0xc2;
                size = (usize::from(be16(seg, 3)?), usize::from(be16(seg, 1)?));
                for c in seg
                    .get(6..6 + 3 * usize::from(*seg.get(5)?))?
                    .chunks_exact(3)
                {
                    let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
                        return None;
                    }
                    comps.push(Component {
                        id: c[0],
                        h,
                        v,
                        tq: usize::from(c[2]),
                        td: 0,
                        ta: 0,
                    });
                }
            }
            0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => return None,
            0xdd => restart = usize::from(be16(seg, 0)?),
            0xe1 if seg.starts_with(b"Exif\0\0") => exif = Some(&seg[6..]),
            // Adobe marker: only its YCbCr transform is handled here.
            0xee if seg.starts_with(b"Adobe\0") && seg.get(11) != Some(&1) => return None,
            0xda => {
                // A baseline scan of all components, or a progressive file's first DC scan.
                let pass = scan_pass(seg, &mut comps)?;
                match (progressive, pass) {
                    (false, Pass::Baseline) | (true, Pass::First(_)) => break pass,
                    _ => return None,
                }
            }
            0xd8 | 0xd9 => return None,
            _ => {}
        }
    };
    let (w, h) = size;
    if !accept(w as u32, h as u32) {
        return None;
    }
    // Grayscale, or YCbCr not marked as RGB by its component ids.
    let ids: Vec<u8> = comps.iter().map(|c| c.id).collect();
    if w == 0 || h == 0 || !(comps.len() == 1 || comps.len() == 3) || ids == b"RGB" {
        return None;
    }
    let mut tabs = Vec::new();
    for c in &comps {
        let dc = dc_tabs.get(c.td)?.as_ref()?;
        // A progressive DC scan has no AC table (nor needs one).
        let ac = ac_tabs.get(c.ta)?.as_ref().or(progressive.then_some(dc))?;
        tabs.push((dc, ac));
    }
    let mut coefs = blocks(&comps, (w, h))?;
    let geometry = Geometry {
        size: (w, h),
        restart,
    };
    at += geometry.scan(&comps, &tabs, first, bytes.get(at..)?, &mut coefs)?;
    // The rest of a progressive file: DC refinement scans read, AC scans skipped.
    // (The end-of-image marker has no length field for `segment` to read.)
    while progressive && bytes.get(at..at + 2)? != [0xff, 0xd9] {
        match segment(bytes, &mut at)? {
            (0xdd, seg) => restart = usize::from(be16(seg, 0)?),
            (0xda, seg) => {
                let pass = scan_pass(seg, &mut comps)?;
                let rest = bytes.get(at..)?;
                at += match pass {
                    Pass::Refine(_) => Geometry {
                        restart,
                        ..geometry
                    }
                    .scan(&comps, &tabs, pass, rest, &mut coefs)?,
                    _ => entropy_len(rest)?,
                };
            }
            _ => {}
        }
    }
    let planes: Vec<Vec<u8>> = (coefs.iter().zip(&comps))
        .map(|(plane, c)| {
            let q = qdc.get(c.tq).copied()??;
            Some(
                plane
                    .iter()
                    .map(|&v| ((v * q + 1024) / 8).clamp(0, 255) as u8)
                    .collect(),
            )
        })
        .collect::<Option<_>>()?;
    let (width, height) = (w.div_ceil(8), h.div_ceil(8));
    let rgb = color::to_rgb(&comps, &planes, (w, h), (width, height));
    Some(Eighth {
        width: width as u32,
        height: height as u32,
        rgb,
        exif,
    })
}

/// What a scan holds: a baseline scan's blocks, a progressive DC scan's first bits (above
/// `Al`), a DC refinement scan's bit `Al`, or something else (AC bands, a subset of components).
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    Baseline,
    First(u32),
    Refine(u32),
    Other,
}

/// The pass of the scan header `seg`; sets the components' Huffman tables when it covers them
/// all. `None` when malformed.
fn scan_pass(seg: &[u8], comps: &mut [Component]) -> Option<Pass> {
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

/// Zeroed DC coefficients, one per block of each component (whole MCUs).
fn blocks(comps: &[Component], (w, h): (usize, usize)) -> Option<Vec<Vec<i32>>> {
    let (mx, my) = mcus(comps, (w, h))?;
    let single = comps.len() == 1;
    Some(
        comps
            .iter()
            .map(|c| match single {
                true => vec![0; mx * my],
                false => vec![0; mx * c.h * my * c.v],
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
fn entropy_len(src: &[u8]) -> Option<usize> {
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

/// The frame size and the restart interval in force for a scan.
#[derive(Clone, Copy)]
struct Geometry {
    size: (usize, usize),
    restart: usize,
}

impl Geometry {
    /// Reads one scan's DC information from `src` (its entropy-coded data onwards) into `coefs`
    /// (`jpeg-decoder`'s coefficients before dequantisation); the bytes read.
    fn scan(
        self,
        comps: &[Component],
        tabs: &[(&Table, &Table)],
        pass: Pass,
        src: &[u8],
        coefs: &mut [Vec<i32>],
    ) -> Option<usize> {
        let (ends, data, used) = destuff(src)?;
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
                            let v = &mut coefs[ci][by * mx * uh + bx];
                            // i16 like jpeg-decoder's predictors, so even odd streams agree.
                            let diff = match pass {
                                Pass::Baseline => bits.block_dc(dc, ac)?,
                                Pass::First(_) => bits.dc(dc)?,
                                Pass::Refine(al) => {
                                    *v |= (bits.bit() << al) as i32;
                                    continue;
                                }
                                Pass::Other => return None,
                            };
                            pred[ci] = pred[ci].wrapping_add(diff as i16);
                            let al = match pass {
                                Pass::First(al) => al,
                                _ => 0,
                            };
                            *v = i32::from(pred[ci]) << al;
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
}

#[cfg(test)]
mod tests;
