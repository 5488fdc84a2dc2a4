//===- CircOps.cpp - circ operations ----------------------------*- C++ -*-===//
//
// Verifiers, folders and canonicalisation patterns of the circ operations.
// Verifier messages name the offending operand and show the shapes involved,
// so a user reading `file:line:col: error:` knows what to fix.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/IR/CircOps.h"
#include "dialects/Circ/IR/ShapeChecks.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::circ;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

/// Weights and tables are dense or carry a `#circ.sparsity` encoding; any
/// other encoding would be silently ignored by the kernels.
static LogicalResult expectSparsityOrDense(Operation *op, Value v,
                                           StringRef name) {
  Attribute encoding = tensorType(v).getEncoding();
  if (!encoding || llvm::isa<SparsityAttr>(encoding))
    return success();
  return op->emitOpError() << name << " encoding must be #circ.sparsity, got "
                           << encoding;
}

LogicalResult mlir::circ::expectLayer(Operation *op, IntegerAttr layer) {
  if (!layer || layer.getInt() >= 0)
    return success();
  return op->emitOpError() << "layer must be >= 0, got " << layer.getInt();
}

/// Embedding-style lookups: ids [B, T] (any rank r), table [N, D], result
/// ids.shape + [D].
static LogicalResult verifyLookup(Operation *op, Value ids, Value table,
                                  Value result, StringRef tableName) {
  if (failed(expectRank(op, table, 2, tableName)))
    return failure();
  ArrayRef<int64_t> idShape = tensorType(ids).getShape();
  ArrayRef<int64_t> resShape = tensorType(result).getShape();
  if (resShape.size() != idShape.size() + 1)
    return op->emitOpError() << "result must have rank " << idShape.size() + 1
                             << " (ids rank + 1), got shape "
                             << shapeString(resShape);
  for (auto [i, d] : llvm::enumerate(idShape))
    if (!dimsMatch(d, resShape[i]))
      return op->emitOpError()
             << "result shape " << shapeString(resShape)
             << " does not start with the ids shape " << shapeString(idShape);
  int64_t width = tensorType(table).getDimSize(1);
  if (!dimsMatch(width, resShape.back()))
    return op->emitOpError() << "result feature width " << resShape.back()
                             << " does not match the " << tableName
                             << " width " << width;
  return success();
}

//===----------------------------------------------------------------------===//
// EmbedOp, AddPositionsOp, BigramOp
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  if (failed(verifyLookup(*this, getIds(), getTable(), getResult(), "table")))
    return failure();
  return expectSparsityOrDense(*this, getTable(), "table");
}

LogicalResult AddPositionsOp::verify() {
  if (failed(expectRank(*this, getInput(), 3, "input")) ||
      failed(expectRank(*this, getTable(), 2, "table")))
    return failure();
  RankedTensorType in = tensorType(getInput()), table = tensorType(getTable());
  if (!dimsMatch(in.getDimSize(2), table.getDimSize(1)))
    return emitOpError() << "table width " << table.getDimSize(1)
                         << " does not match the input width "
                         << in.getDimSize(2);
  int64_t seq = in.getDimSize(1), ctx = table.getDimSize(0);
  if (!ShapedType::isDynamic(seq) && !ShapedType::isDynamic(ctx) && seq > ctx)
    return emitOpError() << "input has " << seq
                         << " positions but the table covers only " << ctx;
  return expectSparsityOrDense(*this, getTable(), "table");
}

LogicalResult BigramOp::verify() {
  if (failed(verifyLookup(*this, getIds(), getTable(), getResult(), "table")))
    return failure();
  RankedTensorType table = tensorType(getTable());
  if (!dimsMatch(table.getDimSize(0), table.getDimSize(1)))
    return emitOpError() << "bigram table must be square (vocab x vocab), got "
                         << shapeString(table.getShape());
  if (table.getEncoding())
    return emitOpError() << "bigram table is dense; it cannot carry a "
                            "sparsity encoding";
  return success();
}

