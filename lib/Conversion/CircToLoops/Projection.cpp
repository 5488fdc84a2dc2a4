//===- Projection.cpp - proj on dense, CSR and ELL weights ------*- C++ -*-===//
//
// y = x · Wᵀ + b, parallel over tiles of T tokens. Each tile is transposed
// into a feature-major scratch Xt [K, T] (16×16 register transposes), so
// that every weight nonzero w = W[n, k] becomes one vector FMA over T tokens:
// Yt[n, :] += w · Xt[k, :]. The layouts differ only in how the nonzeros of
// an output row are enumerated:
//
//   dense     every k of row n
//   csr       row_ptr[n] .. row_ptr[n+1] of col_idx / values
//   ell rows  the r slots of row n (padding has value 0)
//   ell cols  scatter: for input k, its r slots add w · Xt[k, :] to
//             Yt[row, :], which is as cheap as the gather in this layout
//
// Yt [N, T] is then transposed back into the token-major result rows. The
// scratch of one tile, (K + N) · T floats, lives on the thread's stack.
//
//===----------------------------------------------------------------------===//

#include "ProjectionKernels.h"

using namespace mlir;
using namespace mlir::circ;

int64_t mlir::circ::chooseTileTokens(const CircToLoopsOptions &options,
                                     int64_t inWidth, int64_t outWidth) {
  int64_t lanes = options.vectorWidth;
  if (options.tileTokens > 0)
    return llvm::alignTo(options.tileTokens, lanes);
  // (K + N) · T · 4 bytes of scratch within 256 KiB (half of L2), T in
  // [lanes, 4·lanes].
  int64_t budget = (256 * 1024) / (4 * std::max<int64_t>(inWidth + outWidth, 1));
  int64_t tile = lanes;
  while (tile * 2 <= budget && tile * 2 <= 4 * lanes)
    tile *= 2;
  return tile;
}

static int64_t roundUp(int64_t v, int64_t multiple) {
  return (v + multiple - 1) / multiple * multiple;
}

Value mlir::circ::allocTileScratch(KernelBuilder &b, int64_t features,
                                   int64_t tile) {
  return b.stackAlloc(MemRefType::get(
      {roundUp(features, b.vectorWidth), tile}, b.getF32Type()));
}

/// Transposes a lanes × lanes block held as `lanes` row vectors with
/// log2(lanes) stages of two-input shuffles; stage b swaps bit b of the row
/// index with bit b of the column index (one vpermt2ps-class instruction per
/// row and stage on AVX-512, instead of lanes² element moves).
static SmallVector<Value> transposeBlock(KernelBuilder &b,
                                         ArrayRef<Value> rows) {
  int64_t lanes = b.vectorWidth;
  SmallVector<Value> r(rows.begin(), rows.end());
  for (int64_t bit = 1; bit < lanes; bit <<= 1) {
    SmallVector<Value> next(r.size());
    for (int64_t i = 0; i < lanes; ++i) {
      if (i & bit)
        continue;
      int64_t j = i | bit;
      // Shuffle indices: [0, lanes) pick from r[i], [lanes, 2·lanes) from r[j].
      SmallVector<int64_t> low, high;
      for (int64_t c = 0; c < lanes; ++c) {
        low.push_back((c & bit) ? lanes + (c ^ bit) : c);
        high.push_back((c & bit) ? lanes + c : (c ^ bit));
      }
      next[i] = vector::ShuffleOp::create(b, r[i], r[j], low);
      next[j] = vector::ShuffleOp::create(b, r[i], r[j], high);
    }
    r = std::move(next);
  }
  return r;
}

