#!/usr/bin/env python3
"""Baseline for bench/tagger: the same EfficientNet-Lite2 weights in onnxruntime, Pillow decoding.

Per image: Pillow open, `draft()` (reduced-scale JPEG decoding, the same trick imgtag uses), EXIF
transpose, RGB, centre crop 260/292 + bicubic resize, numpy normalisation, onnxruntime, softmax.
`--mode single` runs one image per session call; `--mode batch` decodes the whole set then runs it
as one batch (as imgtag's tag_batch does). Prints one JSON line like the Rust example.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import efficientnet_onnx  # noqa: E402

SIZE, PAD = efficientnet_onnx.SIZE, 32


def prepare(path):
    with Image.open(path) as im:
        w, h = im.size
        short = min(w, h)
        if im.format == "JPEG" and short > SIZE + PAD:
            scale = (SIZE + PAD) / short
            im.draft("RGB", (int(w * scale + 0.999), int(h * scale + 0.999)))
        im = ImageOps.exif_transpose(im).convert("RGB")
        w, h = im.size
        crop = min(w, h) * SIZE / (SIZE + PAD)
        left, top = (w - crop) / 2, (h - crop) / 2
        im = im.resize((SIZE, SIZE), Image.BICUBIC, box=(left, top, left + crop, top + crop))
        return efficientnet_onnx.normalise(np.asarray(im, dtype=np.uint8))


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=["single", "batch"], default="batch")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--label", default="images")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    model = efficientnet_onnx.build(ROOT / "models" / "efficientnet-lite2.safetensors")
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    # Read the files into memory first, as the Rust side does.
    import io

    blobs = [Path(f).read_bytes() for f in a.files]

    def run_once():
        if a.mode == "batch":
            x = np.concatenate([prepare(io.BytesIO(b)) for b in blobs])
            softmax(sess.run(["logits"], {"input": x})[0])
        else:
            for b in blobs:
                softmax(sess.run(["logits"], {"input": prepare(io.BytesIO(b))})[0])

    run_once()
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < a.seconds:
        run_once()
        done += len(blobs)
    secs = time.perf_counter() - start
    print(json.dumps({"engine": "onnxruntime", "set": a.label, "mode": a.mode, "threads": a.threads,
                      "images": done, "seconds": round(secs, 3), "per_sec": round(done / secs, 3)}))


if __name__ == "__main__":
    main()
