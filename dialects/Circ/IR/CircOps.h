//===- CircOps.h - circ operations ------------------------------*- C++ -*-===//
#ifndef CIRC_DIALECTS_CIRC_IR_CIRCOPS_H
#define CIRC_DIALECTS_CIRC_IR_CIRCOPS_H

#include "dialects/Circ/IR/CircAttrs.h"
#include "dialects/Circ/IR/CircDialect.h"
#include "dialects/Circ/IR/CircInterfaces.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/Circ/IR/CircOps.h.inc"

#endif // CIRC_DIALECTS_CIRC_IR_CIRCOPS_H
