//===- CPUPipeline.cpp - circ-cpu-pipeline ----------------------*- C++ -*-===//
//
// circ dialect → loops on memrefs → OpenMP threads → LLVM dialect. The stages
// and why they are ordered so are described in docs/codegen.md.
//
//===----------------------------------------------------------------------===//

#include "circ/Pipelines/Pipelines.h"

#include "circ/Conversion/Passes.h"
#include "dialects/Circ/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::circ;

namespace mlir::circ {
#define GEN_PASS_REGISTRATION
#include "circ/Pipelines/Passes.h.inc"
} // namespace mlir::circ

void mlir::circ::buildCPULoopsPipeline(OpPassManager &pm,
                                       const CPUPipelineOptions &options) {
  pm.addPass(createCanonicalizerPass());
  // circ-level rewrites: the layout of every sparse weight (which fixes the
  // buffers the caller passes).
  if (options.optimize)
    pm.addPass(createCircSelectLayouts());
  // Fusion (docs/codegen.md): RMSNorm gains into the following weights,
  // then GELU/AbsTopK/gate epilogues into the projections' kernels.
  if (options.optimize) {
    pm.addNestedPass<func::FuncOp>(createCircFoldRMSNormGain());
    pm.addNestedPass<func::FuncOp>(createCircFuseProjectionEpilogue());
  }

  // circ → loops on memrefs; results become output arguments.
  ConvertCircToLoopsOptions loops;
  loops.vectorWidth = options.vectorWidth;
  loops.tileTokens = options.tileTokens;
  pm.addPass(createConvertCircToLoops(loops));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());

  // Free every intermediate after its last use.
  pm.addNestedPass<func::FuncOp>(
      bufferization::createOwnershipBasedBufferDeallocationPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(bufferization::createBufferDeallocationSimplificationPass());
  pm.addPass(bufferization::createLowerDeallocationsPass());
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::circ::buildCPULLVMPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options) {
  // Vector-friendly math, threads, then everything to LLVM.
  pm.addPass(createCircApproximateMath());
  if (options.parallel)
    pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createCircEmitCInterface());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Before scf-to-cf: the OpenMP loop body sits in a memref.alloca_scope,
  // which must be inlined (with stacksave/restore) while it is one block.
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  if (options.parallel)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::circ::buildCPUPipeline(OpPassManager &pm,
                                  const CPUPipelineOptions &options) {
  buildCPULoopsPipeline(pm, options);
  buildCPULLVMPipeline(pm, options);
}

void mlir::circ::registerCircPipelines() {
  registerCircPipelinePasses();
  PassPipelineRegistration<CPUPipelineOptions>(
      "circ-cpu-pipeline",
      "Lower a circ model to the LLVM dialect: fused, vectorised, "
      "OpenMP-parallel CPU kernels",
      buildCPUPipeline);
}
