//===- Optimizer.h - the weight-sparse training step (§2.2) -----*- C++ -*-===//
//
// One call to Optimizer::step() turns the gradients in a ParamStore into the
// next weights, in exactly the paper's order:
//   1. rms = ||g||_2 / sqrt(#entries) over every trainable parameter;
//   2. g <- g / (rms + 1e-5)                  (always, not only when rms > 1);
//   3. Adam, beta (0.9, 0.95), eps 0.1, bias-corrected as torch.optim.Adam:
//        m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
//        p <- p - (lr_t / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps);
//   4. top-k projection of every sparse parameter to its budget at step t,
//      with the min-per-unit rule (TopK.h); the sparse index is rebuilt;
//   5. weight decay p <- p - wd * lr_t * p on ParamSpec::decays() parameters
//      (every 2-D parameter but the bigram table).
// For sparse parameters, steps 3-5 are fused per row block (Adam updates a
// block right before the projection's first pass reads it; the projection's
// write pass applies the decay) and pipelined across parameters
// (projectBatch). Fusion changes no result: decay scales a matrix uniformly,
// so it commutes with the projection.
//
// Every result is independent of the thread count: reductions use fixed
// blocks summed in order, selection uses a total order.
//
// Departure from the paper, off by default: `sparseGradients`. See
// docs/training.md and OptimizerConfig::sparseGradients.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_OPTIMIZER_H
#define CIRC_RUNTIME_OPTIMIZER_H

#include "circ_runtime/Error.h"
#include "circ_runtime/ModelConfig.h"
#include "circ_runtime/Schedule.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace circ::rt {

class ParamStore;
class ThreadPool;
class TopKProjector;

struct OptimizerConfig {
  Schedule schedule;
  double beta1 = 0.9, beta2 = 0.95, eps = 0.1;
  double weightDecay = 0.1;
  /// Added to the gradient RMS before dividing by it.
  double gradRmsEps = 1e-5;
  /// Minimum nonzeros per neuron / channel (paper: 4).
  int64_t minPerUnit = 4;
  /// NOT THE PAPER: gradients are read (and Adam moments kept) only at the
  /// current nonzeros of each sparse parameter, so the backward pass may skip
  /// the dense weight gradient. Every `regrowEvery` steps (steps t with
  /// t % regrowEvery == 0, the first included) the step reads the full dense
  /// gradient, runs dense Adam everywhere (moments of pruned entries start
  /// from zero) and lets the projection pick new entries. Moments of entries
  /// a projection drops are reset to zero.
  bool sparseGradients = false;
  int64_t regrowEvery = 100;
  /// Keep the positional table (wpe) at its initial value: no update, no
  /// projection, no decay, not part of the gradient RMS.
  bool freezePositionalTable = false;

  /// Paper defaults for `model` trained for `steps` at peak LR `lr`: the
  /// model's final densities and min-per-unit rule.
  static OptimizerConfig forModel(const ModelConfig &model, int64_t steps,
                                  double lr);
  std::vector<std::string> validate() const;
};

/// What a step did, for logs and tests.
struct StepReport {
  int64_t step = 0;     ///< 0-based index of the step just taken
  double lr = 0.0;      ///< lr_t used (base schedule x sharkfin)
  double gradRms = 0.0; ///< RMS before normalisation
  double weightDensity = 1.0, embedDensity = 1.0;
  bool denseGradients = true; ///< whether the full gradient was read
  int64_t nonzeros = 0;       ///< sparse parameters' nonzeros after the step
  int64_t exactFallbacks = 0; ///< projections whose sample bounds missed
};

class Optimizer {
public:
  /// Fails if the config does not validate. `pool` defaults to
  /// ThreadPool::global(); store and pool must outlive the optimizer.
  static Expected<std::unique_ptr<Optimizer>>
  create(ParamStore &store, OptimizerConfig config, ThreadPool *pool = nullptr);
  ~Optimizer();

  /// Whether the next step() reads every gradient entry. False only in
  /// sparse-gradient mode between regrowth steps; then the caller need only
  /// fill, for each sparse parameter, the entries in its sparse index (dense
  /// parameters always need their full gradient).
  bool needsDenseGradients() const;

  /// Applies one step to the store from its gradients (left unmodified).
  /// Fails only when memory runs out (the store is then inconsistent).
  Expected<StepReport> step();

  /// Steps taken so far (Adam's t - 1); settable to resume from a checkpoint
  /// whose moments are loaded into the store.
  int64_t stepsTaken() const { return steps; }
  void setStepsTaken(int64_t n) { steps = n; }

  const OptimizerConfig &config() const { return cfg; }
  /// Budget (kept entries) of parameter i at `step`.
  int64_t budgetAt(size_t i, int64_t step) const;
  /// Whether parameter i is updated at all.
  bool trains(size_t i) const;

private:
  Optimizer(ParamStore &store, OptimizerConfig config, ThreadPool &pool);
  StepReport stepImpl();
  double gradientRms(bool dense) const;

  ParamStore &store;
  OptimizerConfig cfg;
  ThreadPool &pool;
  int64_t steps = 0;
  std::vector<std::unique_ptr<TopKProjector>> projectors;
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_OPTIMIZER_H
