//===- CircDialect.h - circ dialect declaration -----------------*- C++ -*-===//
#ifndef CIRC_DIALECTS_CIRC_IR_CIRCDIALECT_H
#define CIRC_DIALECTS_CIRC_IR_CIRCDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dialect.h"

#include "dialects/Circ/IR/CircDialect.h.inc"

#endif // CIRC_DIALECTS_CIRC_IR_CIRCDIALECT_H
