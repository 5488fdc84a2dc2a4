//===- CompiledTaskModel.h - pruning on generated code ----------*- C++ -*-===//
//
// The TaskModel of a frozen model, run by CPU code generated from the circ
// dialect (like training): the builder's @task_loss with a mask gate at every
// node, differentiated by circ-differentiate with respect to the thresholds
// τ only (no weight gradients), its @forward for the logit margins, and
// @activations for the node outputs. The weights stay in the caller's
// ParamStore (swappable, e.g. for the random-initialisation control); τ and
// the ablation values live in a second store the model owns.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_COMPILEDTASKMODEL_H
#define CIRC_PRUNE_COMPILEDTASKMODEL_H

#include "circ/Prune/TaskModel.h"
#include "circ_runtime/ParamStore.h"

#include <memory>

namespace mlir::circ {
class ModelProgram;
} // namespace mlir::circ

namespace circ::prune {

struct CompiledTaskModelOptions {
  int64_t batch = 128; ///< task rows per call (even: whole pairs)
  int64_t seqLen = 0;  ///< 0 = the model's ctx
  /// Sequences per activations() call and their length (0 = ctx); a batch
  /// of 0 compiles no @activations.
  int64_t activationBatch = 8;
  int64_t activationSeqLen = 0;
  bool parallel = true;
};

class CompiledTaskModel final : public TaskModel {
public:
  /// Compiles the functions for `config`; `weights` (a store of
  /// modelParameters(config), sparse indices built) is bound at every call
  /// and must outlive the model or be replaced with setWeights().
  static rt::Expected<std::unique_ptr<CompiledTaskModel>>
  create(const ModelConfig &config, rt::ParamStore &weights,
         const CompiledTaskModelOptions &options);
  ~CompiledTaskModel() override;

  void setWeights(rt::ParamStore &store) { weights = &store; }
  /// Seconds spent compiling.
  double compileSeconds() const { return compileTime; }

  const ModelConfig &config() const override { return cfg; }
  int64_t batch() const override { return opts.batch; }
  int64_t seqLen() const override { return opts.seqLen; }
  int64_t activationBatch() const override { return opts.activationBatch; }
  int64_t activationSeqLen() const override { return opts.activationSeqLen; }

  rt::Expected<double> lossAndTauGrad(const PromptSet &rows,
                                      const Gates &gates,
                                      std::vector<float> &tauGrad) override;
  rt::Error margins(const PromptSet &rows, const Gates &gates,
                    float *margins) override;
  rt::Error activations(const int32_t *tokens, const Gates &gates,
                        std::vector<std::vector<float>> &out) override;

private:
  CompiledTaskModel(const ModelConfig &config,
                    const CompiledTaskModelOptions &options);
  rt::Error loadGates(const Gates &gates);
  rt::Error checkRows(const PromptSet &rows) const;

  ModelConfig cfg;
  CompiledTaskModelOptions opts;
  NodeSpace space;
  rt::ParamStore *weights = nullptr;
  std::unique_ptr<rt::ParamStore> gateStore;
  /// Index in gateStore of each gate slice's τ and mean.
  std::vector<size_t> tauIndex, meanIndex;
  std::unique_ptr<mlir::circ::ModelProgram> task, acts;
  std::vector<float> logits;
  double compileTime = 0;
};

} // namespace circ::prune

#endif // CIRC_PRUNE_COMPILEDTASKMODEL_H
