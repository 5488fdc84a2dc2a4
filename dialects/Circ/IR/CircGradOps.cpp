//===- CircGradOps.cpp - circ gradient operations ---------------*- C++ -*-===//
//
// Verifiers and result-type inference of the backward ops (CircGradOps.td).
// The messages follow the forward ops': name the operand, show the shapes.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/IR/CircOps.h"
#include "dialects/Circ/IR/ShapeChecks.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::circ;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

namespace {
/// Shape checks of one op, reporting through its `emitOpError`. Dynamic
/// dimensions match anything.
class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op) : op(op) {}

  static RankedTensorType type(Value v) { return tensorType(v); }
  static ArrayRef<int64_t> shape(Value v) { return type(v).getShape(); }
  static bool same(int64_t a, int64_t b) { return dimsMatch(a, b); }

  LogicalResult rank(Value v, int64_t rank, StringRef name) {
    return expectRank(op, v, rank, name);
  }

  LogicalResult atLeastRank1(Value v, StringRef name) {
    if (type(v).getRank() >= 1)
      return success();
    return op->emitOpError() << name << " must have at least one dimension";
  }

  /// `v` is a vector of `width` entries.
  LogicalResult vector(Value v, int64_t width, StringRef name,
                       StringRef widthName) {
    return expectVector(op, v, width, name, widthName);
  }

  /// Dimension `dim` of `a` equals dimension `dimB` of `b`.
  LogicalResult dimsEqual(Value a, int64_t dim, StringRef nameA, Value b,
                          int64_t dimB, StringRef nameB, StringRef what) {
    int64_t x = shape(a)[dim], y = shape(b)[dimB];
    if (same(x, y))
      return success();
    return op->emitOpError()
           << what << ": " << nameA << " " << str(shape(a)) << " and " << nameB
           << " " << str(shape(b)) << " disagree (" << x << " vs " << y << ")";
  }

  /// `a` and `b` share their first `count` dimensions.
  LogicalResult leadingEqual(Value a, StringRef nameA, Value b, StringRef nameB,
                             int64_t count) {
    for (int64_t i = 0; i < count; ++i)
      if (failed(dimsEqual(a, i, nameA, b, i, nameB, "leading dimensions")))
        return failure();
    return success();
  }

  /// Gradients are dense: a sparsity encoding on one is a mistake.
  LogicalResult dense(Value v, StringRef name) {
    if (!type(v).getEncoding())
      return success();
    return op->emitOpError() << name << " is a dense gradient; it cannot carry "
                             << "the encoding " << type(v).getEncoding();
  }

  static std::string str(ArrayRef<int64_t> dims) { return shapeString(dims); }

private:
  Operation *op;
};
} // namespace

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

LogicalResult EmbedGradOp::verify() {
  ShapeChecker c(*this);
  int64_t idRank = c.type(getIds()).getRank();
  if (failed(c.rank(getGrad(), idRank + 1, "grad (ids rank + 1)")) ||
      failed(c.leadingEqual(getGrad(), "grad", getIds(), "ids", idRank)) ||
      failed(c.rank(getResult(), 2, "result")) ||
      failed(c.dimsEqual(getGrad(), idRank, "grad", getResult(), 1, "result",
                         "feature width")))
    return failure();
  return c.dense(getResult(), "result");
}

LogicalResult AddPositionsGradOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.rank(getGrad(), 3, "grad")) ||
      failed(c.rank(getResult(), 2, "result")) ||
      failed(c.dimsEqual(getGrad(), 2, "grad", getResult(), 1, "result",
                         "feature width")))
    return failure();
  int64_t seq = c.shape(getGrad())[1], ctx = c.shape(getResult())[0];
  if (!ShapedType::isDynamic(seq) && !ShapedType::isDynamic(ctx) && seq > ctx)
    return emitOpError() << "grad has " << seq
                         << " positions but the table covers only " << ctx;
  return c.dense(getResult(), "result");
}

//===----------------------------------------------------------------------===//
// Projections and normalisation
//===----------------------------------------------------------------------===//

LogicalResult ProjGradInputOp::verify() {
  ShapeChecker c(*this);
  int64_t rank = c.type(getGrad()).getRank();
  if (failed(c.rank(getWeight(), 2, "weight")) ||
      failed(c.atLeastRank1(getGrad(), "grad")) ||
      failed(c.rank(getResult(), rank, "result (the grad's rank)")) ||
      failed(
          c.leadingEqual(getGrad(), "grad", getResult(), "result", rank - 1)) ||
      failed(c.dimsEqual(getGrad(), rank - 1, "grad", getWeight(), 0,
                         "weight [out, in]", "output features")) ||
      failed(c.dimsEqual(getResult(), rank - 1, "result", getWeight(), 1,
                         "weight [out, in]", "input features")))
    return failure();
  Attribute encoding = c.type(getWeight()).getEncoding();
  if (encoding && !isa<SparsityAttr>(encoding))
    return emitOpError() << "weight encoding must be #circ.sparsity, got "
                         << encoding;
  return success();
}

