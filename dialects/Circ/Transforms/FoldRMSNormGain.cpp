//===- FoldRMSNormGain.cpp - circ-fold-rmsnorm-gain -------------*- C++ -*-===//
//
// rmsnorm(x, g) feeding only projections becomes rmsnorm(x, 1) feeding
// circ.fused_proj ops that scale their weights by g. Rules in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCFOLDRMSNORMGAIN
#include "dialects/Circ/Transforms/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

namespace {

/// Why `use` of a normalised value cannot take the gain, or "" if it can.
std::string reasonAgainst(OpOperand &use) {
  Operation *user = use.getOwner();
  auto name = [&] { return "'" + user->getName().getStringRef().str() + "'"; };
  if (isa<ProjOp, FusedProjOp>(user)) {
    // The input is operand 0 of both.
    if (use.getOperandNumber() != 0)
      return "it is not the input of " + name();
    auto fused = dyn_cast<FusedProjOp>(user);
    return fused && fused.getScale() ? name() + " already scales its input"
                                     : "";
  }
  if (isa<AbsTopKOp>(user))
    return "it feeds 'circ.abs_topk', which would select on |x·gain|";
  return "it feeds " + name() + ", which is not a projection";
}

struct CircFoldRMSNormGain
    : circ::impl::CircFoldRMSNormGainBase<CircFoldRMSNormGain> {
  using CircFoldRMSNormGainBase::CircFoldRMSNormGainBase;

  void runOnOperation() override {
    SmallVector<RMSNormOp> norms;
    getOperation().walk([&](RMSNormOp op) { norms.push_back(op); });
    for (RMSNormOp norm : norms)
      fold(norm);
  }

  void fold(RMSNormOp norm) {
    auto gainType = cast<RankedTensorType>(norm.getGain().getType());
    if (matchPattern(norm.getGain(), m_OneFloat()))
      return; // A unit gain has nothing to fold (and is what we leave).
    if (norm.getResult().use_empty())
      return;
    std::string reason;
    if (!gainType.hasStaticShape())
      reason = "its gain has a dynamic width";
    for (OpOperand &use : norm.getResult().getUses()) {
      if (!reason.empty())
        break;
      reason = reasonAgainst(use);
    }
    if (!reason.empty()) {
      if (remarks)
        norm.emitRemark() << "gain not folded: " << reason;
      return;
    }

    OpBuilder b(norm);
    Value ones = arith::ConstantOp::create(
        b, norm.getLoc(),
        DenseElementsAttr::get(gainType, b.getF32FloatAttr(1.0f).getValue()));
    auto unit = RMSNormOp::create(b, norm.getLoc(), norm.getInput(), ones,
                                  norm.getEpsilonAttr());
    Value gain = norm.getGain();
    for (OpOperand &use :
         llvm::make_early_inc_range(norm.getResult().getUses()))
      scaleProjection(use.getOwner(), unit.getResult(), gain);
    norm.erase();
  }

  /// Replaces a projection reading the normalised value by a fused_proj
  /// reading `input` with `scale`, keeping any epilogue it had.
  static void scaleProjection(Operation *user, Value input, Value scale) {
    OpBuilder b(user);
    FusedProjOp fused;
    if (auto proj = dyn_cast<ProjOp>(user)) {
      fused = FusedProjOp::create(b, proj.getLoc(), proj.getType(), input,
                                  proj.getWeight(), proj.getBias(), scale,
                                  Value(), Value(), false, IntegerAttr(),
                                  NodeLocationAttr(), IntegerAttr());
    } else {
      auto old = cast<FusedProjOp>(user);
      fused = FusedProjOp::create(
          b, old.getLoc(), old.getType(), input, old.getWeight(), old.getBias(),
          scale, old.getTau(), old.getMean(), old.getGelu(), old.getKAttr(),
          old.getSiteAttr(), old.getLayerAttr());
    }
    user->getResult(0).replaceAllUsesWith(fused.getResult());
    user->erase();
  }
};

} // namespace
