//===- ModelProgram.h - a model compiled for the CPU, bound to weights -*- C++ -*-===//
//
// Builds a model's functions with the builder API, differentiates the loss
// (circ-differentiate), compiles everything with the CPU pipeline into one
// JIT module, and calls the compiled functions on the buffers of a
// circ::rt::ParamStore: dense values and the sparse indices the optimizer
// rebuilt, gradients written straight into the store's gradient arrays.
//
// Functions a program holds (each optional; `params` includes the mask
// gates' `h.<l>.<site>.tau/.mean` when built with them):
//   loss            (tokens, targets, params...) -> loss
//   loss_grad       (tokens, targets, params...) -> (loss, d params...)
//   forward         (tokens, params...)          -> logits
//   task_loss       (tokens, positions, correct, wrong, params...) -> loss
//   task_loss_grad  (the same)                   -> (loss, d params...)
//   activations     (tokens, params...)          -> every node's output
// The gradients are those of `gradParams` (all parameters by default).
//
// Parameters may live in several stores (e.g. the frozen weights in one,
// pruning thresholds and means in another): call() looks every name up in
// the stores it is given and writes each gradient into the store that
// holds its parameter.
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
#include "llvm/ADT/StringMap.h"

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
  bool taskLoss = false;
  bool taskLossGrad = false;
  bool activations = false;
  /// circ.mask_gate at every node location (the pruning form).
  bool maskGates = false;
  /// Parameters the gradient functions differentiate (circ-differentiate's
  /// `params`; a trailing '*' matches a prefix); empty = every parameter.
  std::vector<std::string> gradParams;
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

  /// Calls function `fn` of the program. `ids` bind its non-parameter
  /// (integer) inputs in order; every parameter buffer is looked up by name
  /// in `stores`, first match wins (dense values, or the sparse index's
  /// arrays); a gradient result (`circ.grad`) is written into the gradients
  /// of the store holding its parameter; every other result r is written to
  /// `outputs[r]`, which the caller sized from the result's shape.
  rt::Error call(llvm::StringRef fn, llvm::ArrayRef<const int32_t *> ids,
                 llvm::ArrayRef<rt::ParamStore *> stores,
                 llvm::ArrayRef<void *> outputs);
  /// The compiled signature of `fn`, or null.
  const EntryPoint *entryPoint(llvm::StringRef fn) const {
    return jit->entryPoint(fn);
  }

private:
  ModelProgram(const ::circ::ModelConfig &config,
               const ModelProgramOptions &options);

  ::circ::ModelConfig cfg;
  ModelProgramOptions opts;
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<JITModule> jit;
  /// Per function, the parameter each result is the gradient of ("" for
  /// results that are not gradients).
  llvm::StringMap<std::vector<std::string>> resultGrads;
};

} // namespace mlir::circ

#endif // CIRC_TRAIN_MODELPROGRAM_H
