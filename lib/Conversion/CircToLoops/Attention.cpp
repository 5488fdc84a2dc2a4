//===- Attention.cpp - causal attention with an optional sink ---*- C++ -*-===//
//
// One kernel, no T × T score matrix: each parallel iteration (batch, head,
// query row i) streams the keys j ≤ i with an online softmax, keeping the
// running maximum m and normaliser l as loop values and the weighted sum of
// values in the output row itself:
//   s = q_i · k_j / sqrt(d_head); m' = max(m, s); c = exp(m − m');
//   p = exp(s − m'); l = c·l + p; o_i = c·o_i + p·v_j; finally o_i /= l.
// A sink is a key with logit sink[h] and value 0: it starts m and l
// (m = sink, l = 1) and adds nothing to o_i.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::circ;

namespace {

struct AttentionLowering : CircLoweringPattern<AttentionOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t headDim = op.getHeadDim();
    if (ShapedType::isDynamic(op.getType().getShape().back()))
      return rewriter.notifyMatchFailure(op, "the width must be static");
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value q = single(adaptor.getQuery()), k = single(adaptor.getKey()),
          v = single(adaptor.getValue());
    Value sink = op.getSink() ? single(adaptor.getSink()) : Value();
    Value out = allocResult(b, op.getType(), q);
    int64_t lanes = b.vectorWidth;
    Value dh = b.index(headDim);
    Value scale = b.f32(1.0 / std::sqrt(static_cast<double>(headDim)));
    Value heads = b.index(static_cast<int64_t>(op.getNumHeads()));

    b.parallelFor(
        {b.index(0), b.index(0), b.index(0)}, {b.dim(q, 0), heads, b.dim(q, 1)},
        {b.index(1), b.index(1), b.index(1)},
        [&](KernelBuilder &b, ValueRange ivs) {
          Value batch = ivs[0], head = ivs[1], i = ivs[2];
          Value base = b.mul(head, dh);
          // Runs `body(at, mask)` over the channels of this head.
          auto overHead = [&](KernelBuilder &b,
                              function_ref<void(KernelBuilder &, Value, Value)>
                                  body) {
            b.vectorLoop(dh, [&](KernelBuilder &b, Value col, Value mask) {
              body(b, b.add(base, col), mask);
            });
          };
          overHead(b, [&](KernelBuilder &b, Value at, Value mask) {
            b.vstore(b.splat(0.0, lanes), out, {batch, i, at}, mask);
          });
          Value m0 = sink ? b.load(sink, {head})
                          : b.f32(-std::numeric_limits<double>::infinity());
          Value l0 = b.f32(sink ? 1.0 : 0.0);
          SmallVector<Value> ml = b.forLoop(
              b.index(0), b.add(i, b.index(1)), b.index(1), {m0, l0},
              [&](KernelBuilder &b, Value j,
                  ValueRange ml) -> SmallVector<Value> {
                Value dot = b.vectorLoop(
                    dh, {b.splat(0.0, lanes)},
                    [&](KernelBuilder &b, Value col, Value mask,
                        ValueRange acc) -> SmallVector<Value> {
                      Value at = b.add(base, col);
                      return {b.fma(b.vload(lanes, q, {batch, i, at}, mask),
                                    b.vload(lanes, k, {batch, j, at}, mask),
                                    acc[0])};
                    })[0];
                Value s = b.mul(b.reduce(Reduce::add, dot), scale);
                Value m = b.max(ml[0], s);
                Value c = b.exp(b.sub(ml[0], m));
                Value p = b.exp(b.sub(s, m));
                Value cv = b.splat(c, lanes), pv = b.splat(p, lanes);
                overHead(b, [&](KernelBuilder &b, Value at, Value mask) {
                  Value o = b.vload(lanes, out, {batch, i, at}, mask);
                  Value vj = b.vload(lanes, v, {batch, j, at}, mask);
                  b.vstore(b.fma(pv, vj, b.mul(cv, o)), out, {batch, i, at},
                           mask);
                });
                return {m, b.fma(c, ml[1], p)};
              });
          Value inv = b.splat(b.div(b.f32(1.0), ml[1]), lanes);
          overHead(b, [&](KernelBuilder &b, Value at, Value mask) {
            Value o = b.vload(lanes, out, {batch, i, at}, mask);
            b.vstore(b.mul(o, inv), out, {batch, i, at}, mask);
          });
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateAttentionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<AttentionLowering>(converter, patterns.getContext(), options);
}
