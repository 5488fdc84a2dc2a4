//===- CircDialect.cpp - circ dialect registration --------------*- C++ -*-===//
#include "dialects/Circ/IR/CircDialect.h"
#include "dialects/Circ/IR/CircAttrs.h"
#include "dialects/Circ/IR/CircOps.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::circ;

#include "dialects/Circ/IR/CircDialect.cpp.inc"

void CircDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Circ/IR/CircOps.cpp.inc"
      >();
  registerAttributes();
}

LogicalResult CircDialect::verifyRegionArgAttribute(Operation *op,
                                                    unsigned regionIndex,
                                                    unsigned argIndex,
                                                    NamedAttribute attr) {
  // Only the attributes circ defines are checked; other `circ.*` names are
  // free for passes to use as annotations.
  if (attr.getName() != kParamAttrName)
    return success();
  auto name = llvm::dyn_cast<StringAttr>(attr.getValue());
  if (!name || name.getValue().empty())
    return op->emitError() << "'" << kParamAttrName << "' of argument "
                           << argIndex
                           << " must be a non-empty string naming the "
                              "parameter, got "
                           << attr.getValue();
  return success();
}

LogicalResult CircDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  if (attr.getName() != kModelAttrName)
    return success();
  if (!llvm::isa<ModuleOp>(op))
    return op->emitError() << "'" << kModelAttrName
                           << "' belongs on a builtin.module";
  if (!llvm::isa<DictionaryAttr>(attr.getValue()))
    return op->emitError() << "'" << kModelAttrName
                           << "' must be a dictionary of model settings, got "
                           << attr.getValue();
  return success();
}
