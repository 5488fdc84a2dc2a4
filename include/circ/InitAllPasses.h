//===- InitAllPasses.h - register every pass circ-opt offers ----*- C++ -*-===//
//
// circ's own passes plus the upstream passes its pipelines are built from,
// so each stage can be run and inspected on its own in circ-opt.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_INITALLPASSES_H
#define CIRC_INITALLPASSES_H

#include "circ/Conversion/Passes.h"
#include "circ/Pipelines/Pipelines.h"
#include "dialects/Circ/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::circ {

inline void registerAllPasses() {
  registerCircPasses();
  registerCircConversionPasses();
  registerCircPipelines();
  // Upstream: generic transforms, conversions and the dialect passes the CPU
  // and GPU pipelines use.
  registerTransformsPasses();
  registerConversionPasses();
  arith::registerArithPasses();
  bufferization::registerBufferizationPasses();
  registerGPUPasses();
  registerLinalgPasses();
  memref::registerMemRefPasses();
  registerSCFPasses();
}

} // namespace mlir::circ

#endif // CIRC_INITALLPASSES_H
