//===- FusedProjection.cpp - circ.fused_proj --------------------*- C++ -*-===//
//
// The tiled projection of Projection.cpp with its prologue and epilogue in
// the same parallel iteration, so the pre-activation exists only in the
// tile's stack scratch (L1/L2), never as a tensor in memory:
//
//   scale    before the tiles, once per call: the weight's nonzeros times
//            scale[k] (O(nnz)), into fresh value buffers the product reads
//   product  Xt → Yt exactly as circ.proj (bias included), so an unscaled
//            fused projection computes bit-identical pre-activations
//   gelu     in place on the feature-major Yt [N, T]
//   no top-k the gate, one decision per output feature = per row of Yt,
//            then Yt is transposed into the result rows
//   top-k    Yt is transposed into a token-major tile Z [T, N] and every
//            token's row goes through the abs_topk row kernel
//            (emitAbsTopKRow) with the gate as its finishing step, written
//            straight into the result
//
//===----------------------------------------------------------------------===//

#include "ProjectionKernels.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

/// A buffer of the same type and sizes as `like`.
Value allocLike(KernelBuilder &b, Value like) {
  auto type = cast<MemRefType>(like.getType());
  SmallVector<Value> sizes;
  for (int64_t axis = 0; axis < type.getRank(); ++axis)
    if (type.isDynamicDim(axis))
      sizes.push_back(b.dim(like, axis));
  return b.alloc(type, sizes);
}

/// The buffers of W · diag(scale) that emitTileProduct reads: the values of
/// the layout (the dense values for the dense layout) scaled by the scale
/// of their input column, in parallel over units. Index buffers are shared.
/// For csr and ell `dense` stays the unscaled argument: the product reads
/// only its shape.
WeightBuffers scaleInputColumns(KernelBuilder &b, WeightBuffers w,
                                Value scale) {
  int64_t lanes = b.vectorWidth;
  Value one = b.index(1), zero = b.index(0);
  switch (w.layout) {
  case SparseLayout::csr: {
    Value scaled = allocLike(b, w.values);
    b.parallelFor(
        zero, b.dim(w.dense, 0), one, [&](KernelBuilder &b, ValueRange ivs) {
          Value begin = b.toIndex(b.load(w.rowPtr, {ivs[0]}));
          Value end = b.toIndex(b.load(w.rowPtr, {b.add(ivs[0], one)}));
          b.forLoop(begin, end, one, [&](KernelBuilder &b, Value p) {
            Value k = b.toIndex(b.load(w.colIdx, {p}));
            b.store(b.mul(b.load(w.values, {p}), b.load(scale, {k})), scaled,
                    {p});
          });
        });
    w.values = scaled;
    return w;
  }
  case SparseLayout::ell: {
    Value scaled = allocLike(b, w.ellValues);
    bool unitsAreRows = w.axis == UnitAxis::rows;
    b.parallelFor(
        zero, b.dim(w.ellIdx, 0), one, [&](KernelBuilder &b, ValueRange ivs) {
          Value unit = ivs[0];
          // Columns as units: every slot of unit k sits in input column k.
          Value unitScale = unitsAreRows ? Value() : b.load(scale, {unit});
          b.forLoop(zero, b.dim(w.ellIdx, 1), one,
                    [&](KernelBuilder &b, Value s) {
                      Value factor =
                          unitsAreRows
                              ? b.load(scale,
                                       {b.toIndex(b.load(w.ellIdx, {unit, s}))})
                              : unitScale;
                      b.store(b.mul(b.load(w.ellValues, {unit, s}), factor),
                              scaled, {unit, s});
                    });
        });
    w.ellValues = scaled;
    return w;
  }
  default: {
    Value scaled = allocLike(b, w.dense);
    Value width = b.dim(w.dense, 1);
    b.parallelFor(
        zero, b.dim(w.dense, 0), one, [&](KernelBuilder &b, ValueRange ivs) {
          b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
            Value v = b.vload(lanes, w.dense, {ivs[0], col}, mask);
            Value s = b.vload(lanes, scale, {col}, mask);
            b.vstore(b.mul(v, s), scaled, {ivs[0], col}, mask);
          });
        });
    w.dense = scaled;
    return w;
  }
  }
}