LogicalResult ProjGradWeightOp::verify() {
  ShapeChecker c(*this);
  int64_t rank = c.type(getGrad()).getRank();
  if (failed(c.atLeastRank1(getGrad(), "grad")) ||
      failed(c.rank(getInput(), rank, "input (the grad's rank)")) ||
      failed(
          c.leadingEqual(getGrad(), "grad", getInput(), "input", rank - 1)) ||
      failed(c.rank(getResult(), 2, "result")) ||
      failed(c.dimsEqual(getResult(), 0, "result [out, in]", getGrad(),
                         rank - 1, "grad", "output features")) ||
      failed(c.dimsEqual(getResult(), 1, "result [out, in]", getInput(),
                         rank - 1, "input", "input features")))
    return failure();
  return c.dense(getResult(), "result");
}

LogicalResult ProjGradBiasOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.atLeastRank1(getGrad(), "grad")))
    return failure();
  return c.vector(getResult(), c.shape(getGrad()).back(), "result",
                  "grad's feature width");
}

LogicalResult RMSNormGradOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.atLeastRank1(getInput(), "input")))
    return failure();
  if (!(getEpsilon().convertToDouble() >= 0.0))
    return emitOpError() << "epsilon must be >= 0, got "
                         << getEpsilon().convertToDouble();
  return c.vector(getGain(), c.shape(getInput()).back(), "gain",
                  "input's feature width");
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

LogicalResult AbsTopKGradOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.atLeastRank1(getOutput(), "output")))
    return failure();
  int64_t k = getKAttr().getInt(), width = c.shape(getOutput()).back();
  if (k < 1)
    return emitOpError() << "k must be at least 1, got " << k;
  if (!ShapedType::isDynamic(width) && k > width)
    return emitOpError() << "k = " << k << " exceeds the width " << width;
  return success();
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

int64_t AttentionGradOp::getHeadDim() {
  return getQuery().getType().getShape().back() / getNumHeads();
}

LogicalResult AttentionGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange operands, DictionaryAttr,
    OpaqueProperties, RegionRange, SmallVectorImpl<Type> &inferredReturnTypes) {
  // Operands: grad, query, key, value, output[, sink].
  if (operands.size() < 5)
    return failure();
  inferredReturnTypes.assign(3, operands[1].getType());
  if (operands.size() == 6)
    inferredReturnTypes.push_back(operands[5].getType());
  return success();
}

LogicalResult AttentionGradOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.rank(getQuery(), 3, "query")))
    return failure();
  int64_t heads = getNumHeads();
  if (heads < 1)
    return emitOpError() << "num_heads must be at least 1, got " << heads;
  int64_t width = c.shape(getQuery())[2];
  if (!ShapedType::isDynamic(width) && width % heads != 0)
    return emitOpError() << "num_heads = " << heads
                         << " does not divide the query width " << width;
  if (getSink() &&
      failed(c.vector(getSink(), heads, "sink", "number of heads")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Pruning
//===----------------------------------------------------------------------===//

LogicalResult MaskGateGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange operands, DictionaryAttr,
    OpaqueProperties, RegionRange, SmallVectorImpl<Type> &inferredReturnTypes) {
  // Operands: grad, input, tau[, mean].
  if (operands.size() < 3)
    return failure();
  inferredReturnTypes.assign({operands[1].getType(), operands[2].getType()});
  if (operands.size() == 4)
    inferredReturnTypes.push_back(operands[3].getType());
  return success();
}

LogicalResult MaskGateGradOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.atLeastRank1(getInput(), "input")))
    return failure();
  int64_t width = c.shape(getInput()).back();
  if (failed(c.vector(getTau(), width, "tau", "input's channel count")))
    return failure();
  bool meanAblation = getAblation() == Ablation::mean;
  if (meanAblation && !getMean())
    return emitOpError() << "mean ablation needs a 'mean' operand";
  if (!meanAblation && getMean())
    return emitOpError() << "zero ablation takes no 'mean' operand";
  if (getMean() &&
      failed(c.vector(getMean(), width, "mean", "input's channel count")))
    return failure();
  if (!(getTemperature().convertToDouble() > 0.0))
    return emitOpError() << "temperature must be > 0, got "
                         << getTemperature().convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult NextTokenLossGradOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.rank(getLogits(), 3, "logits")) ||
      failed(c.rank(getTargets(), 2, "targets")))
    return failure();
  return c.leadingEqual(getLogits(), "logits", getTargets(), "targets", 2);
}

LogicalResult ContrastLossGradOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.rank(getLogits(), 3, "logits")) ||
      failed(c.rank(getPositions(), 1, "positions")))
    return failure();
  return c.dimsEqual(getLogits(), 0, "logits", getPositions(), 0, "positions",
                     "number of prompts");
}
