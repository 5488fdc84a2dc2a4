//===- Loss.cpp - next_token_loss, contrast_loss ----------------*- C++ -*-===//
//
// Losses reduce to one scalar. A next-token target outside [0, V) (e.g. -1
// after the end of a document) is not counted, as the gradient kernel does. Per-row terms are computed in parallel into a
// buffer and then summed by one thread in row order, so the loss has the
// same bits for any thread count.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

/// Σ terms[i] / Σ weights[i] over [0, n), summed in order into a fresh
/// rank-0 buffer (the denominator at least 1). `weights` null: all ones.
Value emitOrderedMean(KernelBuilder &b, Value terms, Value weights, Value n) {
  SmallVector<Value> sums = b.forLoop(
      b.index(0), n, b.index(1), {b.f32(0.0), b.f32(0.0)},
      [&](KernelBuilder &b, Value i, ValueRange acc) -> SmallVector<Value> {
        Value w = weights ? b.load(weights, {i}) : b.f32(1.0);
        return {b.add(acc[0], b.load(terms, {i})), b.add(acc[1], w)};
      });
  Value out = b.alloc(MemRefType::get({}, b.getF32Type()));
  b.store(b.div(sums[0], b.max(sums[1], b.f32(1.0))), out, {});
  return out;
}

MemRefType rowBufferType(KernelBuilder &b) {
  return MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
}

struct NextTokenLossLowering : CircLoweringPattern<NextTokenLossOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(NextTokenLossOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value logits = flattenToRows(b, single(adaptor.getLogits()));
    Value targets = single(adaptor.getTargets());
    Value seq = b.dim(targets, 1);
    Value rows = b.dim(logits, 0);
    Value vocab = b.toI32(b.dim(logits, 1));
    Value terms = b.alloc(rowBufferType(b), {rows});
    Value counted = b.alloc(rowBufferType(b), {rows});
    b.parallelFor(
        b.index(0), rows, b.index(1), [&](KernelBuilder &b, ValueRange ivs) {
          Value row = ivs[0];
          Value t = b.load(targets, {b.div(row, seq), b.rem(row, seq)});
          Value valid = b.andi(b.cmp(Cmp::ge, t, b.i32(0)),
                               b.cmp(Cmp::lt, t, vocab));
          b.store(b.select(valid, b.f32(1.0), b.f32(0.0)), counted, {row});
          b.store(b.f32(0.0), terms, {row});
          b.ifThen(valid, [&](KernelBuilder &b) {
            Value lse = emitRowLogSumExp(b, logits, row);
            b.store(b.sub(lse, b.load(logits, {row, b.toIndex(t)})), terms,
                    {row});
          });
        });
    rewriter.replaceOp(op, emitOrderedMean(b, terms, counted, rows));
    return success();
  }
};

/// Per prompt: d = l_wrong − l_correct at its last position; the binary
/// cross-entropy −log σ(−d) = softplus(d) = max(d, 0) + log(1 + exp(−|d|)).
struct ContrastLossLowering : CircLoweringPattern<ContrastLossOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(ContrastLossOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value logits = single(adaptor.getLogits());
    Value positions = single(adaptor.getPositions());
    Value correct = single(adaptor.getCorrect());
    Value wrong = single(adaptor.getWrong());
    Value prompts = b.dim(positions, 0);
    Value terms = b.alloc(rowBufferType(b), {prompts});
    b.forLoop(b.index(0), prompts, b.index(1), [&](KernelBuilder &b, Value i) {
      Value pos = b.toIndex(b.load(positions, {i}));
      Value yes = b.load(logits, {i, pos, b.toIndex(b.load(correct, {i}))});
      Value no = b.load(logits, {i, pos, b.toIndex(b.load(wrong, {i}))});
      Value d = b.sub(no, yes);
      Value softplus =
          b.add(b.max(d, b.f32(0.0)),
                b.log(b.add(b.f32(1.0), b.exp(b.neg(b.abs(d))))));
      b.store(softplus, terms, {i});
    });
    rewriter.replaceOp(op, emitOrderedMean(b, terms, {}, prompts));
    return success();
  }
};

} // namespace

void mlir::circ::populateLossLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<NextTokenLossLowering, ContrastLossLowering>(
      converter, patterns.getContext(), options);
}
