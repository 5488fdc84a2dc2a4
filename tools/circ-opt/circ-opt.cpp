//===- circ-opt.cpp - the circ optimizer driver -----------------*- C++ -*-===//
//
// mlir-opt for circ: parses .mlir, runs passes, prints the result. Every
// upstream mlir-opt flag (--pass-pipeline, --mlir-print-ir-after-all,
// --mlir-timing, --split-input-file, --verify-diagnostics, ...) works.
//
//===----------------------------------------------------------------------===//

#include "circ/GPU/Pipeline.h"
#include "circ/InitAllDialects.h"
#include "circ/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::circ::registerAllDialects(registry);
  mlir::circ::registerAllPasses();
  mlir::circ::registerCircGPU(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "circ optimizer driver\n", registry));
}
