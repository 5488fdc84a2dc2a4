//===- CircAttrs.h - circ attributes and enums ------------------*- C++ -*-===//
#ifndef CIRC_DIALECTS_CIRC_IR_CIRCATTRS_H
#define CIRC_DIALECTS_CIRC_IR_CIRCATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialects/Circ/IR/CircEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Circ/IR/CircAttrs.h.inc"

#endif // CIRC_DIALECTS_CIRC_IR_CIRCATTRS_H
