//===- SelectLayouts.cpp - circ-select-layouts ------------------*- C++ -*-===//
//
// Picks dense, ELL or CSR for every sparse weight argument (rules in
// Passes.td) and rewrites the argument's type.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/Transforms/Passes.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCSELECTLAYOUTS
#include "dialects/Circ/Transforms/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

namespace {

/// True when every use of `weight` only gathers rows of it.
bool onlyLookups(Value weight) {
  return llvm::all_of(weight.getUsers(), [](Operation *user) {
    return isa<EmbedOp, BigramOp>(user);
  });
}

SparseLayout chooseLayout(Value weight, RankedTensorType type,
                          SparsityAttr sparsity, double denseThreshold,
                          bool allowEll) {
  double density = sparsity.getDensityValue();
  if (onlyLookups(weight) || density >= denseThreshold)
    return SparseLayout::dense;
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  if (!allowEll || sparsity.getAxis() == UnitAxis::none ||
      ShapedType::isDynamic(rows) || ShapedType::isDynamic(cols))
    return SparseLayout::csr;
  int64_t units = sparsity.getAxis() == UnitAxis::rows ? rows : cols;
  double budget = density * static_cast<double>(rows) * static_cast<double>(cols);
  double forced = static_cast<double>(sparsity.getMinPerUnit()) *
                  static_cast<double>(units);
  return forced >= budget ? SparseLayout::ell : SparseLayout::csr;
}

struct CircSelectLayouts
    : circ::impl::CircSelectLayoutsBase<CircSelectLayouts> {
  using Base::Base;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<Type> inputs(func.getArgumentTypes());
      for (BlockArgument arg : func.getArguments()) {
        auto type = dyn_cast<RankedTensorType>(arg.getType());
        auto sparsity =
            type ? dyn_cast_or_null<SparsityAttr>(type.getEncoding())
                 : SparsityAttr();
        if (!sparsity || type.getRank() != 2)
          continue;
        for (Operation *user : arg.getUsers())
          if (!isa<CircDialect>(user->getDialect())) {
            user->emitError()
                << "circ-select-layouts: weight argument #"
                << arg.getArgNumber() << " of @" << func.getName()
                << " is used by '" << user->getName()
                << "'; its layout cannot change under a non-circ use";
            return signalPassFailure();
          }
        SparseLayout layout =
            chooseLayout(arg, type, sparsity, denseThreshold, allowEll);
        if (layout == sparsity.getLayout())
          continue;
        auto chosen = SparsityAttr::get(&getContext(), sparsity.getDensity(),
                                        sparsity.getMinPerUnit(),
                                        sparsity.getAxis(), layout);
        auto newType = RankedTensorType::get(type.getShape(),
                                             type.getElementType(), chosen);
        arg.setType(newType);
        inputs[arg.getArgNumber()] = newType;
      }
      func.setType(FunctionType::get(&getContext(), inputs,
                                     func.getResultTypes()));
    }
  }
};

} // namespace
