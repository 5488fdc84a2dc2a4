//===- ProjectionKernels.h - tiles of the projection kernels ----*- C++ -*-===//
//
// The pieces of a projection over one tile of tokens, shared by `circ.proj`
// and the fused projection: feature-major scratch, the transposes in and out
// of it, and the sparse (or dense) product on it.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_LIB_CONVERSION_CIRCTOLOOPS_PROJECTIONKERNELS_H
#define CIRC_LIB_CONVERSION_CIRCTOLOOPS_PROJECTIONKERNELS_H

#include "LoweringUtils.h"

namespace mlir::circ {

/// Tokens per tile for a projection [outWidth, inWidth]: the option if set
/// (rounded up to the vector width), otherwise the largest of 1–4 vectors
/// whose scratch (inWidth + outWidth) · T floats fits in 256 KiB.
int64_t chooseTileTokens(const CircToLoopsOptions &options, int64_t inWidth,
                         int64_t outWidth);

/// Stack scratch [features rounded up to the vector width, tile] f32.
Value allocTileScratch(KernelBuilder &b, int64_t features, int64_t tile);

/// scratch[k, j] = rows[first + j, k] for j < count (0 for j ≥ count and
/// for the padding features).
void emitTransposeIn(KernelBuilder &b, Value rows, Value first, Value count,
                     Value scratch);

/// rows[first + j, n] = scratch[n, j] for j < count and n < width(rows).
void emitTransposeOut(KernelBuilder &b, Value scratch, Value rows, Value first,
                      Value count);

/// yt[n, :] = bias[n] + Σ_k W[n, k] · xt[k, :] over the weight's layout
/// (`bias` may be null).
void emitTileProduct(KernelBuilder &b, const WeightBuffers &w, Value bias,
                     Value xt, Value yt);

} // namespace mlir::circ

#endif // CIRC_LIB_CONVERSION_CIRCTOLOOPS_PROJECTIONKERNELS_H