//===----------------------------------------------------------------------===//
// ProjOp
//===----------------------------------------------------------------------===//

SparsityAttr ProjOp::getSparsity() {
  return llvm::dyn_cast_or_null<SparsityAttr>(
      tensorType(getWeight()).getEncoding());
}

LogicalResult mlir::circ::verifyProjectionShapes(Operation *op, Value input,
                                                 Value weight, Value bias,
                                                 Value result) {
  if (failed(expectRank(op, weight, 2, "weight")))
    return failure();
  RankedTensorType in = tensorType(input), w = tensorType(weight),
                   res = tensorType(result);
  if (in.getRank() < 1)
    return op->emitOpError() << "input must have at least one dimension";
  if (res.getRank() != in.getRank())
    return op->emitOpError() << "result rank " << res.getRank()
                             << " differs from the input rank "
                             << in.getRank();
  int64_t outDim = w.getDimSize(0), inDim = w.getDimSize(1);
  if (!dimsMatch(in.getShape().back(), inDim))
    return op->emitOpError()
           << "weight expects " << inDim << " input features ([out, in] = "
           << shapeString(w.getShape()) << ") but the input has "
           << in.getShape().back();
  if (!dimsMatch(res.getShape().back(), outDim))
    return op->emitOpError() << "result has " << res.getShape().back()
                             << " features but the weight produces "
                             << outDim;
  for (int64_t i = 0, e = in.getRank() - 1; i < e; ++i)
    if (!dimsMatch(in.getDimSize(i), res.getDimSize(i)))
      return op->emitOpError()
             << "result shape " << shapeString(res.getShape())
             << " does not keep the input's leading dimensions "
             << shapeString(in.getShape());
  if (bias && failed(expectVector(op, bias, outDim, "bias",
                                  "weight's output width")))
    return failure();
  return expectSparsityOrDense(op, weight, "weight");
}

LogicalResult ProjOp::verify() {
  return verifyProjectionShapes(*this, getInput(), getWeight(), getBias(),
                                getResult());
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  RankedTensorType in = tensorType(getInput());
  if (in.getRank() < 1)
    return emitOpError() << "input must have at least one dimension";
  if (!(getEpsilon().convertToDouble() >= 0.0))
    return emitOpError() << "epsilon must be >= 0, got "
                         << getEpsilon().convertToDouble();
  return expectVector(*this, getGain(), in.getShape().back(), "gain",
                      "input's feature width");
}

//===----------------------------------------------------------------------===//
// AbsTopKOp
//===----------------------------------------------------------------------===//

int64_t AbsTopKOp::getWidth() { return tensorType(getInput()).getShape().back(); }

int64_t AbsTopKOp::getEffectiveK() {
  if (std::optional<uint64_t> k = getK())
    return static_cast<int64_t>(*k);
  int64_t width = getWidth();
  if (ShapedType::isDynamic(width))
    return ShapedType::kDynamic;
  auto k = static_cast<int64_t>(std::floor(getFraction()->convertToDouble() *
                                           static_cast<double>(width)));
  return std::max<int64_t>(k, 1);
}

LogicalResult AbsTopKOp::verify() {
  if (tensorType(getInput()).getRank() < 1)
    return emitOpError() << "input must have at least one dimension";
  if (getK().has_value() == getFraction().has_value())
    return emitOpError() << "needs exactly one of 'k' and 'fraction'";
  int64_t width = getWidth();
  if (getKAttr()) {
    int64_t k = getKAttr().getInt();
    if (k < 1)
      return emitOpError() << "k must be at least 1, got " << k;
    if (!ShapedType::isDynamic(width) && k > width)
      return emitOpError() << "k = " << k << " exceeds the input width "
                           << width;
  } else {
    double f = getFraction()->convertToDouble();
    if (!(f > 0.0 && f <= 1.0))
      return emitOpError() << "fraction must be in (0, 1], got " << f;
  }
  return expectLayer(*this, getLayerAttr());
}

