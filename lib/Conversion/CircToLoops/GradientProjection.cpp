//===- GradientProjection.cpp - proj_grad_input/weight/bias -----*- C++ -*-===//
//
// The projection gradients. Activation sparsity is what they exploit: a
// gradient row behind an AbsTopK site is 3/4 zeros, so every kernel tests a
// gradient entry before using it; an input row after an AbsTopK site is 3/4
// zeros too, so the weight gradient of a `sparse_input` projection first
// compacts each input row to its nonzeros.
//
//  * proj_grad_input: dX[r, :] = Σ_n dY[r, n] · W[n, :], parallel over rows,
//    on the weight's sparse index (CSR rows, ELL units) or dense rows.
//  * proj_grad_weight: dW = dYᵀ · X, dense, parallel over output tiles of
//    kTileRows × kTileCols; each tile streams all tokens, so X is read
//    N / kTileRows times and dY K / kTileCols times.
//  * proj_grad_bias: column sums of dY.
//
//===----------------------------------------------------------------------===//

#include "GradientUtils.h"

#include <tuple>

using namespace mlir;
using namespace mlir::circ;

/// Output tile of the weight gradient: 256 × 128 f32 = 128 KiB, resident in
/// L2 while all tokens stream through it.
static constexpr int64_t kTileRows = 256;
static constexpr int64_t kTileCols = 128;

