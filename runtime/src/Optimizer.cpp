//===- Optimizer.cpp - the weight-sparse training step (§2.2) ---*- C++ -*-===//
#include "circ_runtime/Optimizer.h"

#include "Simd.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/TopK.h"

#include <cmath>
#include <cstring>
#include <new>

// Adam is compiled for several ISAs (Simd.h) and must give the same bits on
// each: no fused multiply-adds.
#pragma STDC FP_CONTRACT OFF

namespace circ::rt {

// Reduction blocks: fixed, so sums do not depend on the thread count.
static constexpr int64_t kSumBlock = 1 << 14;
static constexpr int64_t kElemBlock = 1 << 15;

OptimizerConfig OptimizerConfig::forModel(const ModelConfig &model,
                                          int64_t steps, double lr) {
  OptimizerConfig c;
  c.schedule.totalSteps = steps;
  c.schedule.lr = lr;
  c.schedule.weightDensity = model.weightDensity;
  c.schedule.embedDensity = model.embedDensity;
  c.minPerUnit = model.minPerUnit;
  return c;
}

std::vector<std::string> OptimizerConfig::validate() const {
  std::vector<std::string> errors = schedule.validate();
  auto unitInterval = [&](double v, const char *name) {
    if (!(v >= 0.0 && v < 1.0))
      errors.push_back(std::string(name) + " must be in [0, 1), got " +
                       std::to_string(v));
  };
  unitInterval(beta1, "beta1");
  unitInterval(beta2, "beta2");
  if (!(eps > 0.0))
    errors.push_back("Adam eps must be positive, got " + std::to_string(eps));
  if (!(weightDecay >= 0.0))
    errors.push_back("weight decay must be >= 0, got " +
                     std::to_string(weightDecay));
  if (!(gradRmsEps > 0.0))
    errors.push_back("gradient RMS eps must be positive, got " +
                     std::to_string(gradRmsEps));
  if (minPerUnit < 0)
    errors.push_back("min_per_unit must be >= 0, got " +
                     std::to_string(minPerUnit));
  if (regrowEvery <= 0)
    errors.push_back("regrow_every must be positive, got " +
                     std::to_string(regrowEvery));
  return errors;
}

Expected<std::unique_ptr<Optimizer>>
Optimizer::create(ParamStore &store, OptimizerConfig config, ThreadPool *pool) {
  std::vector<std::string> errors = config.validate();
  if (!errors.empty()) {
    std::string msg = "invalid optimizer configuration:";
    for (const std::string &e : errors)
      msg += " " + e + ";";
    return Error::failure(msg);
  }
  try {
    return std::unique_ptr<Optimizer>(new Optimizer(
        store, std::move(config), pool ? *pool : ThreadPool::global()));
  } catch (const std::bad_alloc &) {
    return Error::failure("out of memory creating the optimizer");
  }
}

Optimizer::Optimizer(ParamStore &store, OptimizerConfig config,
                     ThreadPool &pool)
    : store(store), cfg(std::move(config)), pool(pool) {
  projectors.resize(store.size());
  for (size_t i = 0; i < store.size(); ++i)
    if (store.hasIndex(i) && trains(i)) {
      int64_t rows, cols;
      matrixShape(store.spec(i), rows, cols);
      projectors[i] = std::make_unique<TopKProjector>(
          rows, cols, store.spec(i).unitAxis, cfg.minPerUnit);
    }
}

Optimizer::~Optimizer() = default;

bool Optimizer::trains(size_t i) const {
  return !(cfg.freezePositionalTable &&
           store.spec(i).kind == ParamKind::PositionalTable);
}

bool Optimizer::needsDenseGradients() const {
  return !cfg.sparseGradients || steps % cfg.regrowEvery == 0;
}

int64_t Optimizer::budgetAt(size_t i, int64_t step) const {
  const ParamSpec &s = store.spec(i);
  if (!s.isSparse())
    return s.numel();
  bool embedding =
      s.kind == ParamKind::TokenEmbedding || s.kind == ParamKind::Unembedding;
  double density = embedding ? cfg.schedule.embedDensityAt(step)
                             : cfg.schedule.weightDensityAt(step);
  return l0Budget(s, density, cfg.minPerUnit);
}

/// Calls fn(flat) for the entries of sparse parameter i in its index, rows
/// [lo, hi).
template <typename Fn>
static void forIndexRows(const SparseIndex &idx, int64_t lo, int64_t hi,
                         Fn &&fn) {
  for (int32_t e = idx.rowPtr[lo]; e < idx.rowPtr[hi]; ++e)
    fn(static_cast<int64_t>(idx.flat[e]));
}

/// Sum of squares in double with eight interleaved partial sums (so the
/// loop vectorises), combined in a fixed order: the same bits every time.
static double sumSquares(const float *g, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t e = 0;
  for (; e + 8 <= n; e += 8)
    for (int j = 0; j < 8; ++j)
      acc[j] += static_cast<double>(g[e + j]) * g[e + j];
  for (; e < n; ++e)
    acc[0] += static_cast<double>(g[e]) * g[e];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
         ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double Optimizer::gradientRms(bool dense) const {
  // Per-block partial sums in double, added in block order.
  std::vector<double> partial;
  int64_t count = 0;
  double total = 0.0;
  for (size_t i = 0; i < store.size(); ++i) {
    if (!trains(i))
      continue;
    const float *g = store.grads(i);
    if (dense || !store.hasIndex(i)) {
      const int64_t n = store.numel(i);
      partial.assign((n + kSumBlock - 1) / kSumBlock, 0.0);
      parallelBlocks(pool, n, kSumBlock,
                     [&](int64_t b, int64_t lo, int64_t hi, unsigned) {
                       partial[b] = sumSquares(g + lo, hi - lo);
                     });
      count += n;
    } else {
      const SparseIndex &idx = *store.index(i);
      const int64_t rowBlock = std::max<int64_t>(1, kSumBlock / idx.cols);
      partial.assign((idx.rows + rowBlock - 1) / rowBlock, 0.0);
      parallelBlocks(pool, idx.rows, rowBlock,
                     [&](int64_t b, int64_t lo, int64_t hi, unsigned) {
                       double s = 0.0;
                       forIndexRows(idx, lo, hi, [&](int64_t e) {
                         s += static_cast<double>(g[e]) * g[e];
                       });
                       partial[b] = s;
                     });
      count += idx.nnz();
    }
    for (double s : partial)
      total += s;
  }
  return count == 0 ? 0.0 : std::sqrt(total / static_cast<double>(count));
}

namespace {
/// The per-entry Adam update with everything step-dependent precomputed.
struct AdamStep {
  float b1, oneMinusB1, b2, oneMinusB2, eps, stepSize, bc2Sqrt, gradDenom;

  /// Updated (p, m, v) of one entry; pure, so it can preview a value.
  inline void update(float &p, float &m, float &v, float gRaw) const {
    float g = gRaw / gradDenom;
    m = b1 * m + oneMinusB1 * g;
    v = b2 * v + oneMinusB2 * g * g;
    float denom = std::sqrt(v) / bc2Sqrt + eps;
    p = p - stepSize * (m / denom);
  }
  inline float preview(float p, float m, float v, float g) const {
    update(p, m, v, g);
    return p;
  }
  void range(float *p, float *m, float *v, const float *g, int64_t lo,
             int64_t hi) const;
};

/// AdamStep::update over [lo, hi), 16 lanes at a time. The same IEEE
/// operations in the same order as the scalar form (sqrt and division are
/// correctly rounded everywhere), so every version gives the same bits.
CIRC_KERNEL void adamRange(const AdamStep &a, float *p, float *m, float *v,
                           const float *g, int64_t lo, int64_t hi) {
  int64_t e = lo;
  for (; e + 16 <= hi; e += 16) {
    F32x16 pv, mv, vv, gv;
    std::memcpy(&pv, p + e, sizeof pv);
    std::memcpy(&mv, m + e, sizeof mv);
    std::memcpy(&vv, v + e, sizeof vv);
    std::memcpy(&gv, g + e, sizeof gv);
    F32x16 gn = gv / a.gradDenom;
    mv = a.b1 * mv + a.oneMinusB1 * gn;
    vv = a.b2 * vv + a.oneMinusB2 * gn * gn;
    F32x16 denom = __builtin_elementwise_sqrt(vv) / a.bc2Sqrt + a.eps;
    pv = pv - a.stepSize * (mv / denom);
    std::memcpy(p + e, &pv, sizeof pv);
    std::memcpy(m + e, &mv, sizeof mv);
    std::memcpy(v + e, &vv, sizeof vv);
  }
  for (; e < hi; ++e)
    a.update(p[e], m[e], v[e], g[e]);
}

void AdamStep::range(float *p, float *m, float *v, const float *g, int64_t lo,
                     int64_t hi) const {
  adamRange(*this, p, m, v, g, lo, hi);
}
} // namespace

Expected<StepReport> Optimizer::step() {
  try {
    return stepImpl();
  } catch (const std::bad_alloc &) {
    return Error::failure("out of memory in optimizer step " +
                          std::to_string(steps));
  }
}

StepReport Optimizer::stepImpl() {
  const int64_t t = steps;
  const bool dense = needsDenseGradients();
  const Schedule &sched = cfg.schedule;
  StepReport report;
  report.step = t;
  report.denseGradients = dense;
  report.lr = sched.lrAt(t);
  report.weightDensity = sched.weightDensityAt(t);
  report.embedDensity = sched.embedDensityAt(t);
  report.gradRms = gradientRms(dense);

  const double adamT = static_cast<double>(t + 1);
  AdamStep adam;
  adam.b1 = static_cast<float>(cfg.beta1);
  adam.oneMinusB1 = static_cast<float>(1.0 - cfg.beta1);
  adam.b2 = static_cast<float>(cfg.beta2);
  adam.oneMinusB2 = static_cast<float>(1.0 - cfg.beta2);
  adam.eps = static_cast<float>(cfg.eps);
  adam.stepSize =
      static_cast<float>(report.lr / (1.0 - std::pow(cfg.beta1, adamT)));
  adam.bc2Sqrt =
      static_cast<float>(std::sqrt(1.0 - std::pow(cfg.beta2, adamT)));
  adam.gradDenom = static_cast<float>(report.gradRms + cfg.gradRmsEps);
  const float decayFactor = static_cast<float>(cfg.weightDecay * report.lr);

  // Dense parameters: Adam, then decay (no projection in between).
  for (size_t i = 0; i < store.size(); ++i) {
    if (!trains(i) || projectors[i])
      continue;
    float *p = store.values(i), *m = store.adamM(i), *v = store.adamV(i);
    const float *g = store.grads(i);
    const float decay = store.spec(i).decays() ? decayFactor : 0.0f;
    parallelBlocks(pool, store.numel(i), kElemBlock,
                   [&](int64_t, int64_t lo, int64_t hi, unsigned) {
                     adam.range(p, m, v, g, lo, hi);
                     if (decay != 0.0f)
                       for (int64_t e = lo; e < hi; ++e)
                         p[e] = p[e] - decay * p[e];
                   });
  }

  // Sparse parameters: Adam, projection, decay, index, as one pipelined
  // batch. With dense gradients, Adam runs block by block right before the
  // projection reads the block, and the sample previews post-Adam values.
  std::vector<ProjectionJob> jobs;
  std::vector<size_t> sparse;
  for (size_t i = 0; i < store.size(); ++i) {
    if (!trains(i) || !projectors[i])
      continue;
    float *p = store.values(i), *m = store.adamM(i), *v = store.adamV(i);
    const float *g = store.grads(i);
    SparseIndex &idx = *store.mutableIndex(i);
    ProjectionJob job{projectors[i].get(),
                      p,
                      budgetAt(i, t),
                      store.spec(i).decays() ? decayFactor : 0.0f,
                      cfg.sparseGradients ? nullptr : &idx,
                      {},
                      {}};
    if (dense) {
      job.prepare = [=, &adam](int64_t lo, int64_t hi) {
        adam.range(p, m, v, g, lo, hi);
      };
      job.preview = [=, &adam](int64_t e) {
        return adam.preview(p[e], m[e], v[e], g[e]);
      };
    } else {
      // Sparse gradients: Adam on the current support only.
      const int64_t rowBlock = std::max<int64_t>(1, kElemBlock / idx.cols);
      parallelBlocks(pool, idx.rows, rowBlock,
                     [&](int64_t, int64_t lo, int64_t hi, unsigned) {
                       forIndexRows(idx, lo, hi, [&](int64_t e) {
                         adam.update(p[e], m[e], v[e], g[e]);
                       });
                     });
    }
    jobs.push_back(std::move(job));
    sparse.push_back(i);
  }
  projectBatch(jobs, pool);

  for (size_t j = 0; j < sparse.size(); ++j) {
    const size_t i = sparse[j];
    SparseIndex &idx = *store.mutableIndex(i);
    report.exactFallbacks += jobs[j].projector->usedFallback();
    if (cfg.sparseGradients) {
      // Dropped entries restart from zero moments when they regrow; the
      // index still holds the support before this step.
      float *p = store.values(i), *m = store.adamM(i), *v = store.adamV(i);
      if (dense) {
        parallelBlocks(pool, store.numel(i), kElemBlock,
                       [&](int64_t, int64_t lo, int64_t hi, unsigned) {
                         for (int64_t e = lo; e < hi; ++e)
                           if (p[e] == 0.0f)
                             m[e] = v[e] = 0.0f;
                       });
      } else {
        forIndexRows(idx, 0, idx.rows, [&](int64_t e) {
          if (p[e] == 0.0f)
            m[e] = v[e] = 0.0f;
        });
      }
      idx.assign(p, idx.rows, idx.cols, jobs[j].projector->finish(), pool);
    }
    report.nonzeros += idx.nnz();
  }
  ++steps;
  return report;
}

} // namespace circ::rt
