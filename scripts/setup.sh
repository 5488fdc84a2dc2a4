#!/usr/bin/env bash
# Installs every Debian package Circ needs (skipping those already present)
# and configures the build directory. Idempotent: safe to run before every
# build. Usage: scripts/setup.sh [build-dir]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"

packages=(
  # compiler toolchain and MLIR
  cmake ninja-build clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev
  mlir-22-tools libzstd-dev
  # OpenMP runtime the generated parallel kernels call (LLVM's libomp)
  libomp-dev
  # the .circ front end (ANTLR tool 4.7.2 and runtime 4.9 share one ATN format)
  antlr4 libantlr4-runtime-dev default-jre-headless
  # fuzzing runtime for clang-22 (-fsanitize=fuzzer,address)
  libclang-rt-22-dev
  # tokenizer regex, JSON, unit tests
  libpcre2-dev nlohmann-json3-dev libgtest-dev
  # the default corpus: the Python standard library's source
  libpython3.11-stdlib python3
  # data-parallel training and pruning across processes (circc train/prune)
  libopenmpi-dev openmpi-bin
  # the report viewer's headless-browser test (test/Viewer)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# playwright-core drives chromium in the viewer test; the viewer itself needs
# no npm package. Skipped when node is absent (the test is then unsupported).
if [ ! -d "$here/tools/viewer/node_modules" ] && command -v npm >/dev/null; then
  (cd "$here/tools/viewer" && npm ci --no-audit --no-fund)
fi

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$here" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld-22 ${CIRC_CMAKE_ARGS:-}
fi
