//===- Passes.h - circ conversion passes ------------------------*- C++ -*-===//
#ifndef CIRC_CONVERSION_PASSES_H
#define CIRC_CONVERSION_PASSES_H

#include "circ/Conversion/CircToLoops.h"

namespace mlir::circ {

#define GEN_PASS_REGISTRATION
#include "circ/Conversion/Passes.h.inc"

} // namespace mlir::circ

#endif // CIRC_CONVERSION_PASSES_H
