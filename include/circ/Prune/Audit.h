//===- Audit.h - is the circuit faithful? -----------------------*- C++ -*-===//
//
// The paper (§7) defines a circuit by sufficiency: everything else ablated,
// it reaches the target loss. The replication (§10) showed that this alone
// can mislead: masks reach low loss on random weights and on nonsense tasks,
// zero and mean ablation give very different circuits, and pruned circuits
// can generalise differently from the model. The audit measures each of
// these next to the circuit; auditRows turns the measurements into the rows
// of circuit.json and the report (docs/pruning.md explains every row).
//
// Plain C++ (no MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_AUDIT_H
#define CIRC_PRUNE_AUDIT_H

#include "circ/Circuits/Circuit.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace circ::prune {

/// The outcome of one control pruning.
struct ControlPruning {
  bool reachedTarget = false;
  int64_t nodes = 0;  ///< kept nodes (all prunable ones when not reached)
  int64_t edges = 0;  ///< block edges of that circuit
  double loss = 0;    ///< held-out loss of that circuit
  double fullLoss = 0; ///< held-out loss of the unpruned model it started from
  /// Loss of that circuit on the rows it was optimised on, when measured.
  std::optional<double> trainLoss;
};

struct AuditMeasurements {
  double targetLoss = 0.15;
  std::string ablation = "mean"; ///< the circuit's ablation
  // The circuit itself.
  double circuitLoss = 0;
  double fullLoss = 0;
  int64_t circuitNodes = 0;
  int64_t circuitEdges = 0;
  /// The full model with the circuit's nodes ablated.
  std::optional<double> necessityLoss;
  /// The same pruning on a randomly initialised model of the same config.
  std::optional<ControlPruning> randomInit;
  /// The same pruning for labels that ignore the task's contrast.
  std::optional<ControlPruning> nonsense;
  /// Pruning with the other ablation (zero for mean, mean for zero), and
  /// this circuit evaluated under that other ablation.
  std::optional<ControlPruning> otherAblation;
  std::optional<double> circuitUnderOtherAblation;
  /// This circuit and the full model on the task's prompts placed after
  /// unrelated code (a distribution the pruning never saw).
  std::optional<double> offDistributionLoss;
  std::optional<double> offDistributionFullLoss;
};

/// Audit rows in a fixed order: sufficiency, necessity, random_init,
/// nonsense_task, zero_vs_mean, zero_vs_mean_loss, off_distribution (rows
/// whose measurement is absent are left out).
std::vector<circuits::AuditRow> auditRows(const AuditMeasurements &m);

} // namespace circ::prune

#endif // CIRC_PRUNE_AUDIT_H
