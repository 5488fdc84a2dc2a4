#!/usr/bin/env python3
"""Reads `circc train`'s summary line on stdin and checks that the holdout
loss fell below FACTOR × the unigram entropy of the training stream (the loss
of a model that knows only token frequencies).

Usage: circc train ... | holdout_margin.py FACTOR
"""
import re
import sys

factor = float(sys.argv[1])
text = sys.stdin.read()
m = re.search(r"holdout ([0-9.]+) \(unigram entropy ([0-9.]+)\)", text)
if not m:
    sys.exit("no holdout loss in circc's output:\n" + text)
holdout, entropy = float(m.group(1)), float(m.group(2))
ratio = holdout / entropy
print(f"holdout/entropy = {ratio:.2f}")
if not ratio < factor:
    sys.exit(f"holdout {holdout} is not below {factor} x unigram entropy "
             f"{entropy}")
