#!/usr/bin/env python3
"""Write the small JPEG encodings that test the 1/8-scale DC-only decoder against jpeg-decoder
(crates/vision/tests/data/jpeg/): chroma subsampling 4:4:4, 4:2:2, 4:2:0, grayscale, restart
markers, odd sizes, EXIF orientation, and a progressive file (which must fall back).

    bash tools/setup_venv.sh && /tmp/imgtag-tools-venv/bin/python tools/make_jpeg_variants.py
"""
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "vision" / "tests" / "data" / "jpeg"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    img = Image.open(ROOT / "fixtures" / "images" / "chelsea.png").convert("RGB")
    odd = img.crop((10, 7, 10 + 203, 7 + 149))
    exif = Image.Exif()
    exif[0x0112] = 6
    variants = {
        "420.jpg": (img, dict(quality=90)),
        "444-odd.jpg": (odd, dict(quality=85, subsampling=0)),
        "422-odd.jpg": (odd, dict(quality=95, subsampling=1)),
        "420-odd-restart.jpg": (odd, dict(quality=80, restart_marker_blocks=7)),
        "420-restart-rows.jpg": (img, dict(quality=75, restart_marker_rows=1)),
        "gray-odd.jpg": (odd.convert("L"), dict(quality=90)),
        "exif6.jpg": (odd.transpose(Image.Transpose.ROTATE_90), dict(quality=85, exif=exif)),
        "progressive.jpg": (odd, dict(quality=85, progressive=True)),
    }
    for name, (im, opts) in variants.items():
        im.save(OUT / name, **opts)
        print(f"{name}: {(OUT / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
