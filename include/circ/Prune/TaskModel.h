//===- TaskModel.h - what pruning needs from a model ------------*- C++ -*-===//
//
// Pruning (paper §5) needs three computations from a frozen model with a
// mask gate at every node: the task loss and its gradient with respect to
// the thresholds τ (for the mask optimisation), the logit margins of a batch
// of prompts (for evaluation, bisection and the logit fit), and every node's
// activations on token sequences (for the mean-ablation values and the
// report). TaskModel is that interface; CompiledTaskModel implements it with
// generated code, and tests implement it with the naive reference model.
//
// Plain C++ (no MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_TASKMODEL_H
#define CIRC_PRUNE_TASKMODEL_H

#include "circ/Prune/Nodes.h"
#include "circ/Prune/TaskPrompts.h"
#include "circ_runtime/Error.h"
#include "circ_runtime/ModelConfig.h"

#include <cstdint>
#include <vector>

namespace circ::prune {

class TaskModel {
public:
  virtual ~TaskModel();

  virtual const ModelConfig &config() const = 0;
  /// Rows per call of lossAndTauGrad and margins, and their sequence length.
  virtual int64_t batch() const = 0;
  virtual int64_t seqLen() const = 0;
  /// Sequences per call of activations, and their length.
  virtual int64_t activationBatch() const = 0;
  virtual int64_t activationSeqLen() const = 0;

  /// The mean contrast loss of the `batch()` rows of `rows` under `gates`,
  /// and its gradient with respect to every node's τ (surrogate
  /// σ(τ)(1 − σ(τ)) in place of the step's derivative), written to
  /// `tauGrad` (resized to the node count).
  virtual rt::Expected<double> lossAndTauGrad(const PromptSet &rows,
                                              const Gates &gates,
                                              std::vector<float> &tauGrad) = 0;

  /// logit(correct) − logit(wrong) at each row's position, for the
  /// `batch()` rows of `rows`, into `margins[0 .. batch())`.
  virtual rt::Error margins(const PromptSet &rows, const Gates &gates,
                            float *margins) = 0;

  /// Every node's output (after AbsTopK and the gate) on `tokens`
  /// ([activationBatch() x activationSeqLen()]): `out[g]` receives gate
  /// slice g's [batch, seq, width] values, resized as needed.
  virtual rt::Error activations(const int32_t *tokens, const Gates &gates,
                                std::vector<std::vector<float>> &out) = 0;
};

/// The margins of every row of `set`, in batches of model.batch().
rt::Expected<std::vector<float>> allMargins(TaskModel &model,
                                            const PromptSet &set,
                                            const Gates &gates);

} // namespace circ::prune

#endif // CIRC_PRUNE_TASKMODEL_H
