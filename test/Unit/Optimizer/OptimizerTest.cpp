//===- OptimizerTest.cpp - the training step against hand computations ----===//
#include "circ_runtime/Optimizer.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/Random.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/TopK.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace circ;
using namespace circ::rt;

namespace {

ParamSpec spec(std::string name, std::vector<int64_t> shape, ParamKind kind,
               UnitAxis axis = UnitAxis::None) {
  ParamSpec s;
  s.name = std::move(name);
  s.shape = std::move(shape);
  s.kind = kind;
  s.unitAxis = axis;
  return s;
}

std::unique_ptr<ParamStore> makeStore(std::vector<ParamSpec> specs) {
  auto s = ParamStore::create(std::move(specs));
  EXPECT_TRUE(bool(s)) << (s ? "" : s.message());
  return std::move(*s);
}

std::unique_ptr<Optimizer> makeOptimizer(ParamStore &store, OptimizerConfig c,
                                         ThreadPool *pool = nullptr) {
  auto o = Optimizer::create(store, std::move(c), pool);
  EXPECT_TRUE(bool(o)) << (o ? "" : o.message());
  return std::move(*o);
}

ModelConfig smallModel() {
  ModelConfig m;
  m.nLayer = 2;
  m.dModel = 32;
  m.dHead = 8;
  m.dMlp = 64;
  m.ctx = 16;
  m.vocab = 96;
  m.attentionSink = true;
  m.positionalTable = true;
  return m;
}

/// Deterministic pseudo-random gradients for step `t`.
void fillGrads(ParamStore &s, int64_t t, float scale = 1.0f) {
  for (size_t i = 0; i < s.size(); ++i) {
    float *g = s.grads(i);
    uint64_t stream = streamOf(s.spec(i).name) ^ static_cast<uint64_t>(t);
    for (int64_t e = 0; e < s.numel(i); ++e)
      g[e] = scale * static_cast<float>(normalAt(99, stream, e));
  }
}

// Tests one Adam coordinate over two steps against the update written out by
// hand (torch.optim.Adam with bias correction; the gradient is first divided
// by its RMS + 1e-5, which for a single entry is |g| + 1e-5).
TEST(Optimizer, AdamScalarByHand) {
  auto store = makeStore({spec("b", {1}, ParamKind::Bias)});
  store->values(0)[0] = 0.5f;
  OptimizerConfig c;
  c.schedule.totalSteps = 100;
  c.schedule.lr = 0.01;
  c.schedule.warmupFraction = 0.0;
  auto opt = makeOptimizer(*store, c);

  store->grads(0)[0] = 3.0f;
  auto r0 = opt->step();
  ASSERT_TRUE(bool(r0));
  EXPECT_DOUBLE_EQ(r0->gradRms, 3.0);
  EXPECT_DOUBLE_EQ(r0->lr, 0.01); // lr * (100 - 0) / 100
  // g' = 3 / 3.00001 ~ 1; m_hat = g', v_hat = g'^2;
  // p1 = 0.5 - 0.01 * g' / (g' + 0.1) = 0.5 - 0.01 / 1.1 = 0.4909090...
  double g1 = 3.0 / (3.0 + 1e-5);
  double p1 = 0.5 - 0.01 * g1 / (g1 + 0.1);
  EXPECT_NEAR(p1, 0.49090909, 1e-7);
  EXPECT_NEAR(store->values(0)[0], p1, 1e-7);
  EXPECT_NEAR(store->adamM(0)[0], 0.1 * g1, 1e-7);
  EXPECT_NEAR(store->adamV(0)[0], 0.05 * g1 * g1, 1e-7);

  store->grads(0)[0] = -1.0f;
  auto r1 = opt->step();
  ASSERT_TRUE(bool(r1));
  double g2 = -1.0 / (1.0 + 1e-5);
  double m2 = 0.9 * 0.1 * g1 + 0.1 * g2;
  double v2 = 0.95 * 0.05 * g1 * g1 + 0.05 * g2 * g2;
  double lr1 = 0.01 * 99.0 / 100.0;
  double bc1 = 1 - 0.9 * 0.9, bc2 = 1 - 0.95 * 0.95;
  double p2 = p1 - lr1 / bc1 * m2 / (std::sqrt(v2) / std::sqrt(bc2) + 0.1);
  EXPECT_NEAR(store->values(0)[0], p2, 1e-7);
  EXPECT_EQ(opt->stepsTaken(), 2);
}

// Tests that the vectorised Adam (16 lanes, any ISA) gives exactly the bits
// of the scalar formula evaluated here in the same operation order, over
// entries that cover full vectors and a tail.
TEST(Optimizer, AdamVectorPathMatchesScalarBits) {
  const int64_t n = 37;
  auto store = makeStore({spec("b", {n}, ParamKind::Bias)});
  float p0[n], g[n];
  for (int64_t e = 0; e < n; ++e) {
    p0[e] = static_cast<float>(normalAt(1, 1, e));
    g[e] = static_cast<float>(normalAt(1, 2, e));
    store->values(0)[e] = p0[e];
    store->grads(0)[e] = g[e];
  }
  OptimizerConfig c;
  c.schedule.totalSteps = 10;
  c.schedule.lr = 0.05;
  c.schedule.warmupFraction = 0.0;
  auto opt = makeOptimizer(*store, c);
  auto r = opt->step();
  ASSERT_TRUE(bool(r));
  const float denomG = static_cast<float>(r->gradRms + 1e-5);
  const float stepSize = static_cast<float>(0.05 / (1.0 - 0.9));
  const float bc2 = static_cast<float>(std::sqrt(1.0 - 0.95));
  for (int64_t e = 0; e < n; ++e) {
    float gn = g[e] / denomG;
    float m = 0.9f * 0.0f + 0.1f * gn;
    float v = 0.95f * 0.0f + 0.05f * gn * gn;
    float want = p0[e] - stepSize * (m / (std::sqrt(v) / bc2 + 0.1f));
    EXPECT_EQ(store->values(0)[e], want) << e;
  }
}

// Tests the global RMS over all parameters and the per-entry normalised
// first step: rms = sqrt((1 + 4 + 4 + 16) / 4) = 2.5.
TEST(Optimizer, GradientRmsNormalisation) {
  auto store = makeStore(
      {spec("a", {3}, ParamKind::Bias), spec("b", {1}, ParamKind::Gain)});
  const float ga[3] = {1.0f, -2.0f, 2.0f};
  std::memcpy(store->grads(0), ga, sizeof ga);
  store->grads(1)[0] = 4.0f;
  OptimizerConfig c;
  c.schedule.totalSteps = 10;
  c.schedule.lr = 0.1;
  c.schedule.warmupFraction = 0.0;
  auto opt = makeOptimizer(*store, c);
  auto r = opt->step();
  ASSERT_TRUE(bool(r));
  EXPECT_DOUBLE_EQ(r->gradRms, 2.5);
  auto expect = [](double g) {
    double n = g / (2.5 + 1e-5);
    return -0.1 * n / (std::fabs(n) + 0.1); // first step: m_hat/sqrt(v_hat)
  };
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(store->values(0)[i], expect(ga[i]), 1e-7);
  EXPECT_NEAR(store->values(1)[0], expect(4.0), 1e-7);
  // The gradients themselves are left as given.
  EXPECT_EQ(store->grads(1)[0], 4.0f);
}

// Tests that weight decay p <- p - wd * lr * p hits every 2-D parameter but
// the bigram table, and nothing else: with zero gradients Adam moves nothing.
TEST(Optimizer, WeightDecayOnlyOnMatricesAndEmbeddings) {
  auto s = ParamStore::create(smallModel());
  ASSERT_TRUE(bool(s));
  ParamStore &store = **s;
  ASSERT_FALSE(bool(store.initialize(5)));
  // Make wpe nonzero so that decay on it is visible.
  size_t wpe = *store.find("wpe.weight");
  for (int64_t e = 0; e < store.numel(wpe); ++e)
    store.values(wpe)[e] = 0.01f * static_cast<float>(e % 7 + 1);
  std::vector<std::vector<float>> before;
  for (size_t i = 0; i < store.size(); ++i)
    before.emplace_back(store.values(i), store.values(i) + store.numel(i));
  OptimizerConfig c = OptimizerConfig::forModel(smallModel(), 10, 0.01);
  c.schedule.warmupFraction = 0.0;
  auto opt = makeOptimizer(store, c);
  ASSERT_TRUE(bool(opt->step()));
  const float decay = static_cast<float>(0.1 * 0.01);
  int decayed = 0;
  for (size_t i = 0; i < store.size(); ++i) {
    const ParamSpec &sp = store.spec(i);
    bool expectDecay = sp.shape.size() == 2 && sp.kind != ParamKind::Bigram;
    EXPECT_EQ(sp.decays(), expectDecay) << sp.name;
    decayed += expectDecay;
    for (int64_t e = 0; e < store.numel(i); ++e) {
      float b = before[i][e];
      ASSERT_EQ(store.values(i)[e], expectDecay ? b - decay * b : b)
          << sp.name << "[" << e << "]";
    }
  }
  EXPECT_EQ(decayed, 2 * 4 + 3); // 4 matrices per layer, wte, wpe, lm_head
}

// Tests that every sparse parameter ends a step with exactly its budget of
// nonzeros (weight density for block matrices and wpe, embedding density for
// wte / lm_head), that min-4 holds per unit, and that the index is the
// support of the values.
TEST(Optimizer, ProjectsEveryParameterToItsBudget) {
  ModelConfig m = smallModel();
  m.weightDensity = 1.0 / 64;
  m.embedDensity = 1.0 / 8;
  auto s = ParamStore::create(m);
  ASSERT_TRUE(bool(s));
  ParamStore &store = **s;
  ASSERT_FALSE(bool(store.initialize(1)));
  size_t wpe = *store.find("wpe.weight");
  for (int64_t e = 0; e < store.numel(wpe); ++e)
    store.values(wpe)[e] = static_cast<float>(normalAt(4, 4, e));
  OptimizerConfig c = OptimizerConfig::forModel(m, 10, 0.01);
  c.schedule.annealStart = c.schedule.annealEnd = 0.0;
  auto opt = makeOptimizer(store, c);
  for (int64_t t = 0; t < 3; ++t) {
    fillGrads(store, t);
    auto r = opt->step();
    ASSERT_TRUE(bool(r));
    EXPECT_EQ(r->exactFallbacks, 0);
    for (size_t i = 0; i < store.size(); ++i) {
      const ParamSpec &sp = store.spec(i);
      int64_t nnz = 0;
      for (int64_t e = 0; e < store.numel(i); ++e)
        nnz += store.values(i)[e] != 0.0f;
      if (!sp.isSparse()) {
        EXPECT_EQ(store.index(i), nullptr);
        continue;
      }
      bool embedding = sp.kind == ParamKind::TokenEmbedding ||
                       sp.kind == ParamKind::Unembedding;
      double density = t == 0 ? 1.0 : embedding ? 1.0 / 8 : 1.0 / 64;
      EXPECT_EQ(nnz, l0Budget(sp, density, 4)) << sp.name << " step " << t;
      EXPECT_EQ(opt->budgetAt(i, t), l0Budget(sp, density, 4));
      const SparseIndex &idx = *store.index(i);
      EXPECT_EQ(idx.nnz(), nnz);
      for (int64_t r = 0; r < idx.rows; ++r)
        for (int32_t e = idx.rowPtr[r]; e < idx.rowPtr[r + 1]; ++e)
          ASSERT_EQ(idx.rowValues[e],
                    store.values(i)[r * idx.cols + idx.colIdx[e]]);
      if (sp.unitAxis == UnitAxis::None)
        continue;
      int64_t rows = sp.shape[0], cols = sp.shape[1];
      bool byRow = sp.unitAxis == UnitAxis::Rows;
      for (int64_t u = 0; u < (byRow ? rows : cols); ++u) {
        int64_t count = 0;
        for (int64_t j = 0; j < (byRow ? cols : rows); ++j)
          count += store.values(i)[byRow ? u * cols + j : j * cols + u] != 0;
        ASSERT_GE(count, 4) << sp.name << " unit " << u;
      }
    }
  }
}

/// Runs `steps` optimizer steps on a fresh small model with `threads`
/// threads and returns every byte of state.
std::vector<float> runModel(unsigned threads, bool sparseGradients) {
  ModelConfig m = smallModel();
  m.weightDensity = 1.0 / 32;
  m.embedDensity = 1.0 / 4;
  ThreadPool pool(threads);
  auto s = ParamStore::create(m);
  EXPECT_TRUE(bool(s));
  ParamStore &store = **s;
  EXPECT_FALSE(bool(store.initialize(77, pool)));
  OptimizerConfig c = OptimizerConfig::forModel(m, 8, 0.02);
  c.schedule.annealStart = 0.0;
  c.schedule.annealEnd = 0.5;
  c.sparseGradients = sparseGradients;
  c.regrowEvery = 3;
  auto opt = makeOptimizer(store, c, &pool);
  std::vector<float> state;
  for (int64_t t = 0; t < 6; ++t) {
    fillGrads(store, t);
    EXPECT_TRUE(bool(opt->step()));
  }
  for (size_t i = 0; i < store.size(); ++i) {
    for (const float *a : {store.values(i), store.adamM(i), store.adamV(i)})
      state.insert(state.end(), a, a + store.numel(i));
    if (const SparseIndex *idx = store.index(i)) {
      state.insert(state.end(), idx->colValues.begin(), idx->colValues.end());
      for (int32_t r : idx->rowIdx)
        state.push_back(static_cast<float>(r));
    }
  }
  return state;
}

// Tests that the whole step (RMS, Adam, projection, decay, index) gives the
// same bits on 1, 2 and 3 threads, in both gradient modes.
TEST(Optimizer, DeterministicAcrossThreadCounts) {
  for (bool sparse : {false, true}) {
    std::vector<float> one = runModel(1, sparse);
    EXPECT_EQ(std::memcmp(one.data(), runModel(2, sparse).data(),
                          one.size() * sizeof(float)),
              0);
    EXPECT_EQ(std::memcmp(one.data(), runModel(3, sparse).data(),
                          one.size() * sizeof(float)),
              0);
    EXPECT_EQ(one, runModel(1, sparse)); // and across runs
  }
}

/// A store with one c_fc-like matrix and the config used by the regrowth
/// tests: density 1/8 from step 1 on, LR 1 so a regrowing entry is large. A
/// dense "sink" parameter with a large gradient dominates the global RMS, so
/// the matrix's own small gradients barely move it.
struct RegrowFixture {
  std::unique_ptr<ParamStore> store;
  std::unique_ptr<Optimizer> opt;
  RegrowFixture(bool sparseGradients, int64_t regrowEvery) {
    ParamSpec w = spec("w", {16, 32}, ParamKind::Matrix, UnitAxis::Rows);
    w.initStd = 0.02;
    store = makeStore({w, spec("sink", {1}, ParamKind::Sink)});
    EXPECT_FALSE(bool(store->initialize(3)));
    OptimizerConfig c;
    c.schedule.totalSteps = 100;
    c.schedule.lr = 1.0;
    c.schedule.warmupFraction = 0.0;
    c.schedule.annealStart = c.schedule.annealEnd = 0.0;
    c.schedule.weightDensity = 1.0 / 8;
    c.schedule.sharkfin = false;
    c.weightDecay = 0.0;
    c.sparseGradients = sparseGradients;
    c.regrowEvery = regrowEvery;
    opt = makeOptimizer(*store, c);
  }
  void smallGrads() {
    for (int64_t e = 0; e < 512; ++e)
      store->grads(0)[e] =
          1e-3f * static_cast<float>(normalAt(8, opt->stepsTaken(), e));
    store->grads(1)[0] = 1000.0f;
  }
  int64_t prunedEntry() const {
    for (int64_t e = 0; e < 512; ++e)
      if (store->values(0)[e] == 0.0f)
        return e;
    return -1;
  }
};

// Tests the paper's behaviour: gradients stay dense, so a pruned weight with
// a large gradient re-enters the top-k at the next step.
TEST(Optimizer, DenseGradientsLetPrunedWeightsRegrow) {
  RegrowFixture f(false, 100);
  f.smallGrads();
  ASSERT_TRUE(bool(f.opt->step())); // t = 0: dense
  f.smallGrads();
  ASSERT_TRUE(bool(f.opt->step())); // t = 1: projected to 1/8
  int64_t e = f.prunedEntry();
  ASSERT_GE(e, 0);
  f.smallGrads();
  f.store->grads(0)[e] = -50.0f;
  EXPECT_TRUE(f.opt->needsDenseGradients());
  ASSERT_TRUE(bool(f.opt->step()));
  EXPECT_GT(f.store->values(0)[e], 0.1f);
}

// Tests the sparse-gradient option: between regrowth steps, gradients
// outside the support are never read (NaN there changes nothing) and cannot
// regrow an entry; at the regrowth step they can; dropped entries' moments
// are zero.
TEST(Optimizer, SparseGradientsIgnoreOffSupportUntilRegrowth) {
  RegrowFixture f(true, 3);
  EXPECT_TRUE(f.opt->needsDenseGradients()); // t = 0 is a regrowth step
  f.smallGrads();
  ASSERT_TRUE(bool(f.opt->step()));
  EXPECT_FALSE(f.opt->needsDenseGradients());
  f.smallGrads();
  ASSERT_TRUE(bool(f.opt->step())); // t = 1: projected to 1/8
  int64_t e = f.prunedEntry();
  ASSERT_GE(e, 0);
  for (int64_t x = 0; x < 512; ++x)
    if (f.store->values(0)[x] == 0.0f) {
      EXPECT_EQ(f.store->adamM(0)[x], 0.0f);
      EXPECT_EQ(f.store->adamV(0)[x], 0.0f);
    }
  // t = 2: sparse step. Off-support gradients are garbage and ignored.
  EXPECT_FALSE(f.opt->needsDenseGradients());
  f.smallGrads();
  std::vector<float> g(f.store->grads(0), f.store->grads(0) + 512);
  for (int64_t x = 0; x < 512; ++x)
    if (f.store->values(0)[x] == 0.0f)
      f.store->grads(0)[x] = std::numeric_limits<float>::quiet_NaN();
  f.store->grads(0)[e] = -50.0f;
  auto r = f.opt->step();
  ASSERT_TRUE(bool(r));
  EXPECT_FALSE(r->denseGradients);
  EXPECT_EQ(f.store->values(0)[e], 0.0f);
  for (int64_t x = 0; x < 512; ++x)
    ASSERT_TRUE(std::isfinite(f.store->values(0)[x]));
  // t = 3: regrowth step reads the dense gradient; e comes back.
  EXPECT_TRUE(f.opt->needsDenseGradients());
  f.smallGrads();
  f.store->grads(0)[e] = -50.0f;
  r = f.opt->step();
  ASSERT_TRUE(bool(r));
  EXPECT_TRUE(r->denseGradients);
  EXPECT_GT(f.store->values(0)[e], 0.1f);
  EXPECT_EQ(r->nonzeros, l0Budget(f.store->spec(0), 1.0 / 8, 4));
}

// Tests that a frozen positional table is left untouched and excluded from
// the gradient RMS.
TEST(Optimizer, FrozenPositionalTable) {
  auto store =
      makeStore({spec("wpe.weight", {4, 4}, ParamKind::PositionalTable),
                 spec("b", {1}, ParamKind::Bias)});
  for (int64_t e = 0; e < 16; ++e) {
    store->values(0)[e] = 0.5f;
    store->grads(0)[e] = 100.0f;
  }
  store->grads(1)[0] = 2.0f;
  OptimizerConfig c;
  c.schedule.totalSteps = 10;
  c.schedule.weightDensity = 1.0 / 4;
  c.schedule.annealStart = c.schedule.annealEnd = 0.0;
  c.freezePositionalTable = true;
  auto opt = makeOptimizer(*store, c);
  auto r = opt->step();
  ASSERT_TRUE(bool(r));
  EXPECT_DOUBLE_EQ(r->gradRms, 2.0);
  for (int64_t e = 0; e < 16; ++e)
    EXPECT_EQ(store->values(0)[e], 0.5f);
}

// Tests that invalid configurations are rejected with a message.
TEST(Optimizer, RejectsInvalidConfig) {
  auto store = makeStore({spec("b", {1}, ParamKind::Bias)});
  OptimizerConfig c;
  c.schedule.totalSteps = 0;
  c.eps = -1.0;
  c.regrowEvery = 0;
  auto o = Optimizer::create(*store, c);
  ASSERT_FALSE(bool(o));
  EXPECT_NE(o.message().find("steps must be positive"), std::string::npos);
  EXPECT_NE(o.message().find("eps"), std::string::npos);
  EXPECT_NE(o.message().find("regrow_every"), std::string::npos);
  ModelConfig bad;
  bad.dModel = 30;
  bad.dHead = 16;
  auto s = ParamStore::create(bad);
  ASSERT_FALSE(bool(s));
  EXPECT_NE(s.message().find("must divide"), std::string::npos);
}

} // namespace
