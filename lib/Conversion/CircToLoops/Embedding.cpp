//===- Embedding.cpp - embed, bigram ----------------------------*- C++ -*-===//
//
// Table lookups: one parallel iteration per token copies the table row of
// its id with full vectors. The table is read from the weight's dense
// values, which every layout keeps.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

/// result[b, t, :] = table[ids[b, t], :] for ids of rank 2.
Value emitGather(KernelBuilder &b, RankedTensorType resultType, Value ids,
                 Value table) {
  Value out = allocResult(b, resultType, ids);
  Value rows = flattenToRows(b, out);
  Value batch = b.dim(ids, 0), seq = b.dim(ids, 1), width = b.dim(table, 1);
  int64_t lanes = b.vectorWidth;
  b.parallelFor({b.index(0), b.index(0)}, {batch, seq},
                {b.index(1), b.index(1)},
                [&](KernelBuilder &b, ValueRange ivs) {
                  Value id = b.toIndex(b.load(ids, {ivs[0], ivs[1]}));
                  Value row = b.add(b.mul(ivs[0], seq), ivs[1]);
                  b.vectorLoop(width, [&](KernelBuilder &b, Value col,
                                          Value mask) {
                    b.vstore(b.vload(lanes, table, {id, col}, mask), rows,
                             {row, col}, mask);
                  });
                });
  return out;
}

template <typename OpTy>
struct LookupLowering : CircLoweringPattern<OpTy> {
  using CircLoweringPattern<OpTy>::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::template GenericAdaptor<
                               ArrayRef<ValueRange>> adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.getIds().getType().getRank() != 2)
      return rewriter.notifyMatchFailure(op, "ids must be [batch, seq]");
    KernelBuilder b = this->kernelBuilder(op, rewriter);
    auto tableType = cast<RankedTensorType>(op.getTable().getType());
    Value table = WeightBuffers::get(tableType, adaptor.getTable()).dense;
    rewriter.replaceOp(op, emitGather(b, op.getType(),
                                      this->single(adaptor.getIds()), table));
    return success();
  }
};

} // namespace

void mlir::circ::populateEmbeddingLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<LookupLowering<EmbedOp>, LookupLowering<BigramOp>>(
      converter, patterns.getContext(), options);
}
