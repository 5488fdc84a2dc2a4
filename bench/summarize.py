#!/usr/bin/env python3
"""Collects bench/run's "name value unit" lines into a table and a JSON file.

Reads the lines on stdin (anything else is ignored), computes the ratios of
Circ to PyTorch where both ran, checks the targets of issue #4, prints a table
to stdout and writes every figure, ratio and target to --json.
Usage: summarize.py [--json FILE] [--meta KEY=VALUE]... < lines
"""
import argparse
import json
import re
import sys

LINE = re.compile(r"^([A-Za-z0-9_.]+) (-?[0-9.eE+-]+|nan|inf) (\S+)$")

# (ratio name, Circ figure, PyTorch figure); a ratio > 1 means Circ is faster.
RATIOS = [
    ("train_a_vs_torch", "train_a_tokens_per_s", "torch_train_a_tokens_per_s"),
    ("forward_a_vs_torch", "forward_a_tokens_per_s",
     "torch_forward_a_tokens_per_s"),
    ("train_c_vs_torch", "train_c_tokens_per_s", "torch_train_c_tokens_per_s"),
    ("forward_c_vs_torch", "forward_c_tokens_per_s",
     "torch_forward_c_tokens_per_s"),
    ("train_sparse_c_vs_torch", "train_sparse_c_tokens_per_s",
     "torch_train_c_tokens_per_s"),
]
# Times: PyTorch ms / Circ ms. The *_cpu ratios compare the CPU time of all
# threads, which a shared machine disturbs less than wall time.
TIME_RATIOS = [("topk_c_vs_torch", "topk_c_d1000_ms", "torch_topk_c_ms")] + [
    (f"{what}_{c}_cpu_vs_torch", f"{what}_{c}{suffix}_cpu_ms",
     f"torch_{what}_{c}{suffix}_cpu_ms")
    for what, suffix in (("train", "_step"), ("forward", ""))
    for c in ("a", "c")] + [
    ("train_sparse_c_cpu_vs_torch", "train_sparse_c_step_cpu_ms",
     "torch_train_c_step_cpu_ms")]

KERNEL_PCT = re.compile(r"^kernel_c_.*_(fwd|grad_input)_stream_pct$")


def targets(fig, ratios):
    """Issue #4's targets: (name, wanted, measured, met) with None = not run."""
    out = []

    def add(name, wanted, value, ok):
        out.append({"target": name, "wanted": wanted, "measured": value,
                    "met": None if value is None else ok(value)})

    add("train (c) vs PyTorch", ">= 10x", ratios.get("train_c_vs_torch"),
        lambda v: v >= 10)
    add("  the same in CPU time", ">= 10x", ratios.get("train_c_cpu_vs_torch"),
        lambda v: v >= 10)
    add("forward (c) vs PyTorch", ">= 30x", ratios.get("forward_c_vs_torch"),
        lambda v: v >= 30)
    add("  the same in CPU time", ">= 30x",
        ratios.get("forward_c_cpu_vs_torch"), lambda v: v >= 30)
    pcts = [v for k, (v, _) in fig.items() if KERNEL_PCT.match(k)]
    add("sparse products at 1/1000, slowest vs STREAM triad", ">= 80%",
        min(pcts) if pcts else None, lambda v: v >= 80)
    add("top-k of all (c) matrices per step", "< 20 ms",
        fig.get("topk_c_d1000_ms", (None,))[0], lambda v: v < 20)
    add("train (c), sparse-only gradients, vs PyTorch", ">= 50x",
        ratios.get("train_sparse_c_vs_torch"), lambda v: v >= 50)
    add("  the same in CPU time", ">= 50x",
        ratios.get("train_sparse_c_cpu_vs_torch"), lambda v: v >= 50)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--meta", action="append", default=[])
    args = ap.parse_args()
    fig = {}
    for line in sys.stdin:
        m = LINE.match(line.strip())
        if m:
            fig[m.group(1)] = (float(m.group(2)), m.group(3))
    ratios = {}
    for name, circ, torch in RATIOS:
        if circ in fig and torch in fig and fig[torch][0] > 0:
            ratios[name] = fig[circ][0] / fig[torch][0]
    for name, circ, torch in TIME_RATIOS:
        if circ in fig and torch in fig and fig[circ][0] > 0:
            ratios[name] = fig[torch][0] / fig[circ][0]
    goals = targets(fig, ratios)

    width = max([len(k) for k in fig] + [len(k) for k in ratios] + [10])
    print(f"\n{'figure':<{width}}  {'value':>12}  unit")
    for name, (value, unit) in fig.items():
        print(f"{name:<{width}}  {value:>12.6g}  {unit}")
    if ratios:
        print(f"\n{'ratio (Circ / PyTorch)':<{width}}  {'value':>12}")
        for name, value in ratios.items():
            print(f"{name:<{width}}  {value:>12.3g}  x")
    print("\ntargets of issue #4")
    for g in goals:
        state = ("not run" if g["met"] is None else
                 "met" if g["met"] else "NOT MET")
        measured = "-" if g["measured"] is None else f"{g['measured']:.3g}"
        print(f"  {g['target']:<52} {g['wanted']:>7}  {measured:>8}  {state}")

    if args.json:
        meta = dict(kv.split("=", 1) for kv in args.meta)
        doc = {"meta": meta,
               "figures": {k: {"value": v, "unit": u}
                           for k, (v, u) in fig.items()},
               "ratios": ratios, "targets": goals}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
