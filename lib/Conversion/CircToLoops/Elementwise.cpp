//===- Elementwise.cpp - residual_add, gelu, mask_gate, add_positions -----===//
//
// Ops that map each element (or each row with a per-channel operand) on its
// own: one scf.parallel over rows of the flattened [rows, width] view, a
// masked vector loop along the contiguous width.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

/// Computes one output vector from the input vectors at column `col` (lane
/// mask `mask`, null for full vectors) of row `row`.
using RowMapFn = function_ref<Value(KernelBuilder &, ValueRange inputs,
                                    Value row, Value col, Value mask)>;

/// out[r, c] = fn(inputs[r, c]) over the [rows, width] views of same-shaped
/// memrefs, parallel over rows.
void emitRowMap(KernelBuilder &b, ValueRange inputs, Value out, RowMapFn fn) {
  SmallVector<Value> views;
  for (Value in : inputs)
    views.push_back(flattenToRows(b, in));
  Value outView = flattenToRows(b, out);
  Value rows = b.dim(outView, 0), width = b.dim(outView, 1);
  b.parallelFor(b.index(0), rows, b.index(1),
                [&](KernelBuilder &b, ValueRange ivs) {
                  Value row = ivs[0];
                  b.vectorLoop(width, [&](KernelBuilder &b, Value col,
                                          Value mask) {
                    SmallVector<Value> xs;
                    for (Value v : views)
                      xs.push_back(
                          b.vload(b.vectorWidth, v, {row, col}, mask));
                    Value y = fn(b, xs, row, col, mask);
                    b.vstore(y, outView, {row, col}, mask);
                  });
                });
}

struct ResidualAddLowering : CircLoweringPattern<ResidualAddOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(ResidualAddOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value lhs = single(adaptor.getResidual()), rhs = single(adaptor.getDelta());
    Value out = allocResult(b, op.getType(), lhs);
    emitRowMap(b, {lhs, rhs}, out,
               [](KernelBuilder &b, ValueRange xs, Value, Value, Value) {
                 return b.add(xs[0], xs[1]);
               });
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct GeluLowering : CircLoweringPattern<GeluOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(GeluOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value in = single(adaptor.getInput());
    Value out = allocResult(b, op.getType(), in);
    emitRowMap(b, {in}, out,
               [](KernelBuilder &b, ValueRange xs, Value, Value, Value) {
                 return emitGelu(b, xs[0]);
               });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// result[..., i] = tau[i] >= 0 ? input[..., i] : (mean[i] or 0). The
/// surrogate gradient is the backward's business; forward, H(tau) is exact.
struct MaskGateLowering : CircLoweringPattern<MaskGateOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(MaskGateOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value in = single(adaptor.getInput()), tau = single(adaptor.getTau());
    Value mean = op.getMean() ? single(adaptor.getMean()) : Value();
    Value out = allocResult(b, op.getType(), in);
    emitRowMap(b, {in}, out,
               [&](KernelBuilder &b, ValueRange xs, Value, Value col,
                   Value mask) {
                 return emitMaskGate(b, xs[0], tau, mean, col, mask);
               });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// result[b, t, :] = input[b, t, :] + table[t, :].
struct AddPositionsLowering : CircLoweringPattern<AddPositionsOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(AddPositionsOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value in = single(adaptor.getInput()), table = single(adaptor.getTable());
    Value out = allocResult(b, op.getType(), in);
    Value seq = b.dim(in, 1);
    emitRowMap(b, {in}, out,
               [&](KernelBuilder &b, ValueRange xs, Value row, Value col,
                   Value mask) {
                 Value pos = b.rem(row, seq);
                 return b.add(xs[0],
                              b.vload(b.vectorWidth, table, {pos, col}, mask));
               });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateElementwiseLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<ResidualAddLowering, GeluLowering, MaskGateLowering,
               AddPositionsLowering>(converter, patterns.getContext(),
                                     options);
}
