//! The DC-only path must give `jpeg-decoder`'s 1/8-scale pixels (up to colour rounding), or decline;
//! baseline and progressive files alike.

use std::path::PathBuf;

use super::Scale;

fn read(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/jpeg")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `jpeg-decoder` at `scale`, as RGB.
fn reference(bytes: &[u8], scale: Scale) -> (u32, u32, Vec<u8>) {
    let mut dec = jpeg_decoder::Decoder::new(bytes);
    dec.read_info().unwrap();
    let info = dec.info().unwrap();
    let d = 8 / scale.samples() as u16;
    dec.scale(info.width.div_ceil(d), info.height.div_ceil(d))
        .unwrap();
    let px = dec.decode().unwrap();
    let info = dec.info().unwrap();
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&l| [l; 3]).collect(),
        _ => px,
    };
    (u32::from(info.width), u32::from(info.height), rgb)
}

#[test]
fn matches_jpeg_decoder_at_one_eighth_and_one_quarter() {
    for (name, scale) in [
        "420.jpg",
        "444-odd.jpg",
        "422-odd.jpg",
        "420-odd-restart.jpg",
        "420-restart-rows.jpg",
        "gray-odd.jpg",
        "exif6.jpg",
        "progressive.jpg",
    ]
    .into_iter()
    .flat_map(|n| [(n, Scale::Eighth), (n, Scale::Quarter)])
    .filter(|&(n, s)| !(n == "progressive.jpg" && s == Scale::Quarter))
    {
        let bytes = read(name);
        let got = super::decode(&bytes, |_, _| Some(scale))
            .unwrap_or_else(|| panic!("{name} declined at {scale:?}"));
        let (w, h, rgb) = reference(&bytes, scale);
        assert_eq!((got.width, got.height), (w, h), "{name} {scale:?}");
        // jpeg-decoder's SIMD colour conversion rounds a few values the other way.
        let off = got.rgb.iter().zip(&rgb).filter(|(a, b)| a != b).count();
        let max = got.rgb.iter().zip(&rgb).map(|(a, b)| a.abs_diff(*b)).max();
        assert!(
            max <= Some(1) && off * 50 < rgb.len(),
            "{name} {scale:?}: {off} differ, max {max:?}"
        );
        assert_eq!(got.exif.is_some(), name == "exif6.jpg", "{name}");
    }
}

#[test]
fn declines_what_it_does_not_handle() {
    // A progressive file cut short (its DC refinement scan missing) is declined too.
    let progressive = read("progressive.jpg");
    assert!(super::decode(&progressive, |_, _| Some(Scale::Quarter)).is_none());
    let cut = &progressive[..progressive.len() * 2 / 3];
    assert!(super::decode(cut, |_, _| Some(Scale::Eighth)).is_none());
    let bytes = read("420-odd-restart.jpg");
    assert!(super::decode(&bytes, |_, _| None).is_none());
    for cut in [bytes.len() - 2, bytes.len() / 2, 300, 2] {
        assert!(
            super::decode(&bytes[..cut], |_, _| Some(Scale::Eighth)).is_none(),
            "cut {cut}"
        );
    }
    let mut garbled = bytes.clone();
    let n = garbled.len();
    garbled[n / 2..n - 2].iter_mut().for_each(|b| *b = 0x5a);
    assert!(super::decode(&garbled, |_, _| Some(Scale::Eighth)).is_none());
}