namespace {

struct ProjGradInputLowering : CircLoweringPattern<ProjGradInputOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(ProjGradInputOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dyIn = single(adaptor.getGrad());
    Value dy = flattenToRows(b, dyIn);
    WeightBuffers w =
        WeightBuffers::get(op.getWeight().getType(), adaptor.getWeight());
    Value out = allocResult(b, op.getType(), dyIn);
    Value dx = flattenToRows(b, out);
    int64_t lanes = b.vectorWidth;
    Value outDim = b.dim(w.dense, 0), inDim = b.dim(w.dense, 1);
    Value zero = b.splat(0.0, lanes);
    b.parallelFor(
        b.index(0), b.dim(dy, 0), b.index(1),
        [&](KernelBuilder &b, ValueRange ivs) {
          Value row = ivs[0];
          b.vectorLoop(inDim, [&](KernelBuilder &b, Value col, Value mask) {
            b.vstore(zero, dx, {row, col}, mask);
          });
          // Adds g · W[n, :] into the row for every n with g = dY[row, n] ≠ 0.
          auto scatterRows = [&](function_ref<void(KernelBuilder &, Value n,
                                                   Value g)>
                                     addRow) {
            b.forLoop(b.index(0), outDim, b.index(1),
                      [&](KernelBuilder &b, Value n) {
                        Value g = b.load(dy, {row, n});
                        b.ifThen(b.cmp(Cmp::ne, g, b.f32(0.0)),
                                 [&](KernelBuilder &b) { addRow(b, n, g); });
                      });
          };
          auto addEntry = [&](KernelBuilder &b, Value col, Value value) {
            b.store(b.add(b.load(dx, {row, col}), value), dx, {row, col});
          };
          if (w.layout == SparseLayout::csr) {
            scatterRows([&](KernelBuilder &b, Value n, Value g) {
              Value lo = b.toIndex(b.load(w.rowPtr, {n}));
              Value hi = b.toIndex(b.load(w.rowPtr, {b.add(n, b.index(1))}));
              b.forLoop(lo, hi, b.index(1), [&](KernelBuilder &b, Value j) {
                addEntry(b, b.toIndex(b.load(w.colIdx, {j})),
                         b.mul(g, b.load(w.values, {j})));
              });
            });
          } else if (w.layout == SparseLayout::ell &&
                     w.axis == UnitAxis::rows) {
            Value perUnit = b.dim(w.ellIdx, 1);
            scatterRows([&](KernelBuilder &b, Value n, Value g) {
              b.forLoop(b.index(0), perUnit, b.index(1),
                        [&](KernelBuilder &b, Value j) {
                          addEntry(b, b.toIndex(b.load(w.ellIdx, {n, j})),
                                   b.mul(g, b.load(w.ellValues, {n, j})));
                        });
            });
          } else if (w.layout == SparseLayout::ell) {
            // Units are columns of W: gather dY at each column's rows.
            Value perUnit = b.dim(w.ellIdx, 1);
            b.forLoop(b.index(0), inDim, b.index(1),
                      [&](KernelBuilder &b, Value k) {
                        Value sum = b.forLoop(
                            b.index(0), perUnit, b.index(1), {b.f32(0.0)},
                            [&](KernelBuilder &b, Value j,
                                ValueRange acc) -> SmallVector<Value> {
                              Value n = b.toIndex(b.load(w.ellIdx, {k, j}));
                              return {b.fma(b.load(dy, {row, n}),
                                            b.load(w.ellValues, {k, j}),
                                            acc[0])};
                            })[0];
                        b.store(sum, dx, {row, k});
                      });
          } else {
            scatterRows([&](KernelBuilder &b, Value n, Value g) {
              Value gv = b.splat(g, lanes);
              b.vectorLoop(inDim, [&](KernelBuilder &b, Value col,
                                      Value mask) {
                Value acc = b.vload(lanes, dx, {row, col}, mask);
                Value wv = b.vload(lanes, w.dense, {n, col}, mask);
                b.vstore(b.fma(gv, wv, acc), dx, {row, col}, mask);
              });
            });
          }
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct ProjGradWeightLowering : CircLoweringPattern<ProjGradWeightOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(ProjGradWeightOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op.getType().hasStaticShape())
      return op.emitOpError() << "needs a static weight shape to be lowered";
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dy = flattenToRows(b, single(adaptor.getGrad()));
    Value x = flattenToRows(b, single(adaptor.getInput()));
    Value dw = allocResult(b, op.getType(), Value());
    int64_t lanes = b.vectorWidth;
    int64_t outDim = op.getType().getDimSize(0);
    int64_t inDim = op.getType().getDimSize(1);
    int64_t tileRows = std::min(outDim, kTileRows);
    int64_t tileCols = std::min(inDim, kTileCols);
    int64_t colTiles = (inDim + tileCols - 1) / tileCols;
    Value tokens = b.dim(x, 0);

    // Sparse input: per row, the nonzeros of x in column order (index and
    // value) and where each column tile's run starts.
    Value nzIdx, nzVal, tileStart;
    if (op.getSparseInput()) {
      Type i32 = b.getI32Type(), f32 = b.getF32Type();
      int64_t dyn = ShapedType::kDynamic;
      nzIdx = b.alloc(MemRefType::get({dyn, inDim}, i32), {tokens});
      nzVal = b.alloc(MemRefType::get({dyn, inDim}, f32), {tokens});
      tileStart = b.alloc(MemRefType::get({dyn, colTiles + 1}, i32), {tokens});
      b.parallelFor(
          b.index(0), tokens, b.index(1),
          [&](KernelBuilder &b, ValueRange ivs) {
            Value r = ivs[0];
            Value end = b.forLoop(
                b.index(0), b.index(colTiles), b.index(1), {b.index(0)},
                [&](KernelBuilder &b, Value t,
                    ValueRange pos) -> SmallVector<Value> {
                  b.store(b.toI32(pos[0]), tileStart, {r, t});
                  Value lo = b.mul(t, b.index(tileCols));
                  Value hi = b.min(b.add(lo, b.index(tileCols)),
                                   b.index(inDim));
                  return b.forLoop(
                      lo, hi, b.index(1), {pos[0]},
                      [&](KernelBuilder &b, Value k,
                          ValueRange at) -> SmallVector<Value> {
                        Value v = b.load(x, {r, k});
                        Value nz = b.cmp(Cmp::ne, v, b.f32(0.0));
                        // Written unconditionally, kept only if nonzero.
                        b.store(b.toI32(k), nzIdx, {r, at[0]});
                        b.store(v, nzVal, {r, at[0]});
                        return {b.select(nz, b.add(at[0], b.index(1)),
                                         at[0])};
                      });
                })[0];
            b.store(b.toI32(end), tileStart, {r, b.index(colTiles)});
          });
    }

    // One output tile [n0, n0 + tileRows) × [k0, k0 + kCount); kCount is
    // static (full tiles, then the remainder) so vector loops need no
    // runtime tail test.
    auto tileBody = [&](KernelBuilder &b, Value n0, Value k0, int64_t kCount) {
      Value n1 = b.min(b.add(n0, b.index(tileRows)), b.index(outDim));
      Value cols = b.index(kCount);
      Value zero = b.splat(0.0, lanes);
      b.forLoop(n0, n1, b.index(1), [&](KernelBuilder &b, Value n) {
        b.vectorLoop(cols, [&](KernelBuilder &b, Value c, Value mask) {
          b.vstore(zero, dw, {n, b.add(k0, c)}, mask);
        });
      });
      Value tile = b.div(k0, b.index(tileCols));
      b.forLoop(b.index(0), tokens, b.index(1), [&](KernelBuilder &b,
                                                    Value r) {
        // The tile's part of row r: a run of compacted nonzeros, or the
        // dense columns [k0, k0 + kCount).
        Value lo, hi;
        if (nzIdx) {
          lo = b.toIndex(b.load(tileStart, {r, tile}));
          hi = b.toIndex(b.load(tileStart, {r, b.add(tile, b.index(1))}));
        }
        auto body = [&](KernelBuilder &b) {
          b.forLoop(n0, n1, b.index(1), [&](KernelBuilder &b, Value n) {
            Value g = b.load(dy, {r, n});
            b.ifThen(b.cmp(Cmp::ne, g, b.f32(0.0)), [&](KernelBuilder &b) {
              if (nzIdx) {
                b.forLoop(lo, hi, b.index(1), [&](KernelBuilder &b, Value j) {
                  Value k = b.toIndex(b.load(nzIdx, {r, j}));
                  Value acc = b.load(dw, {n, k});
                  b.store(b.fma(g, b.load(nzVal, {r, j}), acc), dw, {n, k});
                });
                return;
              }
              Value gv = b.splat(g, lanes);
              b.vectorLoop(cols, [&](KernelBuilder &b, Value c, Value mask) {
                Value k = b.add(k0, c);
                Value acc = b.vload(lanes, dw, {n, k}, mask);
                Value xv = b.vload(lanes, x, {r, k}, mask);
                b.vstore(b.fma(gv, xv, acc), dw, {n, k}, mask);
              });
            });
          });
        };
        if (nzIdx)
          b.ifThen(b.cmp(Cmp::lt, lo, hi), body);
        else
          body(b);
      });
    };
    int64_t fullCols = inDim / tileCols * tileCols;
    for (auto [begin, end, count] :
         {std::tuple<int64_t, int64_t, int64_t>{0, fullCols, tileCols},
          {fullCols, inDim, inDim - fullCols}}) {
      if (begin == end)
        continue;
      b.parallelFor({b.index(0), b.index(begin)},
                    {b.index(outDim), b.index(end)},
                    {b.index(tileRows), b.index(tileCols)},
                    [&, count = count](KernelBuilder &b, ValueRange ivs) {
                      tileBody(b, ivs[0], ivs[1], count);
                    });
    }
    rewriter.replaceOp(op, dw);
    return success();
  }
};

struct ProjGradBiasLowering : CircLoweringPattern<ProjGradBiasOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(ProjGradBiasOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op.getType().hasStaticShape())
      return op.emitOpError() << "needs a static bias shape to be lowered";
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dy = flattenToRows(b, single(adaptor.getGrad()));
    Value db = allocResult(b, op.getType(), Value());
    int64_t lanes = b.vectorWidth;
    columnSums(b, b.dim(dy, 0), b.dim(dy, 1), db,
               [&](KernelBuilder &b, Value row, Value col, Value mask) {
                 return b.vload(lanes, dy, {row, col}, mask);
               });
    rewriter.replaceOp(op, db);
    return success();
  }
};

} // namespace

void mlir::circ::populateGradientProjectionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<ProjGradInputLowering, ProjGradWeightLowering,
               ProjGradBiasLowering>(converter, patterns.getContext(),
                                     options);
}
