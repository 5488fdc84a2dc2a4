//===- Passes.h - circ dialect-local passes ---------------------*- C++ -*-===//
#ifndef CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_H
#define CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_H

#include "dialects/Circ/IR/CircOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::circ {

#define GEN_PASS_DECL
#include "dialects/Circ/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/Circ/Transforms/Passes.h.inc"

} // namespace mlir::circ

#endif // CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_H
