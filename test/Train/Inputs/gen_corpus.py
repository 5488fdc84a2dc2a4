#!/usr/bin/env python3
"""Writes a small deterministic corpus of Python-like files for training tests.

Usage: gen_corpus.py OUT_DIR [FILES]

Every file is a handful of functions and classes instantiated from templates
with names and numbers drawn from a fixed-seed generator, so the corpus is
identical on every machine and a tiny model can learn it (the structure is
regular, the names vary): its holdout loss must fall far below the unigram
entropy. Files go to OUT_DIR/pkg<k>/mod<i>.py.
"""
import os
import random
import sys

NAMES = ["count", "total", "value", "item", "index", "result", "name",
         "size", "offset", "width", "height", "key", "node", "line", "text"]
OPS = ["+", "-", "*", "//", "%"]


def function(r):
    a, b = r.sample(NAMES, 2)
    op, n = r.choice(OPS), r.randint(1, 9)
    return (f"def {a}_{b}({a}, {b}):\n"
            f"    \"\"\"Return {a} {op} {b} {op} {n}.\"\"\"\n"
            f"    return {a} {op} {b} {op} {n}\n")


def loop(r):
    a, b = r.sample(NAMES, 2)
    n = r.randint(2, 20)
    return (f"def sum_{a}(items):\n"
            f"    {b} = 0\n"
            f"    for {a} in items[:{n}]:\n"
            f"        if {a} > {n}:\n"
            f"            {b} += {a}\n"
            f"    return {b}\n")


def klass(r):
    a, b, c = r.sample(NAMES, 3)
    return (f"class {a.capitalize()}{b.capitalize()}:\n"
            f"    def __init__(self, {b}, {c}):\n"
            f"        self.{b} = {b}\n"
            f"        self.{c} = {c}\n"
            f"\n"
            f"    def __repr__(self):\n"
            f"        return \"{a}({{}}, {{}})\".format(self.{b}, self.{c})\n")


def main():
    out = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 120
    r = random.Random(20251122)
    for i in range(files):
        path = os.path.join(out, f"pkg{i % 4}", f"mod{i}.py")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        parts = [f"# module {i}\n"]
        for _ in range(r.randint(4, 8)):
            parts.append(r.choice([function, loop, klass])(r))
        with open(path, "w") as f:
            f.write("\n\n".join(parts))


main()
