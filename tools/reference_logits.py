#!/usr/bin/env python3
"""Reference logits for the Rust tagger's tests, computed by onnxruntime (no torch).

    bash tools/setup_venv.sh && /tmp/imgtag-tools-venv/bin/python tools/reference_logits.py

For each photo in PHOTOS it preprocesses with Pillow (tools/efficientnet_onnx.preprocess), runs the ONNX
graph built from models/efficientnet-lite2.safetensors through onnxruntime, and writes to
crates/vision/tests/data/:
- `<stem>.input.png`: the exact 260x260 RGB pixels fed to the network (lossless; the network input
  is (p - 127) / 128 of these, so the Rust test feeds identical tensors whatever its own resizer does);
- `<stem>.logits.json`: the 1000 logits and the top-5 class indices.
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import efficientnet_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "brick.png"]


def main():
    model = efficientnet_onnx.build(ROOT / "models" / "efficientnet-lite2.safetensors")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out_dir = ROOT / "crates" / "vision" / "tests" / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    for photo in PHOTOS:
        rgb = efficientnet_onnx.preprocess(ROOT / "fixtures" / "images" / photo)
        stem = Path(photo).stem
        Image.fromarray(rgb).save(out_dir / f"{stem}.input.png", optimize=True)
        (logits,) = sess.run(["logits"], {"input": efficientnet_onnx.normalise(rgb)})
        logits = logits[0].astype(np.float64)
        top5 = [int(i) for i in np.argsort(-logits)[:5]]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        record = {
            "photo": photo,
            "input": f"{stem}.input.png",
            "runtime": f"onnxruntime {ort.__version__}",
            "top5": top5,
            "top5_probabilities": [round(float(p[i]), 6) for i in top5],
            "logits": [round(float(v), 6) for v in logits],
        }
        (out_dir / f"{stem}.logits.json").write_text(json.dumps(record) + "\n")
        print(f"{photo}: top5 {top5} p {record['top5_probabilities']}")


if __name__ == "__main__":
    main()
