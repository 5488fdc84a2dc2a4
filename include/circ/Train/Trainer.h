//===- Trainer.h - train a weight-sparse model from a .circ spec -*- C++ -*-===//
//
// `circc train` in library form: corpus → tokenizer → token streams →
// compiled training step → the paper's optimizer and schedules, with metrics,
// holdout evaluation, atomic checkpoints and resumption.
//
// Reproducibility: the initial weights are a function of the seed; batches
// are a function of (seed, data position); every kernel and the optimizer
// reduce in a fixed order. So a run resumed from a checkpoint reaches the
// same losses, bit for bit, as the uninterrupted run with the same seed and
// thread count.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TRAIN_TRAINER_H
#define CIRC_TRAIN_TRAINER_H

#include "circ/Frontend/RunSpec.h"
#include "circ_runtime/Error.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace circ::train {

class Communicator;

/// Command-line overrides of the spec's train and data blocks.
struct TrainOverrides {
  std::optional<int64_t> steps;
  std::optional<std::string> out;    ///< run directory
  std::optional<std::string> corpus; ///< directory or glob
  std::optional<int64_t> threads;
  bool resume = false;
  /// Print the live progress line (on a terminal) / plain log lines.
  bool progress = true;
  /// Stop after this many steps, with a checkpoint, as if interrupted: the
  /// schedules still span all the steps, so `resume` continues the same run.
  std::optional<int64_t> stopAt;
  /// Data-parallel ranks (docs/distributed.md); null trains in this process
  /// alone. Every rank calls train() with the same spec and overrides.
  Communicator *comm = nullptr;
  /// Steps between the ranks' weight-checksum comparisons.
  int64_t checksumEvery = 10;
};

/// What a finished run reports.
struct TrainResult {
  int64_t steps = 0;
  double finalLoss = 0.0;       ///< mean training loss of the last log window
  double holdoutLoss = -1.0;    ///< last holdout evaluation, -1 if none
  double unigramEntropy = 0.0;  ///< of the training stream, nats/token
  double tokensPerSecond = 0.0; ///< training throughput of this process
  double weightDensity = 1.0;   ///< block matrices' density at the end
  int64_t nonzeros = 0;         ///< sparse parameters' nonzeros at the end
  std::string checkpoint;       ///< the final checkpoint
  std::string metrics;          ///< the JSONL metrics log
};

/// Trains the model of `spec` (which must have a train block). Messages go
/// to stderr; the result or the reason it failed is returned.
rt::Expected<TrainResult> train(const frontend::RunSpec &spec,
                                const TrainOverrides &overrides);

/// Substitutes `{step}` in a checkpoint path template.
std::string checkpointPathForStep(const std::string &pattern, int64_t step);

} // namespace circ::train

#endif // CIRC_TRAIN_TRAINER_H
