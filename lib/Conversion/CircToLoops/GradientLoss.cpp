//===- GradientLoss.cpp - next_token_loss_grad, contrast_loss_grad -*- C++ -*-===//
//
// Loss gradients with respect to the logits, the start of every backward
// pass. Both recompute what they need (softmax, two-way softmax) from the
// logits.
//
//===----------------------------------------------------------------------===//

#include "GradientUtils.h"

#include <limits>

using namespace mlir;
using namespace mlir::circ;

namespace {

/// Per row n with a target t in [0, V): grad/count · (softmax − onehot(t));
/// rows with any other target (e.g. -1 for "no next token") are ignored and
/// get 0, and `count` is the number of counted rows, as in the forward mean.
struct NextTokenLossGradLowering : CircLoweringPattern<NextTokenLossGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(NextTokenLossGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value logitsIn = single(adaptor.getLogits());
    Value logits = flattenToRows(b, logitsIn);
    Value targets = flattenAll(b, single(adaptor.getTargets()));
    Value out = allocResult(b, op.getType(), logitsIn);
    Value dl = flattenToRows(b, out);
    int64_t lanes = b.vectorWidth;
    Value rows = b.dim(logits, 0), vocab = b.dim(logits, 1);
    Value vocabI32 = b.toI32(vocab);
    auto counted = [&](KernelBuilder &b, Value t) {
      return b.andi(b.cmp(Cmp::ge, t, b.i32(0)), b.cmp(Cmp::lt, t, vocabI32));
    };
    Value count = b.forLoop(b.index(0), rows, b.index(1), {b.f32(0.0)},
                            [&](KernelBuilder &b, Value n,
                                ValueRange acc) -> SmallVector<Value> {
                              Value one = b.select(
                                  counted(b, b.load(targets, {n})),
                                  b.f32(1.0), b.f32(0.0));
                              return {b.add(acc[0], one)};
                            })[0];
    Value scale = b.div(b.load(single(adaptor.getGrad()), {}),
                        b.max(count, b.f32(1.0)));
    Value negInf = b.splat(-std::numeric_limits<double>::infinity(), lanes);
    b.parallelFor(
        b.index(0), rows, b.index(1), [&](KernelBuilder &b, ValueRange ivs) {
          Value n = ivs[0];
          Value t = b.load(targets, {n});
          Value rowScale = b.select(counted(b, t), scale, b.f32(0.0));
          Value maxV = b.vectorLoop(
              vocab, {negInf},
              [&](KernelBuilder &b, Value col, Value mask,
                  ValueRange acc) -> SmallVector<Value> {
                return {b.max(acc[0],
                              b.vload(lanes, logits, {n, col}, mask, negInf))};
              })[0];
          Value rowMax = b.splat(b.reduce(Reduce::max, maxV), lanes);
          Value sumV = b.vectorLoop(
              vocab, {b.splat(0.0, lanes)},
              [&](KernelBuilder &b, Value col, Value mask,
                  ValueRange acc) -> SmallVector<Value> {
                Value x = b.vload(lanes, logits, {n, col}, mask, negInf);
                return {b.add(acc[0], b.exp(b.sub(x, rowMax)))};
              })[0];
          Value factor =
              b.splat(b.div(rowScale, b.reduce(Reduce::add, sumV)), lanes);
          b.vectorLoop(vocab, [&](KernelBuilder &b, Value col, Value mask) {
            Value x = b.vload(lanes, logits, {n, col}, mask);
            b.vstore(b.mul(b.exp(b.sub(x, rowMax)), factor), dl, {n, col},
                     mask);
          });
          b.ifThen(counted(b, t), [&](KernelBuilder &b) {
            Value col = b.toIndex(t);
            b.store(b.sub(b.load(dl, {n, col}), rowScale), dl, {n, col});
          });
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// Zero except, per prompt b whose position and candidates are in range,
/// ∓ grad · (1 − p_b) / B at its correct / wrong logit, with
/// p_b = σ(l_correct − l_wrong). Prompts are few: one sequential loop.
struct ContrastLossGradLowering : CircLoweringPattern<ContrastLossGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(ContrastLossGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value logits = single(adaptor.getLogits());
    Value pos = single(adaptor.getPositions());
    Value correct = single(adaptor.getCorrect());
    Value wrong = single(adaptor.getWrong());
    Value out = allocZeroResult(b, op.getType(), logits);
    Value prompts = b.dim(logits, 0);
    Value seq = b.toI32(b.dim(logits, 1)), vocab = b.toI32(b.dim(logits, 2));
    Value scale = b.div(b.load(single(adaptor.getGrad()), {}),
                        b.toF32(prompts));
    auto inRange = [&](KernelBuilder &b, Value v, Value bound) {
      return b.andi(b.cmp(Cmp::ge, v, b.i32(0)), b.cmp(Cmp::lt, v, bound));
    };
    b.forLoop(b.index(0), prompts, b.index(1), [&](KernelBuilder &b, Value p) {
      Value t = b.load(pos, {p}), c = b.load(correct, {p}),
            w = b.load(wrong, {p});
      Value ok = b.andi(inRange(b, t, seq),
                        b.andi(inRange(b, c, vocab), inRange(b, w, vocab)));
      b.ifThen(ok, [&](KernelBuilder &b) {
        Value ti = b.toIndex(t), ci = b.toIndex(c), wi = b.toIndex(w);
        Value diff = b.sub(b.load(logits, {p, ti, ci}),
                           b.load(logits, {p, ti, wi}));
        // 1 − σ(d) = 1 / (1 + e^d).
        Value g = b.div(scale, b.add(b.f32(1.0), b.exp(diff)));
        b.store(b.sub(b.load(out, {p, ti, ci}), g), out, {p, ti, ci});
        b.store(b.add(b.load(out, {p, ti, wi}), g), out, {p, ti, wi});
      });
    });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateGradientLossLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<NextTokenLossGradLowering, ContrastLossGradLowering>(
      converter, patterns.getContext(), options);
}
