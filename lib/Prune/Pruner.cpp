//===- Pruner.cpp - the smallest circuit that solves a task -----*- C++ -*-===//

#include "circ/Prune/Pruner.h"

#include "Hash.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>

using namespace circ;
using namespace circ::prune;
using rt::Error;
using rt::Expected;

TaskModel::~TaskModel() = default;

Expected<std::vector<float>> prune::allMargins(TaskModel &model,
                                               const PromptSet &set,
                                               const Gates &gates) {
  const int64_t b = model.batch();
  std::vector<float> out(set.size());
  std::vector<float> chunk(b);
  for (int64_t first = 0; first < set.size(); first += b) {
    if (Error e = model.margins(set.rows(first, b), gates, chunk.data()))
      return e;
    int64_t n = std::min(b, set.size() - first);
    std::copy(chunk.begin(), chunk.begin() + n, out.begin() + first);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Losses and the logit fit
//===----------------------------------------------------------------------===//

/// log(1 + exp(−x)) without overflow.
static double softplusNeg(double x) {
  return std::max(-x, 0.0) + std::log1p(std::exp(-std::abs(x)));
}

static double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double prune::taskLoss(const std::vector<float> &margins,
                       const std::vector<int8_t> &side, const LogitFit &fit) {
  if (margins.empty())
    return 0.0;
  double sum = 0;
  for (size_t i = 0; i < margins.size(); ++i)
    sum += softplusNeg(fit.scale * margins[i] + side[i] * fit.shift);
  return sum / margins.size();
}

LogitFit prune::fitLogits(const std::vector<float> &margins,
                          const std::vector<int8_t> &side) {
  LogitFit fit;
  if (margins.empty())
    return fit;
  const double n = static_cast<double>(margins.size());
  double loss = taskLoss(margins, side, fit);
  // Sixteen Newton steps, as the paper's sixteen LBFGS steps.
  for (int iter = 0; iter < 16; ++iter) {
    double ga = 0, gc = 0, haa = 0, hac = 0, hcc = 0;
    for (size_t i = 0; i < margins.size(); ++i) {
      double m = margins[i], s = side[i];
      double z = fit.scale * m + s * fit.shift;
      double p = sigmoid(-z); // −d softplus(−z)/dz
      double w = p * (1 - p);
      ga -= p * m;
      gc -= p * s;
      haa += w * m * m;
      hac += w * m * s;
      hcc += w;
    }
    ga /= n, gc /= n, haa /= n, hac /= n, hcc /= n;
    // A small ridge keeps the 2x2 system solvable when margins agree.
    haa += 1e-9, hcc += 1e-9;
    double det = haa * hcc - hac * hac;
    if (!(det > 0))
      break;
    double da = -(hcc * ga - hac * gc) / det;
    double dc = -(haa * gc - hac * ga) / det;
    bool improved = false;
    for (double t = 1.0; t > 1e-4; t *= 0.5) {
      LogitFit next{std::max(0.0, fit.scale + t * da), fit.shift + t * dc};
      double l = taskLoss(margins, side, next);
      if (l < loss) {
        fit = next;
        loss = l;
        improved = true;
        break;
      }
    }
    if (!improved)
      break;
  }
  return fit;
}

//===----------------------------------------------------------------------===//
// Bisection
//===----------------------------------------------------------------------===//

Expected<Bisection> prune::bisectKeptNodes(
    int64_t n, double target,
    const std::function<Expected<double>(int64_t)> &lossAt) {
  std::map<int64_t, double> seen;
  auto eval = [&](int64_t k) -> Expected<double> {
    auto it = seen.find(k);
    if (it != seen.end())
      return it->second;
    Expected<double> l = lossAt(k);
    if (l)
      seen[k] = *l;
    return l;
  };
  auto finish = [&](Bisection b) {
    for (auto [k, l] : seen)
      b.curve.push_back({k, l});
    return b;
  };
  Bisection result;
  Expected<double> full = eval(n);
  if (!full)
    return full.takeError();
  if (!(*full <= target)) {
    result.kept = n;
    result.loss = *full;
    return finish(result);
  }
  result.reached = true;
  Expected<double> none = eval(0);
  if (!none)
    return none.takeError();
  if (*none <= target) {
    result.kept = 0;
    result.loss = *none;
    return finish(result);
  }
  // Invariant: loss(lo) > target ≥ loss(hi).
  int64_t lo = 0, hi = n;
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    Expected<double> l = eval(mid);
    if (!l)
      return l.takeError();
    (*l <= target ? hi : lo) = mid;
  }
  result.kept = hi;
  result.loss = seen[hi];
  return finish(result);
}

//===----------------------------------------------------------------------===//
// Pruning
//===----------------------------------------------------------------------===//

Expected<double> prune::circuitLoss(TaskModel &model, const NodeSpace &space,
                                    const std::vector<float> &ablation,
                                    const std::vector<char> &keep,
                                    const PromptSet &eval,
                                    const LogitFit &fit) {
  Expected<std::vector<float>> m =
      allMargins(model, eval, circuitGates(space, ablation, keep));
  if (!m)
    return m.takeError();
  return taskLoss(*m, eval.side, fit);
}

namespace {

/// The derivative the step function's surrogate uses (temperature 1).
double surrogate(double tau) {
  double s = sigmoid(tau);
  return s * (1 - s);
}

/// A standard normal number from two hashes (Box-Muller).
double normalFrom(uint64_t a, uint64_t b) {
  double u = 1.0 - hashUnit(a), v = hashUnit(b);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
}

/// Pair indices in seeded epochs: a fresh permutation per pass.
class PairSampler {
public:
  PairSampler(int64_t pairs, uint64_t seed) : pairs(pairs), seed(seed) {}
  int64_t next() {
    if (pos == order.size()) {
      order.resize(pairs);
      std::iota(order.begin(), order.end(), 0);
      for (int64_t i = pairs - 1; i > 0; --i) {
        uint64_t h = hashMix(seed ^ hashMix(epoch * 0x10001ull + i));
        std::swap(order[i], order[h % (i + 1)]);
      }
      ++epoch;
      pos = 0;
    }
    return order[pos++];
  }

private:
  int64_t pairs;
  uint64_t seed, epoch = 0;
  std::vector<int64_t> order;
  size_t pos = 0;
};

struct Trial {
  double lr, kCoef;
};

Trial trialSettings(const PruneOptions &o, int64_t trial) {
  if (trial == 0)
    return {o.lr, o.kCoef};
  uint64_t h = hashMix(o.seed ^ hashMix(0x7472696131ull + trial));
  double u = hashUnit(h), v = hashUnit(hashMix(h));
  return {o.lr * std::pow(10.0, u - 0.5), o.kCoef * std::pow(10.0, 2 * v - 1)};
}

/// One run of the mask optimisation and its discretisation.
Expected<PruneResult> runTrial(TaskModel &model, const NodeSpace &space,
                               const std::vector<float> &ablation,
                               const PromptSet &train, const PromptSet &eval,
                               const PruneOptions &o, int64_t trial,
                               double fullLoss) {
  const Trial settings = trialSettings(o, trial);
  const int64_t n = space.size();
  const int64_t rowsPerStep = model.batch();
  std::vector<int64_t> prunable;
  for (int64_t i = 0; i < n; ++i)
    if (space.prunable(i))
      prunable.push_back(i);

  PruneResult r;
  r.trial = trial;
  r.lr = settings.lr;
  r.kCoef = settings.kCoef;
  Gates gates{std::vector<float>(n, 1.0f), ablation};
  uint64_t noiseSeed = hashMix(o.seed ^ hashMix(0x746175ull + trial));
  for (int64_t i : prunable)
    gates.tau[i] = static_cast<float>(
        o.initTau + o.initNoise * normalFrom(hashMix(noiseSeed ^ (2 * i)),
                                             hashMix(noiseSeed ^ (2 * i + 1))));

  std::vector<double> m(n, 0.0), v(n, 0.0);
  std::vector<float> grad;
  std::vector<double> g(n, 0.0);
  PairSampler sampler(train.size() / 2, hashMix(o.seed + trial));
  PromptSet batch;
  for (int64_t step = 0; step < o.steps; ++step) {
    batch = PromptSet();
    batch.seqLen = train.seqLen;
    while (batch.size() < rowsPerStep) {
      int64_t p = sampler.next();
      batch.append(train.rows(2 * p, std::min<int64_t>(
                                         2, rowsPerStep - batch.size())));
    }
    Expected<double> loss = model.lossAndTauGrad(batch, gates, grad);
    if (!loss)
      return loss.takeError();
    if (!std::isfinite(*loss))
      return Error::failure("the task loss became " + std::to_string(*loss) +
                            " at pruning step " + std::to_string(step));
    r.stepLoss.push_back(*loss);

    double norm2 = 0;
    for (int64_t i : prunable) {
      g[i] = grad[i] + settings.kCoef * surrogate(gates.tau[i]);
      norm2 += g[i] * g[i];
    }
    double clip = std::sqrt(norm2) > o.gradClip ? o.gradClip / std::sqrt(norm2)
                                                : 1.0;
    const double t = static_cast<double>(step + 1);
    const double lr = settings.lr * (1.0 - static_cast<double>(step) / o.steps);
    const double c1 = 1.0 - std::pow(o.beta1, t), c2 = 1.0 - std::pow(o.beta2, t);
    int64_t kept = 0;
    for (int64_t i : prunable) {
      double gi = g[i] * clip;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
      double tau = gates.tau[i];
      tau -= lr * ((m[i] / c1) / (std::sqrt(v[i] / c2) + o.eps) +
                   o.weightDecay * tau);
      gates.tau[i] = static_cast<float>(std::clamp(tau, -1.0, 1.0));
      kept += gates.tau[i] >= 0;
    }
    if (o.progress)
      o.progress({trial, o.searchTrials, step + 1, o.steps, *loss, kept});
  }

  r.tau = gates.tau;
  r.ranking = prunable;
  // Highest τ first; ties in node order.
  std::sort(r.ranking.begin(), r.ranking.end(), [&](int64_t a, int64_t b) {
    return r.tau[a] != r.tau[b] ? r.tau[a] > r.tau[b] : a < b;
  });
  auto keepTop = [&](int64_t k) {
    std::vector<char> keep(n, 0);
    for (int64_t i = 0; i < k; ++i)
      keep[r.ranking[i]] = 1;
    return keep;
  };
  // Loss of the top-k circuit, with its own logit fit when asked.
  auto measure = [&](const std::vector<char> &keep,
                     LogitFit &fit) -> Expected<double> {
    Expected<std::vector<float>> margins =
        allMargins(model, eval, circuitGates(space, ablation, keep));
    if (!margins)
      return margins.takeError();
    fit = o.logitScaling ? fitLogits(*margins, eval.side) : LogitFit();
    return taskLoss(*margins, eval.side, fit);
  };

  r.fullLoss = fullLoss;
  if (o.bisect) {
    Expected<Bisection> b = bisectKeptNodes(
        static_cast<int64_t>(prunable.size()), o.targetLoss,
        [&](int64_t k) {
          LogitFit fit;
          return measure(keepTop(k), fit);
        });
    if (!b)
      return b.takeError();
    r.keptNodes = b->kept;
    r.curve = std::move(b->curve);
  } else {
    r.keptNodes = 0;
    for (int64_t i : prunable)
      r.keptNodes += r.tau[i] >= 0;
  }
  r.keep = keepTop(r.keptNodes);
  Expected<double> loss = measure(r.keep, r.fit);
  if (!loss)
    return loss.takeError();
  r.loss = *loss;
  r.reachedTarget = r.loss <= o.targetLoss;
  if (!o.bisect)
    r.curve.push_back({r.keptNodes, r.loss});
  return r;
}

} // namespace

Expected<PruneResult> prune::pruneTask(TaskModel &model, const NodeSpace &space,
                                       const std::vector<float> &ablation,
                                       const PromptSet &train,
                                       const PromptSet &eval,
                                       const PruneOptions &options) {
  if (model.batch() < 2 || model.batch() % 2)
    return Error::failure("pruning needs an even number of rows per batch "
                          "(whole pairs); the model takes " +
                          std::to_string(model.batch()));
  if (train.size() < 2 || eval.size() == 0)
    return Error::failure("pruning needs training pairs and held-out rows");
  if (static_cast<int64_t>(ablation.size()) != space.size())
    return Error::failure("the ablation values do not match the model's " +
                          std::to_string(space.size()) + " nodes");
  if (options.steps < 1 || options.searchTrials < 1)
    return Error::failure("pruning needs at least one step and one trial");

  Expected<std::vector<float>> full =
      allMargins(model, eval, fullModelGates(space, ablation));
  if (!full)
    return full.takeError();
  const double fullLoss = taskLoss(*full, eval.side);

  std::optional<PruneResult> best;
  for (int64_t trial = 0; trial < options.searchTrials; ++trial) {
    Expected<PruneResult> r =
        runTrial(model, space, ablation, train, eval, options, trial, fullLoss);
    if (!r)
      return r.takeError();
    bool better =
        !best ||
        (r->reachedTarget && !best->reachedTarget) ||
        (r->reachedTarget == best->reachedTarget &&
         (r->reachedTarget ? r->keptNodes < best->keptNodes ||
                                 (r->keptNodes == best->keptNodes &&
                                  r->loss < best->loss)
                           : r->loss < best->loss));
    if (better)
      best = std::move(*r);
  }
  return std::move(*best);
}
