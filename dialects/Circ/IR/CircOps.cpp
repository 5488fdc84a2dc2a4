//===- CircOps.cpp - circ operations ----------------------------*- C++ -*-===//
#include "dialects/Circ/IR/CircOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::circ;

#define GET_OP_CLASSES
#include "dialects/Circ/IR/CircOps.cpp.inc"
