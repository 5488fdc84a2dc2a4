//===- PruneRun.h - `circc prune` as a library -----------------*- C++ -*-===//
//
// For each task of a .circ file's prune block: tokenise its pairs with the
// checkpoint's tokenizer, prune the frozen model on generated code (paper
// §5), audit the circuit (§7, §10), and write circuit.json, circuit.dot and
// report.html into <out>/<task>/; then <out>/index.json and index.html list
// the tasks with the geometric mean of their circuit sizes (§6).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_PRUNERUN_H
#define CIRC_PRUNE_PRUNERUN_H

#include "circ/Circuits/Circuit.h"
#include "circ/Frontend/RunSpec.h"
#include "circ_runtime/Checkpoint.h"
#include "circ_runtime/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace circ::train {
class Communicator;
} // namespace circ::train

namespace circ::prune {

/// Command-line overrides of the prune block.
struct PruneOverrides {
  std::vector<std::string> tasks; ///< empty: the block's tasks
  std::optional<std::string> out;
  std::optional<std::string> corpus; ///< directory or glob of pretraining text
  std::optional<int64_t> steps;
  std::optional<int64_t> batch; ///< task pairs per mask-optimisation step
  std::optional<int64_t> threads;
  bool audit = true;
  /// Mask-optimisation steps of the audit's control prunings (default: the
  /// pruning's own).
  std::optional<int64_t> auditSteps;
  bool logitScaling = false;
  bool progress = true;
  /// Pairs per task: training pool and held-out rows of the bisection.
  size_t trainPairs = 512, testPairs = 64;
  /// Pretraining windows (of ctx tokens) the node means average over.
  int64_t meanSequences = 64;
  /// Ranks sharing the suite (DistributedPrune.h); null: this process alone.
  train::Communicator *comm = nullptr;
};

struct TaskOutcome {
  std::string task;
  bool pruned = false;
  std::string skipped; ///< why the task was not pruned
  bool reachedTarget = false;
  int64_t nodes = 0, edges = 0;
  double loss = 0, fullLoss = 0;
  std::vector<circuits::AuditRow> audit;
  std::string dir;    ///< <out>/<task>
  double seconds = 0; ///< pruning, audit and report of this task
};

struct PruneSummary {
  std::string model, checkpoint, out;
  std::vector<TaskOutcome> tasks;
  /// Geometric mean of the edge counts of the circuits that reached the
  /// target (paper §6); NaN when none did.
  double geometricMeanEdges = 0;
  std::string index; ///< <out>/index.html
  double compileSeconds = 0, meansSeconds = 0, seconds = 0;
  bool meansFromCache = false;
};

/// Prunes `spec.prune`'s tasks (or `overrides.tasks`, each known to
/// spec.findTask) in `checkpoint`, which must hold spec.model's shape.
/// A task the tokenizer cannot express is skipped with the reason; every
/// other problem is an error.
rt::Expected<PruneSummary> runPrune(const frontend::RunSpec &spec,
                                    const rt::Checkpoint &checkpoint,
                                    const PruneOverrides &overrides);

/// index.json and index.html of a summary (written by runPrune).
std::string indexJson(const PruneSummary &summary);
std::string indexHtml(const PruneSummary &summary);

} // namespace circ::prune

#endif // CIRC_PRUNE_PRUNERUN_H
