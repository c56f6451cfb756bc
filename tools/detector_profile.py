#!/usr/bin/env python3
"""Summarise the object detector's per-op timings (`IMGTAG_PROFILE=1`, see
crates/vision/src/detect/profile.rs): median per op over all passes, totals per op kind, the
multiply-add rate of ops with a product or convolution, and,
given two files (say an old and a new binary run alternately), both side by side.

    cd fixtures/images
    IMGTAG_PROFILE=1 ../../target/release/examples/bench --faces off --mode single --threads 1 \\
        --seconds 3 table.jpg 2> /tmp/new.txt
    python3 tools/detector_profile.py /tmp/new.txt [/tmp/old.txt] [--top 20]
"""
import statistics
import sys
from collections import defaultdict


def load(path):
    times, meta = defaultdict(list), {}
    for line in open(path):
        parts = line.split()
        if len(parts) not in (5, 6) or parts[0] != "op":
            continue
        i = int(parts[1])
        times[i].append(float(parts[4]))
        meta[i] = (parts[2], parts[3], int(parts[5]) if len(parts) == 6 else 0)
    return {i: statistics.median(v) for i, v in times.items()}, meta, len(times.get(0, []))


def main():
    args = sys.argv[1:]
    top = 20
    if "--top" in args:
        at = args.index("--top")
        top = int(args[at + 1])
        del args[at : at + 2]
    runs = [load(p) for p in args]
    meta = {}
    for _, m, _ in runs:
        meta.update(m)
    for path, (med, _, passes) in zip(args, runs):
        kinds = defaultdict(float)
        for i, us in med.items():
            kinds[meta[i][0]] += us
        print(f"{path}: {passes} passes, sum of per-op medians {sum(med.values()) / 1000:.2f} ms")
        print("  " + ", ".join(f"{k} {v / 1000:.2f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
    ops = sorted(meta, key=lambda i: -max(r[0].get(i, 0.0) for r in runs))
    # G multiply-adds per second of the first file, where the op has a product or convolution.
    print("op    kind       shape          " + "  ".join(f"ms[{n}]" for n in range(len(runs))) + "   M madds  G/s[0]")
    for i in ops[:top]:
        cells = "  ".join(f"{r[0].get(i, 0.0) / 1000:6.3f}" for r in runs)
        macs, us = meta[i][2], runs[0][0].get(i, 0.0)
        rate = f"{macs / us / 1000:6.1f}" if macs and us else ""
        mm = f"{macs / 1e6:7.2f}" if macs else ""
        print(f"{i:4d}  {meta[i][0]:<10} {meta[i][1]:<14} {cells}  {mm:>8} {rate}")


if __name__ == "__main__":
    main()
