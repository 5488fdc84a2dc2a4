//===- GradientTensorOps.cpp - arith/tensor ops on tensors ------*- C++ -*-===//
//
// The upstream ops on tensors that models and circ-differentiate emit
// besides circ ops: `arith.addf` (the logits + bigram sum, gradient sums at
// fan-out), splat `arith.constant` (the loss seed 1, the zero gradient of an
// unused parameter, the zero base a q|k|v gradient is assembled in) and
// `tensor.insert_slice` (each part's gradient into its slot). Constants and
// insertions produce fresh buffers, so an insert_slice whose destination is
// one of them and has no other use writes into it in place: the q|k|v chain
// fills one buffer.
//
//===----------------------------------------------------------------------===//

#include "GradientUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

/// Elementwise sum of two f32 tensors of one shape.
struct TensorAddLowering : OpConversionPattern<arith::AddFOp> {
  TensorAddLowering(const TypeConverter &converter, MLIRContext *context,
                    const CircToLoopsOptions &options)
      : OpConversionPattern(converter, context), options(options) {}

  LogicalResult
  matchAndRewrite(arith::AddFOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!type || !type.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not an f32 tensor");
    KernelBuilder b(op.getLoc(), rewriter, options.vectorWidth);
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    Value out = allocResult(b, type, lhs);
    Value x = flattenToRows(b, lhs), y = flattenToRows(b, rhs),
          z = flattenToRows(b, out);
    int64_t lanes = b.vectorWidth;
    Value width = b.dim(z, 1);
    b.parallelFor(b.index(0), b.dim(z, 0), b.index(1),
                  [&](KernelBuilder &b, ValueRange ivs) {
                    Value row = ivs[0];
                    b.vectorLoop(width, [&](KernelBuilder &b, Value col,
                                            Value mask) {
                      b.vstore(b.add(b.vload(lanes, x, {row, col}, mask),
                                     b.vload(lanes, y, {row, col}, mask)),
                               z, {row, col}, mask);
                    });
                  });
    rewriter.replaceOp(op, out);
    return success();
  }

  CircToLoopsOptions options;
};

/// A splat float tensor: allocate and fill.
struct SplatConstantLowering : OpConversionPattern<arith::ConstantOp> {
  SplatConstantLowering(const TypeConverter &converter, MLIRContext *context,
                        const CircToLoopsOptions &options)
      : OpConversionPattern(converter, context), options(options) {}

  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    auto splat = dyn_cast<SplatElementsAttr>(op.getValue());
    if (!type || !splat || !type.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not a splat f32 tensor");
    if (!type.hasStaticShape())
      return op.emitOpError() << "needs a static shape to be lowered";
    KernelBuilder b(op.getLoc(), rewriter, options.vectorWidth);
    Value out = allocResult(b, type, Value());
    Value view = flattenAll(b, out);
    Value value = b.splat(splat.getSplatValue<APFloat>().convertToDouble(),
                          b.vectorWidth);
    b.vectorLoop(b.dim(view, 0), [&](KernelBuilder &b, Value i, Value mask) {
      b.vstore(value, view, {i}, mask);
    });
    rewriter.replaceOp(op, out);
    return success();
  }

  CircToLoopsOptions options;
};

/// Whether the buffer of `dest` may be overwritten: a fresh buffer of one of
/// the patterns here that nothing else reads.
bool isOwnedByInsert(Value dest) {
  Operation *def = dest.getDefiningOp();
  return dest.hasOneUse() && def &&
         isa<arith::ConstantOp, tensor::InsertSliceOp>(def);
}

/// result = dest with source written at the slice; the source is copied
/// row by row, vectorised along a unit-stride last axis.
struct InsertSliceLowering : OpConversionPattern<tensor::InsertSliceOp> {
  InsertSliceLowering(const TypeConverter &converter, MLIRContext *context,
                      const CircToLoopsOptions &options)
      : OpConversionPattern(converter, context), options(options) {}

  LogicalResult
  matchAndRewrite(tensor::InsertSliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType destType = op.getDestType();
    if (op.getSourceType().getRank() != destType.getRank())
      return op.emitOpError()
             << "rank-reducing slices are not supported by the CPU lowering";
    if (!destType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not an f32 tensor");
    KernelBuilder b(op.getLoc(), rewriter, options.vectorWidth);
    Value src = adaptor.getSource(), dest = adaptor.getDest();
    Value out = dest;
    if (!isOwnedByInsert(op.getDest())) {
      out = allocResult(b, destType, dest);
      copyInto(b, dest, out, {}, {});
    }
    SmallVector<Value> offsets, strides;
    for (OpFoldResult o : op.getMixedOffsets())
      offsets.push_back(getValueOrCreateConstantIndexOp(b, b.getLoc(), o));
    for (OpFoldResult s : op.getMixedStrides())
      strides.push_back(getValueOrCreateConstantIndexOp(b, b.getLoc(), s));
    std::optional<int64_t> lastStride =
        getConstantIntValue(op.getMixedStrides().back());
    copyInto(b, src, out, offsets, strides,
             /*vectorize=*/lastStride && *lastStride == 1);
    rewriter.replaceOp(op, out);
    return success();
  }

  /// out[offsets + i · strides] = src[i] over the whole of `src` (identity
  /// placement when `offsets` is empty), parallel over all but the last
  /// axis.
  void copyInto(KernelBuilder &b, Value src, Value out, ValueRange offsets,
                ValueRange strides, bool vectorize = true) const {
    auto type = cast<MemRefType>(src.getType());
    int64_t rank = type.getRank();
    auto place = [&](KernelBuilder &b, ValueRange index) {
      SmallVector<Value> at(index);
      if (!offsets.empty())
        for (int64_t d = 0; d < rank; ++d)
          at[d] = b.add(offsets[d], b.mul(index[d], strides[d]));
      return at;
    };
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t d = 0; d + 1 < rank; ++d) {
      lbs.push_back(b.index(0));
      ubs.push_back(b.dim(src, d));
      steps.push_back(b.index(1));
    }
    auto row = [&](KernelBuilder &b, ValueRange outer) {
      Value width = b.dim(src, rank - 1);
      auto indexAt = [&](Value col) {
        SmallVector<Value> index(outer);
        index.push_back(col);
        return index;
      };
      if (vectorize) {
        b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
          Value v = b.vload(b.vectorWidth, src, indexAt(col), mask);
          b.vstore(v, out, place(b, indexAt(col)), mask);
        });
        return;
      }
      b.forLoop(b.index(0), width, b.index(1), [&](KernelBuilder &b, Value c) {
        b.store(b.load(src, indexAt(c)), out, place(b, indexAt(c)));
      });
    };
    if (rank == 0) {
      b.store(b.load(src, {}), out, {});
      return;
    }
    if (lbs.empty()) {
      row(b, {});
      return;
    }
    b.parallelFor(lbs, ubs, steps, row);
  }

  CircToLoopsOptions options;
};

} // namespace

void mlir::circ::populateGradientTensorLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<TensorAddLowering, SplatConstantLowering, InsertSliceLowering>(
      converter, patterns.getContext(), options);
}
