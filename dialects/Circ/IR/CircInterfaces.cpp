//===- CircInterfaces.cpp - circ op interfaces ------------------*- C++ -*-===//
#include "dialects/Circ/IR/CircInterfaces.h"

using namespace mlir;
using namespace mlir::circ;

#include "dialects/Circ/IR/CircInterfaces.cpp.inc"
