//===- Schedule.cpp - learning-rate and L0 schedules (paper §2.2) -*- C++
//-*-===//
#include "circ_runtime/Schedule.h"

#include <cmath>

namespace circ::rt {

int64_t Schedule::warmupSteps() const {
  return std::llround(warmupFraction * static_cast<double>(totalSteps));
}

double Schedule::baseLr(int64_t step) const {
  const int64_t w = warmupSteps();
  if (step < w)
    return lr * static_cast<double>(step + 1) / static_cast<double>(w);
  if (totalSteps <= w)
    return lr;
  return lr * static_cast<double>(totalSteps - step) /
         static_cast<double>(totalSteps - w);
}

double Schedule::densityAt(int64_t step, double finalDensity) const {
  double p = static_cast<double>(step) / static_cast<double>(totalSteps);
  if (p <= annealStart)
    return 1.0;
  if (p >= annealEnd)
    return finalDensity;
  double frac = (p - annealStart) / (annealEnd - annealStart);
  return 1.0 + (finalDensity - 1.0) * frac;
}

double Schedule::sharkfinFactor(int64_t step) const {
  if (!sharkfin)
    return 1.0;
  return std::sqrt(weightDensity / weightDensityAt(step));
}

double Schedule::lrAt(int64_t step) const {
  return baseLr(step) * sharkfinFactor(step);
}

std::vector<std::string> Schedule::validate() const {
  std::vector<std::string> errors;
  if (totalSteps <= 0)
    errors.push_back("steps must be positive, got " +
                     std::to_string(totalSteps));
  if (!(lr >= 0.0) || !std::isfinite(lr))
    errors.push_back("learning rate must be finite and >= 0, got " +
                     std::to_string(lr));
  if (!(warmupFraction >= 0.0 && warmupFraction <= 1.0))
    errors.push_back("warmup fraction must be in [0, 1], got " +
                     std::to_string(warmupFraction));
  if (!(annealStart >= 0.0 && annealStart <= annealEnd && annealEnd <= 1.0))
    errors.push_back("anneal window must satisfy 0 <= start <= end <= 1, got " +
                     std::to_string(annealStart) + ".." +
                     std::to_string(annealEnd));
  for (double d : {weightDensity, embedDensity})
    if (!(d > 0.0 && d <= 1.0))
      errors.push_back("final density must be in (0, 1], got " +
                       std::to_string(d));
  return errors;
}

} // namespace circ::rt
