//===- GradientUtils.cpp - shared pieces of the gradient kernels -*- C++ -*-===//
#include "GradientUtils.h"

using namespace mlir;
using namespace mlir::circ;

void mlir::circ::parallelChunks(KernelBuilder &b, Value width,
                                KernelBuilder::VectorBodyFn body) {
  int64_t lanes = b.vectorWidth;
  std::optional<int64_t> staticWidth = getConstantIntValue(width);
  bool full = staticWidth && *staticWidth % lanes == 0;
  b.parallelFor(b.index(0), width, b.index(lanes),
                [&](KernelBuilder &b, ValueRange ivs) {
                  Value col = ivs[0];
                  Value mask;
                  if (!full)
                    mask = b.laneMask(
                        b.min(b.sub(width, col), b.index(lanes)), lanes);
                  body(b, col, mask);
                });
}

Value mlir::circ::flattenAll(KernelBuilder &b, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.getRank() == 1)
    return memref;
  if (type.getRank() == 0)
    return memref::ExpandShapeOp::create(
        b, MemRefType::get({1}, type.getElementType()), memref,
        ArrayRef<ReassociationIndices>{}, ArrayRef<OpFoldResult>{
                                              b.getIndexAttr(1)});
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return memref::CollapseShapeOp::create(
      b, memref, ArrayRef<ReassociationIndices>{all});
}

void mlir::circ::fillZero(KernelBuilder &b, Value memref) {
  Value view = flattenToRows(b, memref);
  Value width = b.dim(view, 1);
  Value zero = b.splat(0.0, b.vectorWidth);
  b.parallelFor(b.index(0), b.dim(view, 0), b.index(1),
                [&](KernelBuilder &b, ValueRange ivs) {
                  b.vectorLoop(width, [&](KernelBuilder &b, Value col,
                                          Value mask) {
                    b.vstore(zero, view, {ivs[0], col}, mask);
                  });
                });
}

Value mlir::circ::allocZeroResult(KernelBuilder &b, RankedTensorType type,
                                  Value shapeSource) {
  Value out = allocResult(b, type, shapeSource);
  fillZero(b, out);
  return out;
}

void mlir::circ::columnSums(KernelBuilder &b, Value rows, Value width,
                            Value out, RowTermFn term) {
  int64_t lanes = b.vectorWidth;
  parallelChunks(b, width, [&](KernelBuilder &b, Value col, Value mask) {
    Value sum = b.forLoop(b.index(0), rows, b.index(1),
                          {b.splat(0.0, lanes)},
                          [&](KernelBuilder &b, Value row, ValueRange acc)
                              -> SmallVector<Value> {
                            return {b.add(acc[0], term(b, row, col, mask))};
                          })[0];
    b.vstore(sum, out, {col}, mask);
  });
}

void mlir::circ::populateGradientLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  populateGradientActivationLoweringPatterns(converter, patterns, options);
  populateGradientEmbeddingLoweringPatterns(converter, patterns, options);
  populateGradientProjectionLoweringPatterns(converter, patterns, options);
  populateGradientAttentionLoweringPatterns(converter, patterns, options);
  populateGradientLossLoweringPatterns(converter, patterns, options);
  populateGradientTensorLoweringPatterns(converter, patterns, options);
}
