//===- Schedule.h - learning-rate and L0 schedules (paper §2.2) -*- C++ -*-===//
//
// Everything that varies over training as a function of the 0-based step t
// of S total steps (progress p = t / S):
//   base LR    lr * (t + 1) / W during the W = round(warmupFraction * S)
//              warmup steps, then lr * (S - t) / (S - W): linear to 0 at S;
//   density    1 for p <= annealStart, `final` for p >= annealEnd, linear in
//              p in between; block matrices (and wpe) anneal to
//              weightDensity, wte and lm_head to embedDensity over the same
//              window (see docs/training.md for why);
//   sharkfin   sqrt(weightDensity / weightDensity_t), multiplied into the LR
//              when enabled, so the LR grows as the matrices thin out.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_SCHEDULE_H
#define CIRC_RUNTIME_SCHEDULE_H

#include <cstdint>
#include <string>
#include <vector>

namespace circ::rt {

struct Schedule {
  int64_t totalSteps = 1;
  double lr = 1.28e-2;
  double warmupFraction = 0.01;
  double annealStart = 0.01, annealEnd = 0.5;
  /// Final nonzero fractions (1 = dense, no anneal).
  double weightDensity = 1.0, embedDensity = 1.0;
  bool sharkfin = true;

  int64_t warmupSteps() const;
  double baseLr(int64_t step) const;
  /// Nonzero fraction at `step` for a parameter annealing to `finalDensity`.
  double densityAt(int64_t step, double finalDensity) const;
  double weightDensityAt(int64_t step) const {
    return densityAt(step, weightDensity);
  }
  double embedDensityAt(int64_t step) const {
    return densityAt(step, embedDensity);
  }
  double sharkfinFactor(int64_t step) const;
  /// baseLr(step) * sharkfinFactor(step).
  double lrAt(int64_t step) const;
  /// Human-readable problems; empty when valid.
  std::vector<std::string> validate() const;
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_SCHEDULE_H
