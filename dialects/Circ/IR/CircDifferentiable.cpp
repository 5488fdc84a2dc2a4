//===- CircDifferentiable.cpp - gradient rules of the circ ops --*- C++ -*-===//
//
// CircDifferentiableOpInterface for every forward op: the vector-Jacobian
// product as circ.*_grad ops. Rules pass the forward values the backward op
// recomputes from (inputs for norms and activations, the AbsTopK output for
// its selection, q/k/v and the output for attention) rather than saving
// intermediates. docs/autodiff.md lists the formulas.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/IR/CircOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::circ;

namespace {
/// The operand gradients a rule fills in, addressed by operand so that an
/// op using one value twice gets one gradient per use.
class OperandGrads {
public:
  OperandGrads(Operation *op, ArrayRef<bool> wanted,
               SmallVectorImpl<Value> &grads)
      : wanted(wanted), grads(grads) {
    grads.assign(op->getNumOperands(), Value());
  }
  bool wants(OpOperand &operand) const {
    return wanted[operand.getOperandNumber()];
  }
  /// For optional operands: present and wanted.
  bool wants(MutableOperandRange range) const {
    return !range.empty() && wants(range[0]);
  }
  void set(OpOperand &operand, Value grad) {
    if (wants(operand))
      grads[operand.getOperandNumber()] = grad;
  }
  void set(MutableOperandRange range, Value grad) {
    if (!range.empty())
      set(range[0], grad);
  }

private:
  ArrayRef<bool> wanted;
  SmallVectorImpl<Value> &grads;
};
} // namespace

/// The gradient of a value has its shape but never its sparsity encoding.
static RankedTensorType gradType(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  return RankedTensorType::get(type.getShape(), type.getElementType());
}

/// True when every row of `v` is provably mostly zero: an AbsTopK output,
/// the gradient routed through one, the contrast loss's gradient (two
/// entries per prompt), and what elementwise ops that keep zeros make of
/// those. Decides the `sparse_input`/`sparse_grad` kernel hints of
/// circ.proj_grad_weight; a false negative only costs speed.
static bool isRowSparse(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<AbsTopKOp, AbsTopKGradOp, ContrastLossGradOp>(def))
      return true;
    if (matchPattern(v, m_AnyZeroFloat()))
      return true;
    if (auto gelu = dyn_cast<GeluOp>(def)) { // gelu(0) = 0
      v = gelu.getInput();
    } else if (auto geluGrad = dyn_cast<GeluGradOp>(def)) {
      v = geluGrad.getGrad();
    } else if (auto gate = dyn_cast<MaskGateOp>(def)) {
      if (gate.getAblation() != Ablation::zero)
        return false;
      v = gate.getInput();
    } else if (auto gateGrad = dyn_cast<MaskGateGradOp>(def)) {
      if (v != gateGrad.getInputGrad())
        return false;
      v = gateGrad.getGrad();
    } else if (auto insert = dyn_cast<tensor::InsertSliceOp>(def)) {
      if (!isRowSparse(insert.getSource()))
        return false;
      v = insert.getDest();
    } else {
      return false;
    }
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                      ArrayRef<bool> wanted,
                                      SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (grads.wants(getTableMutable()))
    grads.set(getTableMutable(),
              EmbedGradOp::create(b, getLoc(), gradType(getTable()),
                                  resultGrads[0], getIds()));
  return success();
}

LogicalResult BigramOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                       ArrayRef<bool> wanted,
                                       SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (grads.wants(getTableMutable()))
    grads.set(getTableMutable(),
              EmbedGradOp::create(b, getLoc(), gradType(getTable()),
                                  resultGrads[0], getIds()));
  return success();
}

LogicalResult
AddPositionsOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                               ArrayRef<bool> wanted,
                               SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  grads.set(getInputMutable(), resultGrads[0]);
  if (grads.wants(getTableMutable()))
    grads.set(getTableMutable(),
              AddPositionsGradOp::create(b, getLoc(), gradType(getTable()),
                                         resultGrads[0]));
  return success();
}

//===----------------------------------------------------------------------===//
// Projections and normalisation
//===----------------------------------------------------------------------===//