void mlir::circ::emitTransposeIn(KernelBuilder &b, Value rows, Value first,
                                 Value count, Value scratch) {
  int64_t lanes = b.vectorWidth;
  auto scratchType = cast<MemRefType>(scratch.getType());
  int64_t tile = scratchType.getDimSize(1);
  Value width = b.dim(rows, 1);
  b.forLoop(b.index(0), b.index(scratchType.getDimSize(0)), b.index(lanes),
            [&](KernelBuilder &b, Value k) {
              Value kCount = b.min(b.sub(width, k), b.index(lanes));
              b.forLoop(b.index(0), b.index(tile), b.index(lanes),
                        [&](KernelBuilder &b, Value j) {
                          SmallVector<Value> block;
                          for (int64_t l = 0; l < lanes; ++l) {
                            Value token = b.add(j, b.index(l));
                            Value valid = b.cmp(Cmp::lt, token, count);
                            Value n = b.select(valid, kCount, b.index(0));
                            // Invalid rows read nothing, at a safe address.
                            Value row = b.select(valid, b.add(first, token),
                                                 first);
                            block.push_back(b.vload(lanes, rows, {row, k},
                                                    b.laneMask(n, lanes)));
                          }
                          SmallVector<Value> cols = transposeBlock(b, block);
                          for (int64_t l = 0; l < lanes; ++l)
                            b.vstore(cols[l], scratch,
                                     {b.add(k, b.index(l)), j});
                        });
            });
}

void mlir::circ::emitTransposeOut(KernelBuilder &b, Value scratch, Value rows,
                                  Value first, Value count) {
  int64_t lanes = b.vectorWidth;
  auto scratchType = cast<MemRefType>(scratch.getType());
  int64_t tile = scratchType.getDimSize(1);
  Value width = b.dim(rows, 1);
  b.forLoop(b.index(0), b.index(scratchType.getDimSize(0)), b.index(lanes),
            [&](KernelBuilder &b, Value n) {
              Value nCount = b.min(b.sub(width, n), b.index(lanes));
              b.forLoop(
                  b.index(0), b.index(tile), b.index(lanes),
                  [&](KernelBuilder &b, Value j) {
                    SmallVector<Value> block;
                    for (int64_t l = 0; l < lanes; ++l)
                      block.push_back(b.vload(lanes, scratch,
                                              {b.add(n, b.index(l)), j}));
                    SmallVector<Value> tokens = transposeBlock(b, block);
                    for (int64_t l = 0; l < lanes; ++l) {
                      Value token = b.add(j, b.index(l));
                      Value valid = b.cmp(Cmp::lt, token, count);
                      Value m = b.select(valid, nCount, b.index(0));
                      Value row = b.select(valid, b.add(first, token), first);
                      b.vstore(tokens[l], rows, {row, n},
                               b.laneMask(m, lanes));
                    }
                  });
            });
}

