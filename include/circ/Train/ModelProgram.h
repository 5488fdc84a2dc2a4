//===- ModelProgram.h - a model compiled for the CPU, bound to weights -*- C++ -*-===//
//
// Builds a model's functions with the builder API, differentiates the loss
// (circ-differentiate), compiles everything with the CPU pipeline into one
// JIT module, and calls the compiled functions on the buffers of a
// circ::rt::ParamStore: dense values and the sparse indices the optimizer
// rebuilt, gradients written straight into the store's gradient arrays.
//
// Functions a program holds (each optional):
//   loss       (tokens, targets, params...) -> loss
//   loss_grad  (tokens, targets, params...) -> (loss, d params...)
//   forward    (tokens, params...)          -> logits
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TRAIN_MODELPROGRAM_H
#define CIRC_TRAIN_MODELPROGRAM_H

#include "circ/Pipelines/Pipelines.h"
#include "circ/Target/JIT.h"
#include "circ_runtime/Error.h"
#include "circ_runtime/ModelConfig.h"
#include "circ_runtime/ParamStore.h"

#include "mlir/IR/MLIRContext.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::circ {

namespace rt = ::circ::rt;

struct ModelProgramOptions {
  int64_t batch = 1;  ///< sequences per call (static in the compiled code)
  int64_t seqLen = 0; ///< tokens per sequence; 0 = the model's ctx
  bool loss = true;
  bool lossGrad = true;
  bool forward = false;
  /// The pipeline's options (vector width, threading).
  int64_t vectorWidth = 16;
  bool parallel = true;
};

class ModelProgram {
public:
  /// Builds and compiles the requested functions. Diagnostics of a failing
  /// stage are in the error message.
  static rt::Expected<std::unique_ptr<ModelProgram>>
  create(const ::circ::ModelConfig &config, const ModelProgramOptions &options);
  ~ModelProgram();

  int64_t batch() const { return opts.batch; }
  int64_t seqLen() const { return opts.seqLen; }
  const ::circ::ModelConfig &config() const { return cfg; }

  /// Mean next-token loss of `inputs`/`targets` ([batch, seqLen] int32 each)
  /// under the weights in `store`, with the gradient of every parameter
  /// written into `store.grads(i)`.
  rt::Expected<float> lossAndGrad(const int32_t *inputs,
                                  const int32_t *targets,
                                  rt::ParamStore &store);
  /// The same loss without gradients.
  rt::Expected<float> loss(const int32_t *inputs, const int32_t *targets,
                           rt::ParamStore &store);
  /// Logits [batch, seqLen, vocab] into `logits`.
  rt::Error forward(const int32_t *inputs, rt::ParamStore &store,
                    float *logits);

private:
  ModelProgram(const ::circ::ModelConfig &config,
               const ModelProgramOptions &options);
  /// Calls `fn`, binding parameter buffers from `store`, `ids` to the
  /// non-parameter integer inputs in order, and `outputs` to the results.
  rt::Error call(llvm::StringRef fn, llvm::ArrayRef<const int32_t *> ids,
                 rt::ParamStore &store, llvm::ArrayRef<void *> outputs,
                 bool gradsAsOutputs);

  ::circ::ModelConfig cfg;
  ModelProgramOptions opts;
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<JITModule> jit;
  /// Parameter of each gradient result of `loss_grad` (result 1 onwards).
  std::vector<std::string> gradNames;
};

} // namespace mlir::circ

#endif // CIRC_TRAIN_MODELPROGRAM_H
