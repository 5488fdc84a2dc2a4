//===- GradientEmbedding.cpp - embed_grad, add_positions_grad ---*- C++ -*-===//
//
// Table gradients: scatter-adds of gradient rows into table rows. Each
// parallel iteration owns a chunk of columns and visits the tokens in order,
// so repeated ids accumulate without races and in a fixed order (same
// inputs, same bits).
//
//===----------------------------------------------------------------------===//

#include "GradientUtils.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

/// result[v, :] = Σ_{n : ids[n] = v} grad[n, :]; ids outside [0, V) add
/// nothing. Serves circ.embed and circ.bigram.
struct EmbedGradLowering : CircLoweringPattern<EmbedGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(EmbedGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op.getType().hasStaticShape())
      return op.emitOpError() << "needs a static table shape to be lowered";
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dy = flattenToRows(b, single(adaptor.getGrad()));
    Value ids = flattenAll(b, single(adaptor.getIds()));
    Value out = allocZeroResult(b, op.getType(), Value());
    int64_t lanes = b.vectorWidth;
    Value vocab = b.dim(out, 0), tokens = b.dim(dy, 0);
    parallelChunks(b, b.dim(out, 1), [&](KernelBuilder &b, Value col,
                                         Value mask) {
      b.forLoop(b.index(0), tokens, b.index(1),
                [&](KernelBuilder &b, Value n) {
                  Value id = b.load(ids, {n});
                  Value inRange =
                      b.andi(b.cmp(Cmp::ge, id, b.i32(0)),
                             b.cmp(Cmp::lt, id, b.toI32(vocab)));
                  b.ifThen(inRange, [&](KernelBuilder &b) {
                    Value row = b.toIndex(id);
                    Value sum =
                        b.add(b.vload(lanes, out, {row, col}, mask),
                              b.vload(lanes, dy, {n, col}, mask));
                    b.vstore(sum, out, {row, col}, mask);
                  });
                });
    });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// result[t, :] = Σ_b grad[b, t, :] for t < T; rows T ≤ t < C stay zero.
struct AddPositionsGradLowering : CircLoweringPattern<AddPositionsGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(AddPositionsGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op.getType().hasStaticShape())
      return op.emitOpError() << "needs a static table shape to be lowered";
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dy = single(adaptor.getGrad());
    Value out = allocZeroResult(b, op.getType(), Value());
    int64_t lanes = b.vectorWidth;
    Value batch = b.dim(dy, 0), width = b.dim(dy, 2);
    b.parallelFor(
        b.index(0), b.dim(dy, 1), b.index(1),
        [&](KernelBuilder &b, ValueRange ivs) {
          Value t = ivs[0];
          b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
            Value sum = b.forLoop(b.index(0), batch, b.index(1),
                                  {b.splat(0.0, lanes)},
                                  [&](KernelBuilder &b, Value s,
                                      ValueRange acc) -> SmallVector<Value> {
                                    return {b.add(
                                        acc[0],
                                        b.vload(lanes, dy, {s, t, col}, mask))};
                                  })[0];
            b.vstore(sum, out, {t, col}, mask);
          });
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::circ::populateGradientEmbeddingLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<EmbedGradLowering, AddPositionsGradLowering>(
      converter, patterns.getContext(), options);
}
