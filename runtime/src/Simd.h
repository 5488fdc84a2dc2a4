//===- Simd.h - portable vector types for the runtime kernels ---*- C++ -*-===//
//
// 16-lane vectors (one 64-byte cache line of fp32) through the GCC/Clang
// vector extension, and CIRC_KERNEL, which compiles a function for AVX-512,
// AVX2 and the x86-64 baseline and picks one at load time. A file using them
// must turn off FP contraction: a fused multiply-add in one version only
// would make results depend on the machine.
//
// Multi-versioned functions must not instantiate templates of their own:
// clang emits template instances used only inside target_clones functions
// for no version, so call out-of-line helpers instead.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_SRC_SIMD_H
#define CIRC_RUNTIME_SRC_SIMD_H

#include <cstdint>

#if defined(__x86_64__) && defined(__ELF__) && defined(__clang__)
#define CIRC_KERNEL                                                            \
  __attribute__((target_clones("avx512bw", "avx2", "default")))
#else
#define CIRC_KERNEL
#endif

namespace circ::rt {

typedef int32_t I32x16 __attribute__((vector_size(64)));
typedef float F32x16 __attribute__((vector_size(64)));

} // namespace circ::rt

#endif // CIRC_RUNTIME_SRC_SIMD_H
