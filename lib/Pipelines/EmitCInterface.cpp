//===- EmitCInterface.cpp - C-callable entry points -------------*- C++ -*-===//
#include "circ/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCEMITCINTERFACE
#include "circ/Pipelines/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;

namespace {
struct CircEmitCInterface
    : circ::impl::CircEmitCInterfaceBase<CircEmitCInterface> {
  void runOnOperation() override {
    UnitAttr unit = UnitAttr::get(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), unit);
  }
};
} // namespace