OpFoldResult AbsTopKOp::fold(FoldAdaptor) {
  // Keeping every entry is the identity. A named site is kept as an op so
  // pruning can still find the node location.
  if (getSiteAttr())
    return {};
  int64_t width = getWidth();
  if (!ShapedType::isDynamic(width) && getEffectiveK() == width)
    return getInput();
  return {};
}

namespace {
/// abs_topk {fraction = f} on a static width → abs_topk {k = floor(f·W)}:
/// one spelling of the same operation, so later passes read only `k`.
struct FractionToK : OpRewritePattern<AbsTopKOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AbsTopKOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getFractionAttr() || ShapedType::isDynamic(op.getWidth()))
      return failure();
    int64_t k = op.getEffectiveK();
    rewriter.modifyOpInPlace(op, [&] {
      op.removeFractionAttr();
      op.setKAttr(rewriter.getI64IntegerAttr(k));
    });
    return success();
  }
};
} // namespace

void AbsTopKOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<FractionToK>(context);
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

int64_t AttentionOp::getHeadDim() {
  return tensorType(getQuery()).getShape().back() / getNumHeads();
}

LogicalResult AttentionOp::verify() {
  if (failed(expectRank(*this, getQuery(), 3, "query")))
    return failure();
  int64_t heads = getNumHeads();
  if (heads < 1)
    return emitOpError() << "num_heads must be at least 1, got " << heads;
  int64_t width = tensorType(getQuery()).getDimSize(2);
  if (!ShapedType::isDynamic(width) && width % heads != 0)
    return emitOpError() << "num_heads = " << heads
                         << " does not divide the query width " << width;
  if (getSink() &&
      failed(expectVector(*this, getSink(), heads, "sink", "number of heads")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// MaskGateOp
//===----------------------------------------------------------------------===//

LogicalResult MaskGateOp::verify() {
  RankedTensorType in = tensorType(getInput());
  if (in.getRank() < 1)
    return emitOpError() << "input must have at least one dimension";
  int64_t width = in.getShape().back();
  if (failed(expectVector(*this, getTau(), width, "tau",
                          "input's channel count")))
    return failure();
  bool meanAblation = getAblation() == Ablation::mean;
  if (meanAblation && !getMean())
    return emitOpError() << "mean ablation needs a 'mean' operand";
  if (!meanAblation && getMean())
    return emitOpError() << "zero ablation takes no 'mean' operand";
  if (getMean() && failed(expectVector(*this, getMean(), width, "mean",
                                       "input's channel count")))
    return failure();
  if (!(getTemperature().convertToDouble() > 0.0))
    return emitOpError() << "temperature must be > 0, got "
                         << getTemperature().convertToDouble();
  return expectLayer(*this, getLayerAttr());
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult NextTokenLossOp::verify() {
  if (failed(expectRank(*this, getLogits(), 3, "logits")))
    return failure();
  RankedTensorType logits = tensorType(getLogits()),
                   targets = tensorType(getTargets());
  if (failed(expectRank(*this, getTargets(), 2, "targets")))
    return failure();
  if (!dimsMatch(logits.getDimSize(0), targets.getDimSize(0)) ||
      !dimsMatch(logits.getDimSize(1), targets.getDimSize(1)))
    return emitOpError() << "targets shape " << shapeString(targets.getShape())
                         << " does not match the logits' [batch, seq] "
                         << shapeString(logits.getShape().take_front(2));
  return success();
}

LogicalResult ContrastLossOp::verify() {
  if (failed(expectRank(*this, getLogits(), 3, "logits")) ||
      failed(expectRank(*this, getPositions(), 1, "positions")))
    return failure();
  int64_t batch = tensorType(getLogits()).getDimSize(0);
  int64_t n = tensorType(getPositions()).getDimSize(0);
  if (!dimsMatch(batch, n))
    return emitOpError() << "positions has " << n
                         << " entries but the logits hold " << batch
                         << " prompts";
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Circ/IR/CircOps.cpp.inc"
