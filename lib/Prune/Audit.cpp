//===- Audit.cpp - is the circuit faithful? ---------------------*- C++ -*-===//

#include "circ/Prune/Audit.h"

#include <cmath>
#include <cstdio>

using namespace circ;
using namespace circ::prune;

namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string sizeText(int64_t nodes, int64_t edges) {
  return std::to_string(nodes) + " nodes, " + std::to_string(edges) +
         " edges";
}

/// A control pruning's circuit size, or that it found none at the target.
std::string outcomeText(const ControlPruning &r) {
  return r.reachedTarget ? sizeText(r.nodes, r.edges) : "target not reached";
}

circuits::AuditRow row(std::string check, std::string description,
                       double value, std::optional<double> reference,
                       std::string verdict) {
  circuits::AuditRow r;
  r.check = std::move(check);
  r.description = std::move(description);
  r.value = value;
  r.reference = reference;
  r.verdict = std::move(verdict);
  return r;
}

} // namespace

std::vector<circuits::AuditRow> prune::auditRows(const AuditMeasurements &m) {
  const double chance = std::log(2.0);
  const std::string other = m.ablation == "mean" ? "zero" : "mean";
  // Checks of a circuit that is not one (it misses the target) say so
  // instead of passing or failing.
  const bool isCircuit = m.circuitLoss <= m.targetLoss;
  auto judge = [&](bool pass, const std::string &failure) {
    if (!isCircuit)
      return std::string("n/a: no circuit reaches the target");
    return pass ? std::string("pass") : "fail: " + failure;
  };
  std::vector<circuits::AuditRow> rows;

  rows.push_back(row(
      "sufficiency",
      "task loss of the circuit alone (every other node " + m.ablation +
          "-ablated) on held-out pairs; reference: the target loss",
      m.circuitLoss, m.targetLoss,
      m.circuitLoss <= m.targetLoss ? "pass" : "fail: above the target"));

  if (m.necessityLoss)
    rows.push_back(row(
        "necessity",
        "task loss of the full model with the circuit's nodes " + m.ablation +
            "-ablated (full model: " + fmt(m.fullLoss) +
            "); reference: chance, ln 2",
        *m.necessityLoss, chance,
        judge(*m.necessityLoss > m.targetLoss,
              "the rest of the model still solves the task")));

  if (m.randomInit) {
    const ControlPruning &r = *m.randomInit;
    rows.push_back(row(
        "random_init",
        "task loss reached by the same pruning on a randomly initialised "
        "model of the same shape and sparsity (" +
            outcomeText(r) + "; unpruned: " + fmt(r.fullLoss) +
            "); reference: the target",
        r.loss, m.targetLoss,
        r.reachedTarget
            ? "fail: masks alone solve the task on random weights"
            : "pass"));
  }

  if (m.nonsense) {
    const ControlPruning &r = *m.nonsense;
    std::string train =
        r.trainLoss ? "; on its training pairs: " + fmt(*r.trainLoss)
                    : std::string();
    rows.push_back(row(
        "nonsense_task",
        "held-out task loss reached by the same pruning when each pair's "
        "labels are swapped at random (" +
            outcomeText(r) + train + "); reference: the target",
        r.loss, m.targetLoss,
        r.reachedTarget ? "fail: pruning fits labels that carry no task"
                        : "pass"));
  }

  if (m.otherAblation) {
    const ControlPruning &r = *m.otherAblation;
    std::string verdict;
    if (!r.reachedTarget)
      verdict = other + " ablation does not reach the target";
    else if (m.circuitEdges > 0)
      verdict = other + "/" + m.ablation + " edge ratio " +
                fmt(static_cast<double>(r.edges) / m.circuitEdges);
    else
      verdict = other + " ablation: " + sizeText(r.nodes, r.edges);
    rows.push_back(row(
        "zero_vs_mean",
        "circuit size in edges when pruning with " + other +
            " ablation instead (" + sizeText(r.nodes, r.edges) +
            ", loss " + fmt(r.loss) + "); reference: this circuit's edges",
        static_cast<double>(r.edges), static_cast<double>(m.circuitEdges),
        verdict));
  }
  if (m.circuitUnderOtherAblation)
    rows.push_back(row(
        "zero_vs_mean_loss",
        "task loss of this circuit when the pruned nodes are " + other +
            "-ablated instead; reference: the target",
        *m.circuitUnderOtherAblation, m.targetLoss,
        judge(*m.circuitUnderOtherAblation <= m.targetLoss,
              "the circuit depends on the ablation values")));

  if (m.offDistributionLoss) {
    double full = m.offDistributionFullLoss.value_or(0.0);
    bool ok = *m.offDistributionLoss <= std::max(m.targetLoss, full);
    rows.push_back(row(
        "off_distribution",
        "task loss of the circuit on held-out pairs placed after unrelated "
        "code, which pruning never saw; reference: the full model there",
        *m.offDistributionLoss, m.offDistributionFullLoss,
        judge(ok, "the circuit generalises worse than the model")));
  }
  return rows;
}
