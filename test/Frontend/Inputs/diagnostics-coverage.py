"""diagnostics-coverage.py LIST DIR: fails unless every diagnostic name in
LIST (from `circc check --list-diagnostics`) except internal-* occurs as
[name] in some test file under DIR."""
import os
import re
import sys

names = [line.split()[0] for line in open(sys.argv[1]) if line.strip()]
if len(names) < 10:
    sys.exit("diagnostics-coverage.py: implausibly short list: %r" % names)
seen = set()
for root, _, files in os.walk(sys.argv[2]):
    if os.path.basename(root) == "Inputs":
        continue
    for name in files:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            seen.update(re.findall(r"\[([a-z0-9-]+)\]", f.read()))
missing = [n for n in names if not n.startswith("internal-") and n not in seen]
if missing:
    sys.exit("diagnostics without a test: " + ", ".join(missing))
