#!/usr/bin/env bash
# The main job on the embedded default (`make demo`): trains the small
# weight-sparse model of examples/demo.circ on this machine's Python standard
# library, prunes it to the circuit that closes a string with the quote it was
# opened with (single_double_quote), audits that circuit and writes its HTML
# report. On the way it shows the compiler's stages on the same model: the
# checked spec, the circ IR, the differentiated training step and the CPU
# kernels. About 10 minutes on 2 cores after the build.
# Usage: scripts/demo.sh [build]. The run goes to runs/demo (the spec's
# `out`); an earlier run there is moved aside to runs/demo-<time>, not lost.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$here/build}" && pwd)"
bin="$build/bin"
spec="examples/demo.circ"
out="runs/demo"
cd "$here"
if [ -e "$out" ]; then
  mv "$out" "$out-$(date -r "$out" +%Y%m%d-%H%M%S)"
fi
mkdir -p "$out"
started=$(date +%s)

section() { printf '\n== %s  [%ds]\n' "$*" $(($(date +%s) - started)); }

section "1. check $spec"
"$bin/circc" check "$spec"

section "2. the model as circ IR (batch 1, with its next-token loss)"
"$bin/circc" compile --emit=mlir --batch=1 --with-loss "$spec" -o "$out/model.mlir"
echo "wrote $out/model.mlir; ops:"
grep -o 'circ\.[a-z_]*' "$out/model.mlir" | sort | uniq -c | sort -rn

section "3. differentiate the loss (circ-differentiate) and lower to CPU loop nests"
"$bin/circ-opt" "$out/model.mlir" --circ-differentiate -o "$out/train_step.mlir"
"$bin/circ-opt" "$out/train_step.mlir" --convert-circ-to-loops --canonicalize \
  --cse -o "$out/kernels.mlir"
echo "wrote $out/train_step.mlir and $out/kernels.mlir"
awk '/func.func @/ { match($0, /@[a-z_0-9]+/); f = substr($0, RSTART, RLENGTH) }
     /scf.parallel/ { par[f]++ } /vector.load|vector.maskedload/ { vec[f]++ }
     END { printf "%-14s %18s %14s\n", "function", "parallel kernels", "vector loads";
           for (f in par) printf "%-14s %18d %14d\n", f, par[f], vec[f] }' "$out/kernels.mlir"

section "4. the task: close a string with the quote it was opened with"
"$bin/circ-tasks" --show single_double_quote -n 2

section "5. train on the Python standard library (generated code)"
"$bin/circc" train "$spec"
"$bin/circc" report "$out" -o "$out/curve.svg"

section "6. prune to the single_double_quote circuit and audit it"
"$bin/circc" prune "$spec"

section "done"
echo "training curves: $here/$out/curve.svg"
echo "circuit report:  $here/$out/circuits/single_double_quote/report.html"
echo "all circuits:    $here/$out/circuits/index.html"
