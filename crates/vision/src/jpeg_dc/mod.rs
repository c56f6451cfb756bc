//! 1/8- and 1/4-scale JPEG decoding from the lowest DCT coefficients alone. At 1/8 scale every
//! 8x8 block becomes one pixel, its DC value; at 1/4 2x2 pixels, from its DC and three lowest AC
//! coefficients. `jpeg-decoder` still decodes, dequantises and stores every AC coefficient and
//! starts worker threads per image. This path only walks the Huffman stream on the calling thread
//! and skips the other AC symbols, with the same output as `jpeg-decoder` at those scales (same
//! rounding, 2x2 IDCT, chroma upsampling and colour conversion; its SIMD colour path rounds a few
//! values by one the other way).
//!
//! Progressive JPEGs (what web tools save photos as) carry every block's DC value in their first
//! scan and its remaining low bits in DC refinement scans: only those are read, the AC scans
//! (most of the file) are skipped by their markers. `jpeg-decoder` instead decodes and stores
//! every scan of the whole image, 50-80 ms for an 8 MP photo. (A refinement scan of fewer than
//! all components is skipped too: its DC values then lack their last `Al` bits.)
//!
//! Only baseline/extended Huffman JPEGs with one interleaved scan and (at 1/8) progressive
//! Huffman ones whose first DC scan holds every component, 8-bit samples, grayscale or YCbCr are
//! handled; anything else (or anything malformed) returns `None` and the caller uses
//! `jpeg-decoder`, which also produces the error messages.

mod color;
mod huffman;
mod scan;

use huffman::Table;
use scan::{blocks, entropy_len, scan_pass, Geometry, Pass};

/// The DCT-domain scales this path decodes at.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Scale {
    /// Each 8x8 block becomes one pixel, its DC value.
    Eighth,
    /// Each block becomes 2x2 pixels, from its 2x2 lowest frequencies (baseline files only).
    Quarter,
}

impl Scale {
    /// Output pixels per block side.
    fn samples(self) -> usize {
        match self {
            Scale::Eighth => 1,
            Scale::Quarter => 2,
        }
    }
}

/// An image decoded at reduced scale, before EXIF orientation.
pub struct Scaled<'a> {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    /// The EXIF payload (after `Exif\0\0`), as `jpeg-decoder` reports it.
    pub exif: Option<&'a [u8]>,
}

#[derive(Clone)]
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

/// Decodes `bytes` at the scale `choose(width, height)` of the frame returns; `None` if it
/// returns none, or if this path does not handle the file.
pub fn decode(bytes: &[u8], choose: impl Fn(u32, u32) -> Option<Scale>) -> Option<Scaled<'_>> {
    if bytes.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut at = 2;
    // Quantisation tables in zigzag order.
    let (mut qt, mut dc_tabs, mut ac_tabs) = (
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
                    let mut table = [0i32; 64];
                    for (i, q) in table.iter_mut().enumerate() {
                        *q = i32::from(match pq {
                            0 => u16::from(*rest.get(i)?),
                            _ => be16(rest, 2 * i)?,
                        });
                    }
                    *qt.get_mut(tq)? = Some(table);
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
    let scale = choose(w as u32, h as u32)?;
    // A progressive file's low AC coefficients come in refined bands: 1/8 only.
    if progressive && scale != Scale::Eighth {
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
    let mut coefs = blocks(&comps, (w, h), scale)?;
    let geometry = Geometry {
        size: (w, h),
        restart,
        scale,
    };
    at += geometry.scan(&comps, &tabs, first, bytes.get(at..)?, &mut coefs)?;
    // The rest of a progressive file: DC refinement scans read, AC scans skipped.
    // (The end-of-image marker has no length field for `segment` to read.)
    while progressive && bytes.get(at..at + 2)? != [0xff, 0xd9] {
        match segment(bytes, &mut at)? {
            (0xdd, seg) => restart = usize::from(be16(seg, 0)?),
            (0xda, seg) => {
                // (The tables of the scans that follow are not used: a copy takes them.)
                let pass = scan_pass(seg, &mut comps.clone())?;
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
        .map(|(c, comp)| Some(geometry.samples(&comps, comp, c, qt.get(comp.tq)?.as_ref()?)))
        .collect::<Option<_>>()?;
    let per = 8 / scale.samples();
    let (width, height) = (w.div_ceil(per), h.div_ceil(per));
    let rgb = color::to_rgb(&comps, &planes, (w, h), (width, height), scale.samples());
    Some(Scaled {
        width: width as u32,
        height: height as u32,
        rgb,
        exif,
    })
}

#[cfg(test)]
mod tests;