struct FusedProjLowering : CircLoweringPattern<FusedProjOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(FusedProjOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    auto optional = [&](Value original, ValueRange converted) {
      return original ? single(converted) : Value();
    };
    Value in = single(adaptor.getInput());
    Value bias = optional(op.getBias(), adaptor.getBias());
    Value scale = optional(op.getScale(), adaptor.getScale());
    Value tau = optional(op.getTau(), adaptor.getTau());
    Value mean = optional(op.getMean(), adaptor.getMean());
    std::optional<uint64_t> k = op.getK();
    bool gelu = op.getGelu();

    WeightBuffers w =
        WeightBuffers::get(op.getWeight().getType(), adaptor.getWeight());
    if (scale)
      w = scaleInputColumns(b, w, scale);
    Value out = allocResult(b, op.getType(), in);
    Value x = flattenToRows(b, in), y = flattenToRows(b, out);
    auto weightType = op.getWeight().getType();
    int64_t outDim = weightType.getDimSize(0), inDim = weightType.getDimSize(1);
    // The top-k tile Z takes as much scratch as Yt.
    int64_t tile = chooseTileTokens(options, inDim, k ? 2 * outDim : outDim);
    int64_t lanes = b.vectorWidth, vectors = tile / lanes;
    Value tokens = b.dim(x, 0), tileSize = b.index(tile);
    Value tiles = b.div(b.add(tokens, b.index(tile - 1)), tileSize);

    // Per output feature n on Yt[n, :]: GELU, and the gate when no top-k
    // follows (then it is one decision per feature).
    auto featureEpilogue = [&](KernelBuilder &b, Value yt) {
      Value gateHere = k ? Value() : tau;
      if (!gelu && !gateHere)
        return;
      b.forLoop(b.index(0), b.index(outDim), b.index(1),
                [&](KernelBuilder &b, Value n) {
                  Value keep, ablated;
                  if (gateHere) {
                    keep = b.cmp(Cmp::ge, b.load(tau, {n}), b.f32(0.0));
                    ablated =
                        b.splat(mean ? b.load(mean, {n}) : b.f32(0.0), lanes);
                  }
                  for (int64_t v = 0; v < vectors; ++v) {
                    Value col = b.index(v * lanes);
                    Value z = b.vload(lanes, yt, {n, col});
                    if (gelu)
                      z = emitGelu(b, z);
                    if (gateHere)
                      z = b.select(keep, z, ablated);
                    b.vstore(z, yt, {n, col});
                  }
                });
    };
    auto gate = [&](KernelBuilder &b, Value v, Value col, Value mask) {
      return emitMaskGate(b, v, tau, mean, col, mask);
    };

    b.parallelFor(
        b.index(0), tiles, b.index(1), [&](KernelBuilder &b, ValueRange ivs) {
          Value first = b.mul(ivs[0], tileSize);
          Value count = b.min(b.sub(tokens, first), tileSize);
          Value xt = allocTileScratch(b, inDim, tile);
          Value yt = allocTileScratch(b, outDim, tile);
          emitTransposeIn(b, x, first, count, xt);
          emitTileProduct(b, w, bias, xt, yt);
          featureEpilogue(b, yt);
          if (!k) {
            emitTransposeOut(b, yt, y, first, count);
            return;
          }
          Value z =
              b.stackAlloc(MemRefType::get({tile, outDim}, b.getF32Type()));
          emitTransposeOut(b, yt, z, b.index(0), count);
          b.forLoop(b.index(0), count, b.index(1),
                    [&](KernelBuilder &b, Value j) {
                      emitAbsTopKRow(b, z, j, y, b.add(first, j),
                                     static_cast<int64_t>(*k),
                                     tau ? RowFinishFn(gate) : nullptr);
                    });
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateFusedProjectionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<FusedProjLowering>(converter, patterns.getContext(), options);
}