LogicalResult ProjOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                     ArrayRef<bool> wanted,
                                     SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  Value dy = resultGrads[0];
  if (grads.wants(getInputMutable()))
    grads.set(getInputMutable(),
              ProjGradInputOp::create(b, getLoc(), gradType(getInput()), dy,
                                      getWeight()));
  if (grads.wants(getWeightMutable())) {
    auto dw = ProjGradWeightOp::create(b, getLoc(), gradType(getWeight()), dy,
                                       getInput());
    dw.setSparseInput(isRowSparse(getInput()));
    dw.setSparseGrad(isRowSparse(dy));
    grads.set(getWeightMutable(), dw);
  }
  if (grads.wants(getBiasMutable()))
    grads.set(getBiasMutable(),
              ProjGradBiasOp::create(b, getLoc(), gradType(getBias()), dy));
  return success();
}

LogicalResult RMSNormOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                        ArrayRef<bool> wanted,
                                        SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (!grads.wants(getInputMutable()) && !grads.wants(getGainMutable()))
    return success();
  auto grad = RMSNormGradOp::create(b, getLoc(), resultGrads[0], getInput(),
                                    getGain(), getEpsilonAttr());
  grads.set(getInputMutable(), grad.getInputGrad());
  grads.set(getGainMutable(), grad.getGainGrad());
  return success();
}

//===----------------------------------------------------------------------===//
// Activations and the residual stream
//===----------------------------------------------------------------------===//

LogicalResult AbsTopKOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                        ArrayRef<bool> wanted,
                                        SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (!grads.wants(getInputMutable()))
    return success();
  int64_t k = getEffectiveK();
  if (ShapedType::isDynamic(k))
    return emitOpError() << "circ-differentiate needs a static k; this "
                            "abs_topk has a fraction over a dynamic width";
  grads.set(getInputMutable(),
            AbsTopKGradOp::create(b, getLoc(), resultGrads[0], getResult(),
                                  b.getI64IntegerAttr(k)));
  return success();
}

LogicalResult GeluOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                     ArrayRef<bool> wanted,
                                     SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (grads.wants(getInputMutable()))
    grads.set(getInputMutable(),
              GeluGradOp::create(b, getLoc(), resultGrads[0], getInput()));
  return success();
}

LogicalResult
ResidualAddOp::buildGradients(OpBuilder &, ValueRange resultGrads,
                              ArrayRef<bool> wanted,
                              SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  grads.set(getResidualMutable(), resultGrads[0]);
  grads.set(getDeltaMutable(), resultGrads[0]);
  return success();
}

LogicalResult
AttentionOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                            ArrayRef<bool> wanted,
                            SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (!llvm::is_contained(wanted, true))
    return success();
  auto grad = AttentionGradOp::create(b, getLoc(), resultGrads[0], getQuery(),
                                      getKey(), getValue(), getResult(),
                                      getSink(), getNumHeadsAttr());
  grads.set(getQueryMutable(), grad.getQueryGrad());
  grads.set(getKeyMutable(), grad.getKeyGrad());
  grads.set(getValueMutable(), grad.getValueGrad());
  grads.set(getSinkMutable(), grad.getSinkGrad());
  return success();
}

//===----------------------------------------------------------------------===//
// Pruning
//===----------------------------------------------------------------------===//

LogicalResult MaskGateOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                         ArrayRef<bool> wanted,
                                         SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (!llvm::is_contained(wanted, true))
    return success();
  auto grad = MaskGateGradOp::create(b, getLoc(), resultGrads[0], getInput(),
                                     getTau(), getMean(), getAblationAttr(),
                                     getTemperatureAttr());
  grads.set(getInputMutable(), grad.getInputGrad());
  grads.set(getTauMutable(), grad.getTauGrad());
  grads.set(getMeanMutable(), grad.getMeanGrad());
  return success();
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult
NextTokenLossOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                ArrayRef<bool> wanted,
                                SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (grads.wants(getLogitsMutable()))
    grads.set(getLogitsMutable(),
              NextTokenLossGradOp::create(b, getLoc(), resultGrads[0],
                                          getLogits(), getTargets()));
  return success();
}

LogicalResult
ContrastLossOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                               ArrayRef<bool> wanted,
                               SmallVectorImpl<Value> &operandGrads) {
  OperandGrads grads(*this, wanted, operandGrads);
  if (grads.wants(getLogitsMutable()))
    grads.set(getLogitsMutable(),
              ContrastLossGradOp::create(b, getLoc(), resultGrads[0],
                                         getLogits(), getPositions(),
                                         getCorrect(), getWrong()));
  return success();
}
