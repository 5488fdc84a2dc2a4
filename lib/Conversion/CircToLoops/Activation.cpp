//===- Activation.cpp - abs_topk --------------------------------*- C++ -*-===//
//
// AbsTopK, one row (token) per parallel iteration. The bits of |x| as int32
// order like the magnitudes, so the row's k-th largest magnitude T is found
// by a 31-step binary search over the bit patterns, each step one vector
// count of keys ≥ mid: O(31·W/lanes) instead of a sort. Entries with key > T
// are kept by a vector pass; the k − #(key > T) entries equal to T are taken
// in index order by a scalar scan, which gives the lower index the tie.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::circ;

/// Bit pattern just above +inf: no key (NaN aside) reaches it.
constexpr int64_t kAboveInfBits = 0x7F800001;

void mlir::circ::emitAbsTopKRow(KernelBuilder &b, Value src, Value srcRow,
                                Value dst, Value dstRow, int64_t k,
                                RowFinishFn finish) {
  Value width = b.dim(src, 1);
  int64_t lanes = b.vectorWidth;
  Value kI32 = b.i32(k);
  Value zeros = b.splat(0.0, lanes);
  auto done = [&](KernelBuilder &b, Value v, Value col, Value mask) {
    return finish ? finish(b, v, col, mask) : v;
  };
  auto keys = [&](KernelBuilder &b, Value col, Value mask) {
    return b.bitsOf(b.abs(b.vload(lanes, src, {srcRow, col}, mask)));
  };
  // #(key pred t) over the row, masked-off lanes excluded.
  auto count = [&](KernelBuilder &b, Cmp pred, Value t) {
    Value one = b.splat(b.i32(1), lanes), none = b.splat(b.i32(0), lanes);
    Value tv = b.splat(t, lanes);
    Value acc = b.vectorLoop(width, {none},
                             [&](KernelBuilder &b, Value col, Value mask,
                                 ValueRange acc) -> SmallVector<Value> {
                               Value hit = b.cmp(pred, keys(b, col, mask), tv);
                               if (mask)
                                 hit = b.andi(hit, mask);
                               return {b.add(acc[0], b.select(hit, one, none))};
                             })[0];
    return b.reduce(Reduce::add, acc);
  };
  // Largest t with #(key ≥ t) ≥ k: invariant count(lo) ≥ k > count(hi);
  // 31 halvings close the initial gap.
  SmallVector<Value> bounds = b.forLoop(
      b.index(0), b.index(31), b.index(1), {b.i32(0), b.i32(kAboveInfBits)},
      [&](KernelBuilder &b, Value, ValueRange lh) -> SmallVector<Value> {
        Value mid = b.div(b.add(lh[0], lh[1]), b.i32(2));
        Value enough = b.cmp(Cmp::ge, count(b, Cmp::ge, mid), kI32);
        return {b.select(enough, mid, lh[0]), b.select(enough, lh[1], mid)};
      });
  Value threshold = b.splat(bounds[0], lanes);
  b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
    Value v = b.vload(lanes, src, {srcRow, col}, mask);
    Value keep = b.cmp(Cmp::gt, b.bitsOf(b.abs(v)), threshold);
    b.vstore(done(b, b.select(keep, v, zeros), col, mask), dst, {dstRow, col},
             mask);
  });
  Value ties = b.sub(kI32, count(b, Cmp::gt, bounds[0]));
  b.forLoop(
      b.index(0), width, b.index(1), {b.i32(0)},
      [&](KernelBuilder &b, Value col, ValueRange taken) -> SmallVector<Value> {
        Value v = b.load(src, {srcRow, col});
        Value tie = b.andi(b.cmp(Cmp::eq, b.bitsOf(b.abs(v)), bounds[0]),
                           b.cmp(Cmp::lt, taken[0], ties));
        b.ifThen(tie, [&](KernelBuilder &b) {
          b.store(done(b, v, col, Value()), dst, {dstRow, col});
        });
        return {b.add(taken[0], b.select(tie, b.i32(1), b.i32(0)))};
      });
}

namespace {

struct AbsTopKLowering : CircLoweringPattern<AbsTopKOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(AbsTopKOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t k = op.getEffectiveK();
    if (ShapedType::isDynamic(k))
      return rewriter.notifyMatchFailure(op, "k needs a static width");
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value in = single(adaptor.getInput());
    Value out = allocResult(b, op.getType(), in);
    Value x = flattenToRows(b, in), y = flattenToRows(b, out);
    b.parallelFor(b.index(0), b.dim(x, 0), b.index(1),
                  [&](KernelBuilder &b, ValueRange ivs) {
                    emitAbsTopKRow(b, x, ivs[0], y, ivs[0], k);
                  });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateActivationLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<AbsTopKLowering>(converter, patterns.getContext(), options);
}
