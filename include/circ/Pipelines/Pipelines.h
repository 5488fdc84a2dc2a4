//===- Pipelines.h - circ lowering pipelines --------------------*- C++ -*-===//
//
// `circ-cpu-pipeline`: from a model in the circ dialect to the LLVM dialect,
// ready for translation to LLVM IR (JIT or object file).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PIPELINES_PIPELINES_H
#define CIRC_PIPELINES_PIPELINES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::circ {

#define GEN_PASS_DECL
#include "circ/Pipelines/Passes.h.inc"

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> vectorWidth{*this, "vector-width",
                              llvm::cl::desc("f32 lanes of the kernels' "
                                             "vectors (16 = AVX-512)"),
                              llvm::cl::init(16)};
  Option<int64_t> tileTokens{
      *this, "tile-tokens",
      llvm::cl::desc("tokens per projection tile (0: chosen from widths)"),
      llvm::cl::init(0)};
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("run scf.parallel loops on OpenMP threads (libomp); "
                     "false keeps them sequential"),
      llvm::cl::init(true)};
  Option<bool> optimize{
      *this, "optimize",
      llvm::cl::desc("run the circ-level rewrites first (layout selection, "
                     "fusion, gain folding)"),
      llvm::cl::init(true)};
};

/// Appends the CPU lowering to `pm` (a module pass manager): circ rewrites,
/// convert-circ-to-loops, deallocation, OpenMP, math approximation, LLVM.
/// It is the two stages below, one after the other.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Stage 1: circ dialect → loops on memrefs with deallocations; functions
/// have the final calling convention (expanded weights, output arguments).
void buildCPULoopsPipeline(OpPassManager &pm,
                           const CPUPipelineOptions &options);

/// Stage 2: loops on memrefs → LLVM dialect (threads, vectors, math).
void buildCPULLVMPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers `circ-cpu-pipeline` and the passes of Passes.td.
void registerCircPipelines();

} // namespace mlir::circ

#endif // CIRC_PIPELINES_PIPELINES_H
