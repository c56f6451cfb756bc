"""EfficientNet-Lite2 as an ONNX graph, built from models/efficientnet-lite2.safetensors.

Used by tools/reference_logits.py and bench/tagger as an implementation independent of the Rust one:
it keeps batch norm as ONNX `BatchNormalization` nodes (no folding) and expresses TF "SAME" padding
as explicit `Pad` nodes, so a shared mistake is unlikely. Needs numpy and onnx only (no torch).
"""
import json
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# EfficientNet-Lite2's stages as in TF's efficientnet_lite_builder: (kernel, stride of the first
# block, blocks). Lite-B0's repeats 1,2,2,3,3,4,1 times depth 1.2 rounded up, first and last stage
# fixed. Channel counts come from the weight shapes.
STAGES = [(3, 1, 1), (3, 2, 3), (5, 2, 3), (3, 2, 4), (5, 1, 4), (5, 2, 5), (3, 1, 1)]
BLOCKS = [(k, s if i == 0 else 1) for k, s, n in STAGES for i in range(n)]
SIZE = 260
BN_EPS = 1e-3


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", name
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"]).astype(np.float32)
    return out


def same_pads(size, k, s):
    """TF SAME padding (before, after) for one spatial dimension; uneven when the stride is 2."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


class Builder:
    def __init__(self, w):
        self.w, self.nodes, self.inits, self.n = w, [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(self, x, wname, size, k, s, group=1):
        top, bottom, out = same_pads(size, k, s)
        if top or bottom:
            pads = self.init(self.name("pads"), np.array([0, 0, top, top, 0, 0, bottom, bottom], np.int64))
            x = self.node("Pad", [x, pads])
        w = self.init(wname, self.w[wname])
        return self.node("Conv", [x, w], kernel_shape=[k, k], strides=[s, s], group=group), out

    def bn(self, x, prefix):
        ins = [x] + [self.init(f"{prefix}.{p}", self.w[f"{prefix}.{p}"])
                     for p in ("weight", "bias", "running_mean", "running_var")]
        return self.node("BatchNormalization", ins, epsilon=BN_EPS)

    def relu6(self, x):
        lo = self.init(self.name("zero"), np.array(0.0, np.float32))
        hi = self.init(self.name("six"), np.array(6.0, np.float32))
        return self.node("Clip", [x, lo, hi])


def build(safetensors_path, size=SIZE):
    """ONNX model: input `input` [N,3,size,size] normalised as (p-127)/128, output `logits` [N,1000]."""
    w = load_safetensors(safetensors_path)
    assert f"_blocks.{len(BLOCKS) - 1}._project_conv.weight" in w and f"_blocks.{len(BLOCKS)}._project_conv.weight" not in w
    b = Builder(w)
    x, hw = b.conv("input", "_conv_stem.weight", size, 3, 2)
    x = b.relu6(b.bn(x, "_bn0"))
    for i, (k, s) in enumerate(BLOCKS):
        p = f"_blocks.{i}"
        inp, c_in = x, None
        if f"{p}._expand_conv.weight" in w:
            c_in = w[f"{p}._expand_conv.weight"].shape[1]
            x, _ = b.conv(x, f"{p}._expand_conv.weight", hw, 1, 1)
            x = b.relu6(b.bn(x, f"{p}._bn0"))
        c_mid = w[f"{p}._depthwise_conv.weight"].shape[0]
        c_in = c_in or c_mid
        x, hw_out = b.conv(x, f"{p}._depthwise_conv.weight", hw, k, s, group=c_mid)
        x = b.relu6(b.bn(x, f"{p}._bn1"))
        x, _ = b.conv(x, f"{p}._project_conv.weight", hw_out, 1, 1)
        x = b.bn(x, f"{p}._bn2")
        if s == 1 and c_in == w[f"{p}._project_conv.weight"].shape[0]:
            x = b.node("Add", [x, inp])
        hw = hw_out
    x, _ = b.conv(x, "_conv_head.weight", hw, 1, 1)
    x = b.relu6(b.bn(x, "_bn1"))
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x])])
    fc_w, fc_b = b.init("_fc.weight", w["_fc.weight"]), b.init("_fc.bias", w["_fc.bias"])
    b.nodes.append(helper.make_node("Gemm", [x, fc_w, fc_b], ["logits"], transB=1))
    graph = helper.make_graph(
        b.nodes, "efficientnet_lite2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def preprocess(path, size=SIZE):
    """Pillow pipeline: EXIF orientation, RGB, centre crop size/(size+32) of the short side, bicubic resize.

    Returns the resized uint8 RGB image (H, W, 3); normalise with `normalise`.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        w, h = im.size
        crop = min(w, h) * size / (size + 32)
        left, top = (w - crop) / 2, (h - crop) / 2
        im = im.resize((size, size), Image.BICUBIC, box=(left, top, left + crop, top + crop))
        return np.asarray(im, dtype=np.uint8)


def normalise(rgb):
    """uint8 (H, W, 3) → float32 (1, 3, H, W), (p - 127) / 128 as EfficientNet-Lite expects."""
    x = (rgb.astype(np.float32) - 127.0) / 128.0
    return x.transpose(2, 0, 1)[None]
