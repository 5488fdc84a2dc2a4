//===- Pipeline.h - circ-gpu-pipeline and GPU registration ------*- C++ -*-===//
//
// `circ-gpu-pipeline`: from scf.parallel loop nests on memrefs (the output of
// convert-circ-to-loops, or hand-written nests) to the LLVM dialect with every
// kernel compiled to a `gpu.binary` holding one object per chip:
//
//   circ-map-parallel-to-gpu → gpu-launch-sink-index-computations →
//   gpu-kernel-outlining →
//   circ-gpu-merge-kernel-modules → circ-gpu-kernel-cost →
//   nvvm-attach-target (per chip) → convert-gpu-to-nvvm → gpu-to-llvm →
//   gpu-module-to-binary
//
// which is upstream's gpu-lower-to-nvvm-pipeline with several targets, the
// mapping in front and the cost analysis in the middle (docs/gpu.md).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_GPU_PIPELINE_H
#define CIRC_GPU_PIPELINE_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::circ {

struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  ListOption<std::string> chips{
      *this, "chips",
      llvm::cl::desc("GPU architectures, one object each (sm_80,sm_90)"),
      llvm::cl::list_init<std::string>({"sm_80", "sm_90"})};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX ISA features (+ptx80: PTX 8.0, needed for sm_90)"),
      llvm::cl::init("+ptx80")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("object format: isa (PTX text), bin (cubin, needs "
                     "ptxas), fatbin"),
      llvm::cl::init("isa")};
  Option<int64_t> optLevel{*this, "opt-level",
                           llvm::cl::desc("LLVM optimisation level for NVPTX"),
                           llvm::cl::init(3)};
  Option<int64_t> blockThreads{
      *this, "block-threads",
      llvm::cl::desc("threads per block circ-map-parallel-to-gpu aims for"),
      llvm::cl::init(256)};
  Option<bool> promoteInnerLoops{
      *this, "promote-inner-loops",
      llvm::cl::desc("turn independent inner loops into thread dimensions"),
      llvm::cl::init(true)};
};

/// Appends the GPU lowering to `pm` (a module pass manager).
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// Registers the GPU passes (circ-map-parallel-to-gpu, circ-gpu-kernel-cost),
/// circ-gpu-pipeline and upstream's gpu-lower-to-nvvm-pipeline, and adds to
/// `registry` what serialising kernels needs: the NVVM target, the LLVM IR
/// translations of builtin/llvm/gpu/nvvm, and the ConvertToLLVM interfaces.
void registerCircGPU(DialectRegistry &registry);

} // namespace mlir::circ

#endif // CIRC_GPU_PIPELINE_H
