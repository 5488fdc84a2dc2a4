//===- GradientTensorOps.cpp - arith/tensor ops on tensors ------*- C++ -*-===//
//
// The upstream ops on tensors that models and circ-differentiate emit
// besides circ ops: `tensor.extract_slice` (the q|k|v split), `arith.addf`
// (the logits + bigram sum, gradient sums at fan-out), splat
// `arith.constant` (the loss seed 1, the zero gradient of an unused
// parameter, the zero base a q|k|v gradient is assembled in) and
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

/// The placement of a slice: offsets and strides as index values, and
/// whether the last axis is contiguous (vectorisable).
struct SlicePlacement {
  SmallVector<Value> offsets, strides;
  bool unitLastStride = true;

  template <typename SliceOp>
  static SlicePlacement get(KernelBuilder &b, SliceOp op) {
    SlicePlacement p;
    for (OpFoldResult o : op.getMixedOffsets())
      p.offsets.push_back(getValueOrCreateConstantIndexOp(b, b.getLoc(), o));
    for (OpFoldResult s : op.getMixedStrides())
      p.strides.push_back(getValueOrCreateConstantIndexOp(b, b.getLoc(), s));
    std::optional<int64_t> last =
        getConstantIntValue(op.getMixedStrides().back());
    p.unitLastStride = last && *last == 1;
    return p;
  }
};

/// Copies between `slice` (iterated over its whole shape) and `whole` at
/// `placement` (identity when null): whole[offsets + i · strides] = slice[i]
/// when `intoWhole`, the reverse otherwise. Parallel over all but the last
/// axis, vectorised along a contiguous last axis.
void copySlice(KernelBuilder &b, Value slice, Value whole,
               const SlicePlacement *placement, bool intoWhole) {
  auto type = cast<MemRefType>(slice.getType());
  int64_t rank = type.getRank();
  if (rank == 0) {
    if (intoWhole)
      b.store(b.load(slice, {}), whole, {});
    else
      b.store(b.load(whole, {}), slice, {});
    return;
  }
  auto place = [&](KernelBuilder &b, ValueRange index) {
    SmallVector<Value> at(index);
    if (placement)
      for (int64_t d = 0; d < rank; ++d)
        at[d] = b.add(placement->offsets[d],
                      b.mul(index[d], placement->strides[d]));
    return at;
  };
  bool vectorize = !placement || placement->unitLastStride;
  auto row = [&](KernelBuilder &b, ValueRange outer) {
    auto indexAt = [&](Value col) {
      SmallVector<Value> index(outer);
      index.push_back(col);
      return index;
    };
    Value width = b.dim(slice, rank - 1);
    if (vectorize) {
      b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
        SmallVector<Value> at = indexAt(col), there = place(b, at);
        if (intoWhole)
          b.vstore(b.vload(b.vectorWidth, slice, at, mask), whole, there,
                   mask);
        else
          b.vstore(b.vload(b.vectorWidth, whole, there, mask), slice, at,
                   mask);
      });
      return;
    }
    b.forLoop(b.index(0), width, b.index(1), [&](KernelBuilder &b, Value c) {
      SmallVector<Value> at = indexAt(c), there = place(b, at);
      if (intoWhole)
        b.store(b.load(slice, at), whole, there);
      else
        b.store(b.load(whole, there), slice, at);
    });
  };
  if (rank == 1) {
    row(b, {});
    return;
  }
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    lbs.push_back(b.index(0));
    ubs.push_back(b.dim(slice, d));
    steps.push_back(b.index(1));
  }
  b.parallelFor(lbs, ubs, steps, row);
}

template <typename SliceOp>
LogicalResult checkSlice(SliceOp op, RankedTensorType slice,
                         RankedTensorType whole,
                         ConversionPatternRewriter &rewriter) {
  if (slice.getRank() != whole.getRank())
    return op.emitOpError()
           << "rank-reducing slices are not supported by the CPU lowering";
  if (!whole.getElementType().isF32())
    return rewriter.notifyMatchFailure(op, "not an f32 tensor");
  return success();
}

/// result = dest with source written at the slice.
struct InsertSliceLowering : OpConversionPattern<tensor::InsertSliceOp> {
  InsertSliceLowering(const TypeConverter &converter, MLIRContext *context,
                      const CircToLoopsOptions &options)
      : OpConversionPattern(converter, context), options(options) {}

  LogicalResult
  matchAndRewrite(tensor::InsertSliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkSlice(op, op.getSourceType(), op.getDestType(), rewriter)))
      return failure();
    KernelBuilder b(op.getLoc(), rewriter, options.vectorWidth);
    Value dest = adaptor.getDest(), out = dest;
    if (!isOwnedByInsert(op.getDest())) {
      out = allocResult(b, op.getDestType(), dest);
      copySlice(b, dest, out, nullptr, /*intoWhole=*/true);
    }
    SlicePlacement placement = SlicePlacement::get(b, op);
    copySlice(b, adaptor.getSource(), out, &placement, /*intoWhole=*/true);
    rewriter.replaceOp(op, out);
    return success();
  }

  CircToLoopsOptions options;
};

/// The slice, copied into a fresh identity-layout buffer (the kernels read
/// contiguous rows).
struct ExtractSliceLowering : OpConversionPattern<tensor::ExtractSliceOp> {
  ExtractSliceLowering(const TypeConverter &converter, MLIRContext *context,
                       const CircToLoopsOptions &options)
      : OpConversionPattern(converter, context), options(options) {}

  LogicalResult
  matchAndRewrite(tensor::ExtractSliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkSlice(op, op.getType(), op.getSourceType(), rewriter)))
      return failure();
    KernelBuilder b(op.getLoc(), rewriter, options.vectorWidth);
    SmallVector<Value> sizes;
    for (auto [i, size] : llvm::enumerate(op.getMixedSizes()))
      if (op.getType().isDynamicDim(i))
        sizes.push_back(getValueOrCreateConstantIndexOp(b, b.getLoc(), size));
    Value out = b.alloc(
        MemRefType::get(op.getType().getShape(), op.getType().getElementType()),
        sizes);
    SlicePlacement placement = SlicePlacement::get(b, op);
    copySlice(b, out, adaptor.getSource(), &placement, /*intoWhole=*/false);
    rewriter.replaceOp(op, out);
    return success();
  }

  CircToLoopsOptions options;
};

} // namespace

void mlir::circ::populateGradientTensorLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<TensorAddLowering, SplatConstantLowering, InsertSliceLowering,
               ExtractSliceLowering>(
      converter, patterns.getContext(), options);
}
