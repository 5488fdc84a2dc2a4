//===- CircDialect.cpp - circ dialect registration --------------*- C++ -*-===//
#include "dialects/Circ/IR/CircDialect.h"
#include "dialects/Circ/IR/CircAttrs.h"
#include "dialects/Circ/IR/CircOps.h"

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
