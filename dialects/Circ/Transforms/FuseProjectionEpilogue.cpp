//===- FuseProjectionEpilogue.cpp - epilogue fusion -------------*- C++ -*-===//
//-*-===//
//
// Grows a chain from every projection through the single users of its
// result (gelu, abs_topk, mask_gate, in this order) and replaces it by one
// circ.fused_proj. Rules in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/Transforms/Passes.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCFUSEPROJECTIONEPILOGUE
#include "dialects/Circ/Transforms/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

namespace {

/// Epilogue steps in the order the fused kernel applies them.
enum class Step { none, gelu, topk, gate };

Step stepOf(Operation *op) {
  if (isa<GeluOp>(op))
    return Step::gelu;
  if (isa<AbsTopKOp>(op))
    return Step::topk;
  if (isa<MaskGateOp>(op))
    return Step::gate;
  return Step::none;
}

/// A projection (proj or fused_proj) and the epilogue ops it absorbs.
struct Chain {
  Operation *root;
  bool gelu = false;
  std::optional<int64_t> k;
  MaskGateOp gate;
  NodeLocationAttr site;
  IntegerAttr layer;
  SmallVector<Operation *> absorbed;
  Step last = Step::none;

  explicit Chain(Operation *root) : root(root) {
    if (auto fused = dyn_cast<FusedProjOp>(root)) {
      gelu = fused.getGelu();
      if (std::optional<uint64_t> kk = fused.getK())
        k = static_cast<int64_t>(*kk);
      site = fused.getSiteAttr();
      layer = fused.getLayerAttr();
      last = fused.getTau() ? Step::gate
             : k            ? Step::topk
             : gelu         ? Step::gelu
                            : Step::none;
    }
  }

  Operation *tail() { return absorbed.empty() ? root : absorbed.back(); }

  /// Why `op` (a user of the chain's result) cannot join, or "" if it can.
  std::string reasonAgainst(Operation *op) {
    Step step = stepOf(op);
    if (step <= last)
      return "the fused epilogue applies gelu, abs_topk, mask_gate in this "
             "order and already has this step or a later one";
    if (auto topk = dyn_cast<AbsTopKOp>(op))
      if (ShapedType::isDynamic(topk.getEffectiveK()))
        return "its k is a fraction of a dynamic width";
    if (auto g = dyn_cast<MaskGateOp>(op)) {
      if (g.getInput() != tail()->getResult(0))
        return "the projection's result is not the gated input";
      if (last == Step::topk &&
          (g.getSiteAttr() != site || g.getLayerAttr() != layer))
        return "it gates a different node location than the abs_topk";
    }
    return "";
  }

  void absorb(Operation *op) {
    absorbed.push_back(op);
    last = stepOf(op);
    if (last == Step::gelu) {
      gelu = true;
    } else if (auto topk = dyn_cast<AbsTopKOp>(op)) {
      k = topk.getEffectiveK();
      site = topk.getSiteAttr();
      layer = topk.getLayerAttr();
    } else {
      gate = cast<MaskGateOp>(op);
      site = gate.getSiteAttr();
      layer = gate.getLayerAttr();
    }
  }

  /// Builds the fused op where the last absorbed op was (every operand
  /// dominates it) and erases the chain.
  void rewrite() {
    Operation *lastOp = absorbed.back();
    OpBuilder b(lastOp);
    SmallVector<Location> locs{root->getLoc()};
    for (Operation *op : absorbed)
      locs.push_back(op->getLoc());
    Value input, weight, bias, scale, tau, mean;
    if (auto proj = dyn_cast<ProjOp>(root)) {
      input = proj.getInput();
      weight = proj.getWeight();
      bias = proj.getBias();
    } else {
      auto fused = cast<FusedProjOp>(root);
      input = fused.getInput();
      weight = fused.getWeight();
      bias = fused.getBias();
      scale = fused.getScale();
      tau = fused.getTau();
      mean = fused.getMean();
    }
    if (gate) {
      tau = gate.getTau();
      mean = gate.getMean();
    }
    auto fused = FusedProjOp::create(
        b, b.getFusedLoc(locs), lastOp->getResult(0).getType(), input, weight,
        bias, scale, tau, mean, gelu,
        k ? b.getI64IntegerAttr(*k) : IntegerAttr(), site, layer);
    lastOp->getResult(0).replaceAllUsesWith(fused.getResult());
    for (Operation *op : llvm::reverse(absorbed))
      op->erase();
    root->erase();
  }
};

struct CircFuseProjectionEpilogue
    : circ::impl::CircFuseProjectionEpilogueBase<CircFuseProjectionEpilogue> {
  using CircFuseProjectionEpilogueBase::CircFuseProjectionEpilogueBase;

  void runOnOperation() override {
    SmallVector<Operation *> roots;
    getOperation().walk([&](Operation *op) {
      if (isa<ProjOp, FusedProjOp>(op))
        roots.push_back(op);
    });
    for (Operation *root : roots) {
      Chain chain(root);
      while (true) {
        Value result = chain.tail()->getResult(0);
        auto users = llvm::to_vector(result.getUsers());
        if (users.size() != 1) {
          remarkUnfused(users);
          break;
        }
        Operation *user = users.front();
        if (stepOf(user) == Step::none)
          break;
        std::string reason = chain.reasonAgainst(user);
        if (!reason.empty()) {
          if (remarks)
            user->emitRemark() << "not fused into the projection: " << reason;
          break;
        }
        chain.absorb(user);
      }
      if (!chain.absorbed.empty())
        chain.rewrite();
    }
  }

  /// An epilogue op reading a value that has other uses stays unfused.
  void remarkUnfused(ArrayRef<Operation *> users) {
    if (!remarks)
      return;
    for (Operation *user : users)
      if (stepOf(user) != Step::none)
        user->emitRemark() << "not fused into the projection: its input has "
                           << users.size()
                           << " uses, and a fused kernel never materialises it";
  }
};

} // namespace
