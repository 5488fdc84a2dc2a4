//===- CircFusedOps.cpp - circ fused operations -----------------*- C++ -*-===//
//
// Verifier of circ.fused_proj (CircFusedOps.td). The projection's shapes are
// checked by the same helper as circ.proj's, so both say the same thing.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/IR/CircOps.h"
#include "dialects/Circ/IR/ShapeChecks.h"

using namespace mlir;
using namespace mlir::circ;

LogicalResult FusedProjOp::verify() {
  if (failed(verifyProjectionShapes(*this, getInput(), getWeight(), getBias(),
                                    getResult())))
    return failure();
  RankedTensorType weight = tensorType(getWeight());
  int64_t outDim = weight.getDimSize(0), inDim = weight.getDimSize(1);
  if (getScale() && failed(expectVector(*this, getScale(), inDim, "scale",
                                        "weight's input width")))
    return failure();
  if (std::optional<uint64_t> k = getK()) {
    auto kValue = static_cast<int64_t>(*k);
    if (kValue < 1)
      return emitOpError() << "k must be at least 1, got " << kValue;
    if (!ShapedType::isDynamic(outDim) && kValue > outDim)
      return emitOpError() << "k = " << kValue
                           << " exceeds the weight's output width " << outDim;
  }
  if (getMean() && !getTau())
    return emitOpError() << "'mean' needs a gate ('tau' operand)";
  if (getTau() && failed(expectVector(*this, getTau(), outDim, "tau",
                                      "weight's output width")))
    return failure();
  if (getMean() && failed(expectVector(*this, getMean(), outDim, "mean",
                                       "weight's output width")))
    return failure();
  if ((getSiteAttr() || getLayerAttr()) && !getK() && !getTau())
    return emitOpError() << "'site' and 'layer' name the node location of "
                            "an AbsTopK or gate epilogue; this op has neither";
  return expectLayer(*this, getLayerAttr());
}
