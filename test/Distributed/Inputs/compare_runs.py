#!/usr/bin/env python3
"""Compares two training runs: checkpoints tensor by tensor, metrics by step.

Usage: compare_runs.py A.safetensors B.safetensors [--metrics A.jsonl B.jsonl]
                       [--rtol R] [--loss-atol L] [--exact]

Weights (every F32 tensor: values and Adam moments) agree when, per tensor,
||a - b||_2 <= R * max(||a||_2, ||b||_2); with --exact the bytes must be
equal. Training losses agree when every logged step's |loss_a - loss_b| <= L
(both logs must have the same steps). Prints one line per disagreement and
exits 1 if there is any, else prints "runs agree" with the largest errors.
Pure standard library: reads safetensors (u64 header size, JSON, data).
"""
import argparse
import array
import json
import math
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (size,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + size])
    data = blob[8 + size:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        values = array.array("f")
        values.frombytes(data[begin:end])
        if sys.byteorder != "little":
            values.byteswap()
        tensors[name] = values
    return tensors


def train_losses(path):
    losses = {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record.get("kind") == "train":
                losses[record["step"]] = record["loss"]
    return losses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--metrics", nargs=2)
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--loss-atol", type=float, default=1e-3)
    parser.add_argument("--exact", action="store_true")
    args = parser.parse_args()

    problems = []
    a, b = read_safetensors(args.a), read_safetensors(args.b)
    if sorted(a) != sorted(b):
        problems.append(f"tensor names differ: {sorted(set(a) ^ set(b))}")
    worst = 0.0
    for name in sorted(set(a) & set(b)):
        x, y = a[name], b[name]
        if len(x) != len(y):
            problems.append(f"{name}: {len(x)} vs {len(y)} entries")
            continue
        if args.exact:
            if x.tobytes() != y.tobytes():
                problems.append(f"{name}: bits differ")
            continue
        diff = math.sqrt(sum((p - q) ** 2 for p, q in zip(x, y)))
        scale = max(math.sqrt(sum(p * p for p in x)),
                    math.sqrt(sum(q * q for q in y)))
        rel = diff / scale if scale > 0 else diff
        worst = max(worst, rel)
        if rel > args.rtol:
            problems.append(f"{name}: relative L2 difference {rel:.3g}")

    worst_loss = 0.0
    if args.metrics:
        la, lb = (train_losses(p) for p in args.metrics)
        if sorted(la) != sorted(lb) or not la:
            problems.append(f"logged steps differ: {sorted(la)} vs {sorted(lb)}")
        for step in sorted(set(la) & set(lb)):
            d = abs(la[step] - lb[step])
            worst_loss = max(worst_loss, d)
            if d > args.loss_atol:
                problems.append(f"step {step}: loss {la[step]} vs {lb[step]}")

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"runs agree: {len(a)} tensors, worst relative L2 {worst:.3g}, "
          f"worst loss difference {worst_loss:.3g}")
    return 0


sys.exit(main())
