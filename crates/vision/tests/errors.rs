//! Bad input gives clear, specific errors (and never a panic or a huge allocation).

use std::path::Path;

use bytes::Bytes;
use imgtag_core::{TagError, Tagger};
use imgtag_vision::{BuiltinConfig, BuiltinTagger, VisionError};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/images")
            .join(name),
    )
    .unwrap()
}

fn tagger() -> BuiltinTagger {
    BuiltinTagger::load(BuiltinConfig::default()).unwrap()
}

fn err(t: &BuiltinTagger, bytes: &[u8]) -> VisionError {
    t.tag_bytes(bytes).expect_err("should fail")
}

#[test]
fn empty_and_non_image_bytes() {
    let t = tagger();
    assert_eq!(err(&t, b"").to_string(), "empty file");
    assert_eq!(
        err(&t, b"hello, this is a text file\n").to_string(),
        "not an image (unrecognised format)"
    );
    assert_eq!(
        err(&t, b"%PDF-1.7\n...").to_string(),
        "not an image (unrecognised format)"
    );
}

#[test]
fn truncated_png_and_jpeg() {
    let t = tagger();
    for file in ["chelsea.png", "chelsea.jpg", "rocket.jpg"] {
        let bytes = fixture(file);
        for cut in [bytes.len() / 2, 40] {
            let e = err(&t, &bytes[..cut]);
            assert!(
                matches!(e, VisionError::Corrupt(_)),
                "{file} cut at {cut}: {e:?}"
            );
            assert!(
                e.to_string().starts_with("truncated or corrupt image: "),
                "{e}"
            );
        }
    }
}

#[test]
fn corrupt_body_after_a_valid_signature() {
    let t = tagger();
    let mut png = fixture("chelsea.png");
    for b in &mut png[200..4000] {
        *b ^= 0x5a;
    }
    assert!(matches!(err(&t, &png), VisionError::Corrupt(_)));
    let mut jpeg = b"\xff\xd8\xff\xe0".to_vec();
    jpeg.extend(std::iter::repeat_n(0x42u8, 500));
    assert!(matches!(
        err(&t, &jpeg),
        VisionError::Corrupt(_) | VisionError::Unsupported(_)
    ));
}

#[test]
fn pixel_limit_is_checked_from_the_header() {
    let small = BuiltinTagger::load(BuiltinConfig {
        max_pixels: 100_000,
        ..BuiltinConfig::default()
    })
    .unwrap();
    let e = err(&small, &fixture("chelsea.png"));
    assert_eq!(
        e.to_string(),
        "image too large: 451 x 300 pixels exceeds limit of 100000 pixels"
    );
    assert!(matches!(
        err(&small, &fixture("chelsea.jpg")),
        VisionError::TooLarge {
            width: 451,
            height: 300,
            ..
        }
    ));

    // A JPEG whose header claims 65000 x 65000 (a decompression bomb) is refused before decoding.
    let mut bomb = fixture("chelsea.jpg");
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("baseline SOF0 marker");
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xfd, 0xe8, 0xfd, 0xe8]);
    let e = err(&tagger(), &bomb);
    assert!(
        matches!(
            e,
            VisionError::TooLarge {
                width: 65000,
                height: 65000,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn tagger_port_maps_errors_to_bad_image() {
    let t = tagger();
    let port: &dyn Tagger = &t;
    assert_eq!(port.name(), "builtin");
    let tags = port.tag(Bytes::from(fixture("chelsea.jpg"))).await.unwrap();
    assert!(tags.iter().any(|p| p.name.as_str() == "cat"));
    match port.tag(Bytes::new()).await {
        Err(TagError::BadImage(m)) => assert_eq!(m, "empty file"),
        other => panic!("{other:?}"),
    }
    match port.tag(Bytes::from_static(b"GIF89a\x01")).await {
        Err(TagError::BadImage(m)) => assert!(m.starts_with("truncated or corrupt image"), "{m}"),
        other => panic!("{other:?}"),
    }
}