void mlir::circ::emitTileProduct(KernelBuilder &b, const WeightBuffers &w,
                                 Value bias, Value xt, Value yt) {
  int64_t lanes = b.vectorWidth;
  int64_t tile = cast<MemRefType>(xt.getType()).getDimSize(1);
  int64_t vectors = tile / lanes;
  Value outDim = b.dim(w.dense, 0), inDim = b.dim(w.dense, 1);
  auto initial = [&](KernelBuilder &b, Value n) {
    Value v = bias ? b.splat(b.load(bias, {n}), lanes) : b.splat(0.0, lanes);
    return SmallVector<Value>(vectors, v);
  };
  // acc[v] += weight · Xt[k, v·lanes : (v+1)·lanes].
  auto accumulate = [&](KernelBuilder &b, ValueRange acc, Value k,
                        Value weight) {
    Value wv = b.splat(weight, lanes);
    SmallVector<Value> next;
    for (int64_t v = 0; v < vectors; ++v)
      next.push_back(
          b.fma(wv, b.vload(lanes, xt, {k, b.index(v * lanes)}), acc[v]));
    return next;
  };
  auto storeRow = [&](KernelBuilder &b, Value n, ValueRange acc) {
    for (int64_t v = 0; v < vectors; ++v)
      b.vstore(acc[v], yt, {n, b.index(v * lanes)});
  };
  // Output row by output row: dense, CSR and ELL-by-rows gather.
  auto gatherRows = [&](function_ref<SmallVector<Value>(
                            KernelBuilder &, Value, SmallVector<Value>)>
                            row) {
    b.forLoop(b.index(0), outDim, b.index(1), [&](KernelBuilder &b, Value n) {
      storeRow(b, n, row(b, n, initial(b, n)));
    });
  };

  if (w.layout == SparseLayout::csr) {
    gatherRows([&](KernelBuilder &b, Value n, SmallVector<Value> acc) {
      Value begin = b.toIndex(b.load(w.rowPtr, {n}));
      Value end = b.toIndex(b.load(w.rowPtr, {b.add(n, b.index(1))}));
      return b.forLoop(begin, end, b.index(1), acc,
                       [&](KernelBuilder &b, Value p, ValueRange acc) {
                         Value k = b.toIndex(b.load(w.colIdx, {p}));
                         return accumulate(b, acc, k,
                                           b.load(w.values, {p}));
                       });
    });
    return;
  }
  if (w.layout == SparseLayout::ell && w.axis == UnitAxis::rows) {
    Value slots = b.dim(w.ellIdx, 1);
    gatherRows([&](KernelBuilder &b, Value n, SmallVector<Value> acc) {
      return b.forLoop(b.index(0), slots, b.index(1), acc,
                       [&](KernelBuilder &b, Value s, ValueRange acc) {
                         Value k = b.toIndex(b.load(w.ellIdx, {n, s}));
                         return accumulate(b, acc, k,
                                           b.load(w.ellValues, {n, s}));
                       });
    });
    return;
  }
  if (w.layout == SparseLayout::ell) {
    // Columns are the units: scatter each input row into the output rows.
    b.forLoop(b.index(0), outDim, b.index(1), [&](KernelBuilder &b, Value n) {
      storeRow(b, n, initial(b, n));
    });
    Value slots = b.dim(w.ellIdx, 1);
    b.forLoop(b.index(0), inDim, b.index(1), [&](KernelBuilder &b, Value k) {
      SmallVector<Value> x;
      for (int64_t v = 0; v < vectors; ++v)
        x.push_back(b.vload(lanes, xt, {k, b.index(v * lanes)}));
      b.forLoop(b.index(0), slots, b.index(1), [&](KernelBuilder &b, Value s) {
        Value n = b.toIndex(b.load(w.ellIdx, {k, s}));
        Value wv = b.splat(b.load(w.ellValues, {k, s}), lanes);
        for (int64_t v = 0; v < vectors; ++v) {
          Value col = b.index(v * lanes);
          b.vstore(b.fma(wv, x[v], b.vload(lanes, yt, {n, col})), yt,
                   {n, col});
        }
      });
    });
    return;
  }
  gatherRows([&](KernelBuilder &b, Value n, SmallVector<Value> acc) {
    return b.forLoop(b.index(0), inDim, b.index(1), acc,
                     [&](KernelBuilder &b, Value k, ValueRange acc) {
                       return accumulate(b, acc, k, b.load(w.dense, {n, k}));
                     });
  });
}

namespace {

struct ProjLowering : CircLoweringPattern<ProjOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(ProjOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value in = single(adaptor.getInput());
    WeightBuffers w =
        WeightBuffers::get(op.getWeight().getType(), adaptor.getWeight());
    Value bias = op.getBias() ? single(adaptor.getBias()) : Value();
    Value out = allocResult(b, op.getType(), in);
    Value x = flattenToRows(b, in), y = flattenToRows(b, out);
    auto weightType = op.getWeight().getType();
    int64_t outDim = weightType.getDimSize(0), inDim = weightType.getDimSize(1);
    int64_t tile = chooseTileTokens(options, inDim, outDim);
    Value tokens = b.dim(x, 0), tileSize = b.index(tile);
    Value tiles = b.div(b.add(tokens, b.index(tile - 1)), tileSize);
    b.parallelFor(b.index(0), tiles, b.index(1),
                  [&](KernelBuilder &b, ValueRange ivs) {
                    Value first = b.mul(ivs[0], tileSize);
                    Value count = b.min(b.sub(tokens, first), tileSize);
                    Value xt = allocTileScratch(b, inDim, tile);
                    Value yt = allocTileScratch(b, outDim, tile);
                    emitTransposeIn(b, x, first, count, xt);
                    emitTileProduct(b, w, bias, xt, yt);
                    emitTransposeOut(b, yt, y, first, count);
                  });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateProjectionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<ProjLowering>(converter, patterns.getContext(), options);
}
