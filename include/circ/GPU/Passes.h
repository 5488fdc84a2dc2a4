//===- Passes.h - the GPU path ----------------------------------*- C++ -*-===//
#ifndef CIRC_GPU_PASSES_H
#define CIRC_GPU_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::circ {

#define GEN_PASS_DECL
#include "circ/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "circ/GPU/Passes.h.inc"

} // namespace mlir::circ

#endif // CIRC_GPU_PASSES_H
