//===- Pruner.h - the smallest circuit that solves a task -------*- C++ -*-===//
//
// Paper §5: every node has a threshold τ (kept when τ ≥ 0, otherwise
// replaced by its ablation value). With the model frozen, AdamW minimises
//     task loss + k_coef · (number of kept nodes)
// over τ, the step function's derivative replaced by the sigmoid surrogate,
// τ clamped to [−1, 1]. Then the nodes are ranked by τ and the number kept
// is bisected, on fixed held-out rows, down to the smallest circuit whose
// task loss is at most the target; optionally a logit scale and shift is
// fitted at each size first (§5.4's "logit scaling").
//
// Losses are the mean per-prompt binary cross-entropy of the two candidate
// logits (half the paper's stored per-pair numbers).
//
// Plain C++ (no MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_PRUNER_H
#define CIRC_PRUNE_PRUNER_H

#include "circ/Circuits/Circuit.h"
#include "circ/Prune/Nodes.h"
#include "circ/Prune/TaskModel.h"
#include "circ/Prune/TaskPrompts.h"
#include "circ_runtime/Error.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace circ::prune {

//===----------------------------------------------------------------------===//
// Losses and the logit fit
//===----------------------------------------------------------------------===//

/// margin' = scale · margin + side · shift: a global scale of the logits and
/// a shift of logit(A) − logit(B), the two numbers a two-way softmax sees.
struct LogitFit {
  double scale = 1.0;
  double shift = 0.0;
};

/// Mean over rows of log(1 + exp(−margin')).
double taskLoss(const std::vector<float> &margins,
                const std::vector<int8_t> &side, const LogitFit &fit = {});

/// The scale ≥ 0 and shift minimising taskLoss (a convex problem in two
/// variables, solved by damped Newton steps; a flipped sign is not allowed,
/// so the fit only recalibrates and never inverts the circuit's answer).
LogitFit fitLogits(const std::vector<float> &margins,
                   const std::vector<int8_t> &side);

//===----------------------------------------------------------------------===//
// Bisection
//===----------------------------------------------------------------------===//

struct Bisection {
  bool reached = false; ///< loss(n) ≤ target, so `kept` is a circuit
  int64_t kept = 0;     ///< the smallest k found with loss(k) ≤ target
  double loss = 0;      ///< loss(kept)
  std::vector<circuits::CurvePoint> curve; ///< every evaluation, by k
};

/// Finds the smallest k in [0, n] with lossAt(k) ≤ target by bisection
/// between 0 and n (lossAt(n) is evaluated first; if it misses the target
/// there is no circuit and `kept` = n). Exact when lossAt is monotone.
rt::Expected<Bisection>
bisectKeptNodes(int64_t n, double target,
                const std::function<rt::Expected<double>(int64_t)> &lossAt);

//===----------------------------------------------------------------------===//
// Pruning
//===----------------------------------------------------------------------===//

struct PruneProgress {
  int64_t trial = 0, trials = 1;
  int64_t step = 0, steps = 0;
  double taskLoss = 0;   ///< of this step's batch
  int64_t keptNodes = 0; ///< prunable nodes with τ ≥ 0 after the step
};

struct PruneOptions {
  /// Per-prompt binary cross-entropy the circuit must reach.
  double targetLoss = 0.15;
  /// Objective = task loss + kCoef · (kept prunable nodes).
  double kCoef = 1e-4;
  int64_t steps = 2000;
  // AdamW on τ (paper Table 2 centres; eps as in the replication).
  double lr = 3e-3;
  double weightDecay = 1e-3;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  /// Clip the τ gradient's global L2 norm to this.
  double gradClip = 1.0;
  /// τ starts at initTau + initNoise · N(0, 1).
  double initTau = 0.1, initNoise = 0.01;
  uint64_t seed = 0;
  /// Bisect the kept-node count down to the target; otherwise the circuit is
  /// the nodes with τ ≥ 0 after the optimisation.
  bool bisect = true;
  /// Fit a logit scale and shift before measuring each circuit's loss.
  bool logitScaling = false;
  /// Random search: trial 0 uses (lr, kCoef); trials 1.. draw lr ×
  /// 10^U(−½, ½) and kCoef × 10^U(−1, 1). The smallest circuit that reaches
  /// the target wins (else the lowest loss).
  int64_t searchTrials = 1;
  /// Called after every optimisation step; may be empty.
  std::function<void(const PruneProgress &)> progress;
};

struct PruneResult {
  std::vector<float> tau;       ///< final thresholds of the chosen trial
  std::vector<int64_t> ranking; ///< prunable nodes, highest τ first
  std::vector<char> keep;       ///< per node: in the circuit
  int64_t keptNodes = 0;        ///< prunable nodes kept
  bool reachedTarget = false;
  double loss = 0;     ///< held-out loss of the circuit (after the fit)
  double fullLoss = 0; ///< held-out loss of the full model (no fit)
  LogitFit fit;        ///< identity unless logit scaling is on
  std::vector<circuits::CurvePoint> curve; ///< held-out loss vs kept nodes
  std::vector<double> stepLoss; ///< task loss of every optimisation step
  double lr = 0, kCoef = 0;     ///< of the chosen trial
  int64_t trial = 0;
};

/// Prunes `model` for the task whose training rows are `train` (pairs as
/// rows 2i, 2i+1; batches of model.batch() rows, drawn pair-wise in seeded
/// epochs) and whose fixed held-out rows are `eval`. `ablation` holds the
/// value each node takes when pruned (pretraining means, or zeros).
rt::Expected<PruneResult> pruneTask(TaskModel &model, const NodeSpace &space,
                                    const std::vector<float> &ablation,
                                    const PromptSet &train,
                                    const PromptSet &eval,
                                    const PruneOptions &options);

/// Held-out loss of the circuit `keep` (after `fit`).
rt::Expected<double> circuitLoss(TaskModel &model, const NodeSpace &space,
                                 const std::vector<float> &ablation,
                                 const std::vector<char> &keep,
                                 const PromptSet &eval,
                                 const LogitFit &fit = {});

} // namespace circ::prune

#endif // CIRC_PRUNE_PRUNER_H
