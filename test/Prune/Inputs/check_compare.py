#!/usr/bin/env python3
"""Checks a `circc compare` compare.json against its own per-task rows.

Usage: check_compare.py compare.json

Recomputes, independently of circc, which tasks enter the ratio (both
circuits pruned, both at or below the target loss, both with at least one
edge), each model's geometric mean of the included tasks' edge counts, and
their ratio; exits 1 with a message on any disagreement or missing field, and
prints one line per model and task for FileCheck.
"""
import json
import math
import sys


def fail(msg):
    print("check_compare: " + msg)
    sys.exit(1)


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def main():
    j = json.load(open(sys.argv[1]))
    for role in ("sparse", "dense"):
        m = j["models"][role]
        for key in ("file", "model", "checkpoint", "step", "holdout_loss",
                    "train_loss", "target_loss", "geometric_mean_edges",
                    "circuits"):
            if key not in m:
                fail(f"models.{role} has no '{key}'")
        print(f"{role}: {m['model']} step {m['step']} holdout "
              f"{'recorded' if m['holdout_loss'] is not None else 'missing'}")
    sizes = {"sparse": [], "dense": []}
    excluded = []
    for row in j["tasks"]:
        sides = [row[r] for r in ("sparse", "dense")]
        include = all("skipped" not in s and s["reached_target"] and
                      s["edges"] > 0 for s in sides)
        for s in sides:
            if "skipped" not in s and s["reached_target"] != (
                    s["loss"] <= j["models"]["sparse" if s is sides[0]
                                             else "dense"]["target_loss"]):
                fail(f"{row['task']}: reached_target disagrees with the loss")
        if include != row["included"]:
            fail(f"{row['task']}: included is {row['included']}, expected "
                 f"{include}")
        if include:
            for r in sizes:
                sizes[r].append(row[r]["edges"])
        else:
            if not row.get("excluded_because"):
                fail(f"{row['task']}: excluded without a reason")
            excluded.append(row["task"])
        print(f"task {row['task']}: "
              f"{'included' if include else 'excluded'}")
    if excluded != j["excluded_tasks"]:
        fail(f"excluded_tasks {j['excluded_tasks']} != {excluded}")
    if j["included_tasks"] != len(sizes["sparse"]):
        fail("included_tasks disagrees with the rows")
    if not sizes["sparse"]:
        for r in sizes:
            if j["models"][r]["geometric_mean_edges"] is not None:
                fail(f"{r}: a geometric mean without included tasks")
        if j["ratio_dense_over_sparse"] is not None:
            fail("a ratio without included tasks")
        print("no ratio")
        return
    means = {r: geomean(sizes[r]) for r in sizes}
    for r in means:
        if not math.isclose(j["models"][r]["geometric_mean_edges"], means[r],
                            rel_tol=1e-12):
            fail(f"{r}: geometric mean {j['models'][r]['geometric_mean_edges']}"
                 f" != {means[r]}")
    ratio = means["dense"] / means["sparse"]
    if not math.isclose(j["ratio_dense_over_sparse"], ratio, rel_tol=1e-12):
        fail(f"ratio {j['ratio_dense_over_sparse']} != {ratio}")
    print(f"ratio ok: {ratio:.4f} over {len(sizes['sparse'])} task(s)")


main()
