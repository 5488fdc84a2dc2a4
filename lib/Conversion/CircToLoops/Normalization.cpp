//===- Normalization.cpp - rmsnorm -----------------------------*- C++ -*-===//
//
// RMSNorm, one row (token) per parallel iteration: a vector reduction of the
// squares, then a scaling pass while the row is still in L1.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

struct RMSNormLowering : CircLoweringPattern<RMSNormOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(RMSNormOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value in = single(adaptor.getInput()), gain = single(adaptor.getGain());
    Value out = allocResult(b, op.getType(), in);
    Value x = flattenToRows(b, in), y = flattenToRows(b, out);
    Value width = b.dim(x, 1);
    double epsilon = op.getEpsilon().convertToDouble();
    // A constant unit gain (left by circ-fold-rmsnorm-gain) is not read.
    bool unitGain = matchPattern(op.getGain(), m_OneFloat());
    int64_t lanes = b.vectorWidth;
    b.parallelFor(b.index(0), b.dim(x, 0), b.index(1),
                  [&](KernelBuilder &b, ValueRange ivs) {
                    Value row = ivs[0];
                    Value sumSq = b.vectorLoop(
                        width, b.splat(0.0, lanes),
                        [&](KernelBuilder &b, Value col, Value mask,
                            ValueRange acc) -> SmallVector<Value> {
                          Value v = b.vload(lanes, x, {row, col}, mask);
                          return {b.fma(v, v, acc[0])};
                        })[0];
                    Value meanSq = b.div(b.reduce(Reduce::add, sumSq), b.toF32(width));
                    Value inv = b.div(b.f32(1.0),
                                      b.sqrt(b.add(meanSq, b.f32(epsilon))));
                    Value scale = b.splat(inv, lanes);
                    b.vectorLoop(width, [&](KernelBuilder &b, Value col,
                                            Value mask) {
                      Value v = b.vload(lanes, x, {row, col}, mask);
                      Value g = unitGain
                                    ? Value()
                                    : b.vload(lanes, gain, {col}, mask);
                      v = b.mul(v, scale);
                      if (g)
                        v = b.mul(v, g);
                      b.vstore(v, y, {row, col}, mask);
                    });
                  });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateNormalizationLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<RMSNormLowering>(converter, patterns.getContext(), options);
}
