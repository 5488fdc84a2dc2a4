//===- CircInterfaces.h - circ op interfaces --------------------*- C++ -*-===//
#ifndef CIRC_DIALECTS_CIRC_IR_CIRCINTERFACES_H
#define CIRC_DIALECTS_CIRC_IR_CIRCINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "dialects/Circ/IR/CircInterfaces.h.inc"

#endif // CIRC_DIALECTS_CIRC_IR_CIRCINTERFACES_H
