//===- GradientUtils.h - shared pieces of the gradient kernels --*- C++ -*-===//
//
// Loop shapes the backward kernels (Gradient*.cpp) share on top of
// KernelBuilder: column-chunk parallelism for reductions over rows (bias,
// gain, threshold and table gradients are sums over tokens, and giving each
// parallel iteration its own columns keeps them race-free and
// deterministic), and zero filling of accumulators.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_LIB_CONVERSION_CIRCTOLOOPS_GRADIENTUTILS_H
#define CIRC_LIB_CONVERSION_CIRCTOLOOPS_GRADIENTUTILS_H

#include "LoweringUtils.h"

namespace mlir::circ {

/// Runs `body(b, col, mask)` in parallel for every vector-wide chunk of
/// [0, width): `col` is the chunk's first column, `mask` the lanes inside
/// the width (null when every chunk is full).
void parallelChunks(KernelBuilder &b, Value width,
                    KernelBuilder::VectorBodyFn body);

/// A rank-1 view of all elements of an identity-layout memref (rank 0 to
/// [1], higher ranks collapsed).
Value flattenAll(KernelBuilder &b, Value memref);

/// Sets every element of an identity-layout f32 memref to zero.
void fillZero(KernelBuilder &b, Value memref);

/// allocResult, zero-filled (for kernels that accumulate into it).
Value allocZeroResult(KernelBuilder &b, RankedTensorType type,
                      Value shapeSource);

/// Sums `rows` rows of a [rows, width] view into `out` ([width]) with
/// per-row terms: out[c] = Σ_r term(b, r, c, mask) where `term` returns a
/// vector for columns [c, c + vectorWidth). Parallel over column chunks.
using RowTermFn =
    function_ref<Value(KernelBuilder &, Value row, Value col, Value mask)>;
void columnSums(KernelBuilder &b, Value rows, Value width, Value out,
                RowTermFn term);

// The gradient op families, one file each; populateGradientLoweringPatterns
// (GradientUtils.cpp) registers them all.
void populateGradientActivationLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options);
void populateGradientEmbeddingLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options);
void populateGradientProjectionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options);
void populateGradientAttentionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options);
void populateGradientTensorLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options);
void populateGradientLossLoweringPatterns(const TypeConverter &converter,
                                          RewritePatternSet &patterns,
                                          const CircToLoopsOptions &options);

} // namespace mlir::circ

#endif // CIRC_LIB_CONVERSION_CIRCTOLOOPS_GRADIENTUTILS_H
