#!/bin/bash
# check-cubins.sh PREFIX STATS CHIP...: PREFIX.<chip>.cubin is an NVIDIA ELF
# object for <chip> whose kernels (global functions) are exactly the <chip>
# rows of the --kernel-stats table STATS.
set -eu
prefix=$1 stats=$2
shift 2
for chip in "$@"; do
  cubin=$prefix.$chip.cubin
  header=$(llvm-readelf -h "$cubin")
  grep -q "Machine: *NVIDIA CUDA architecture" <<<"$header" ||
    { echo "$cubin: not a CUDA object"; exit 1; }
  # EF_CUDA_SM: the SM version in bits 8-15 of e_flags (0x5a00: sm_90).
  flags=$(awk '/Flags:/ {sub(",", "", $2); print $2}' <<<"$header")
  [ "sm_$(((flags >> 8) & 0xff))" = "$chip" ] ||
    { echo "$cubin: built for sm_$(((flags >> 8) & 0xff)), not $chip"; exit 1; }
  kernels=$(llvm-readelf -s "$cubin" |
    awk '$4 == "FUNC" && $5 == "GLOBAL" {print $NF}' | sort)
  rows=$(awk -v chip="$chip" '$2 == chip {print $1}' "$stats" | sort)
  if [ -z "$rows" ] || [ "$kernels" != "$rows" ]; then
    echo "$cubin: kernels differ from the $chip rows of $stats:"
    diff <(echo "$kernels") <(echo "$rows") | head -5
    exit 1
  fi
done
