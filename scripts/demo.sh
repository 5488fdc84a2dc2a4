#!/usr/bin/env bash
# The main job on the embedded default (`make demo`): the most complete chain
# Circ runs end to end today. It checks the quote-circuit example, builds its
# model as circ IR, differentiates the loss, lowers forward and backward to
# CPU loop nests and prints what was generated, then trains the tiny example
# on this machine's Python standard library with generated code.
# Usage: scripts/demo.sh [build]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
bin="$build/bin"
spec="$here/examples/quote.circ"
out="${CIRC_DEMO_OUT:-$here/runs/demo}"
mkdir -p "$out"

section() { printf '\n== %s\n' "$*"; }

section "1. check $spec: every resolved value and where it came from"
"$bin/circc" check --print-spec "$spec"

section "2. the model as circ IR (batch 1, with its next-token loss)"
"$bin/circc" compile --emit=mlir --batch=1 --with-loss "$spec" -o "$out/model.mlir"
echo "wrote $out/model.mlir; ops:"
grep -o 'circ\.[a-z_]*' "$out/model.mlir" | sort | uniq -c | sort -rn

section "3. differentiate the loss (circ-differentiate)"
"$bin/circ-opt" "$out/model.mlir" --circ-differentiate -o "$out/train_step.mlir"
echo "wrote $out/train_step.mlir; gradient ops:"
grep -o 'circ\.[a-z_]*_grad[a-z_]*' "$out/train_step.mlir" | sort | uniq -c | sort -rn

section "4. lower forward and backward to CPU loop nests (convert-circ-to-loops)"
"$bin/circ-opt" "$out/train_step.mlir" --convert-circ-to-loops --canonicalize \
  --cse -o "$out/kernels.mlir"
echo "wrote $out/kernels.mlir"
awk '/func.func @/ { match($0, /@[a-z_0-9]+/); f = substr($0, RSTART, RLENGTH) }
     /scf.parallel/ { par[f]++ } /vector.load|vector.maskedload/ { vec[f]++ }
     END { printf "%-14s %18s %14s\n", "function", "parallel kernels", "vector loads";
           for (f in par) printf "%-14s %18d %14d\n", f, par[f], vec[f] }' "$out/kernels.mlir"

section "5. the task the example prunes for"
"$bin/circ-tasks" --show single_double_quote

section "6. train examples/tiny.circ on the Python standard library (generated code)"
(cd "$out" && "$bin/circc" train "$here/examples/tiny.circ" --out "$out/tiny")
