//===- StoreTest.cpp - parameter store, RNG, schedules, pool, C ABI -------===//
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/Random.h"
#include "circ_runtime/Schedule.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/circ_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>

using namespace circ;
using namespace circ::rt;

namespace {

// Tests Philox4x32-10 against Random123's known-answer vectors
// (tests/kat_vectors, the three "philox4x32 10" lines).
TEST(Random, PhiloxKnownAnswers) {
  EXPECT_EQ(philox4x32({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                       {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                       {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

// Tests the moments of the normal and uniform draws.
TEST(Random, DistributionMoments) {
  const int n = 200000;
  double s = 0, s2 = 0, s4 = 0, u = 0;
  for (int i = 0; i < n; ++i) {
    double z = normalAt(1, 2, i);
    s += z;
    s2 += z * z;
    s4 += z * z * z * z;
    double x = uniformAt(1, 3, i);
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    u += x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.01);
  EXPECT_NEAR(s4 / n, 3.0, 0.05);
  EXPECT_NEAR(u / n, 0.5, 0.003);
}

ModelConfig model() {
  ModelConfig m;
  m.nLayer = 3;
  m.dModel = 64;
  m.dHead = 16;
  m.dMlp = 256;
  m.vocab = 512;
  m.ctx = 32;
  m.attentionSink = true;
  m.positionalTable = true;
  return m;
}

// Tests the paper's initialisation per parameter kind, and that it is the
// same for 1 and 2 threads.
TEST(ParamStoreTest, InitialisationPerKind) {
  auto a = ParamStore::create(model());
  auto b = ParamStore::create(model());
  ASSERT_TRUE(a && b);
  ThreadPool one(1), two(2);
  ASSERT_FALSE(bool((*a)->initialize(42, one)));
  ASSERT_FALSE(bool((*b)->initialize(42, two)));
  ParamStore &s = **a;
  for (size_t i = 0; i < s.size(); ++i) {
    const ParamSpec &sp = s.spec(i);
    const float *w = s.values(i);
    ASSERT_EQ(std::memcmp(w, (*b)->values(i), s.numel(i) * sizeof(float)), 0)
        << sp.name;
    double sum = 0, sum2 = 0, lo = 1e30, hi = -1e30;
    for (int64_t e = 0; e < s.numel(i); ++e) {
      sum += w[e];
      sum2 += double(w[e]) * w[e];
      lo = std::min<double>(lo, w[e]);
      hi = std::max<double>(hi, w[e]);
    }
    double n = static_cast<double>(s.numel(i));
    switch (sp.kind) {
    case ParamKind::Gain:
      EXPECT_EQ(lo, 1.0);
      EXPECT_EQ(hi, 1.0);
      break;
    case ParamKind::Bias:
    case ParamKind::Sink:
    case ParamKind::PositionalTable:
      EXPECT_EQ(lo, 0.0) << sp.name;
      EXPECT_EQ(hi, 0.0) << sp.name;
      break;
    case ParamKind::Bigram:
      EXPECT_GE(lo, 0.0);
      EXPECT_LT(hi, 0.02);
      EXPECT_NEAR(sum / n, 0.01, 2e-4);
      break;
    default: {
      double std = std::sqrt(sum2 / n);
      bool proj = sp.name.find("c_proj.weight") != std::string::npos;
      double want = proj ? 0.02 / std::sqrt(2.0 * 3) : 0.02;
      EXPECT_NEAR(std, want, want * 0.03) << sp.name;
      EXPECT_NEAR(sum / n, 0.0, want * 0.05) << sp.name;
    }
    }
  }
  // Different seeds differ; the same name draws the same stream.
  ASSERT_FALSE(bool((*b)->initialize(43, two)));
  EXPECT_NE((*a)->values(0)[0], (*b)->values(0)[0]);
}

// Tests store layout: alignment, lookup, the index of dense and sparse
// parameters after initialisation (dense support).
TEST(ParamStoreTest, LayoutAndIndex) {
  auto s = ParamStore::create(model());
  ASSERT_TRUE(bool(s));
  ParamStore &st = **s;
  ASSERT_FALSE(bool(st.initialize(1)));
  int64_t total = 0;
  for (size_t i = 0; i < st.size(); ++i) {
    total += st.numel(i);
    for (const float *p : {st.values(i), st.grads(i), st.adamM(i), st.adamV(i)})
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    EXPECT_EQ(st.find(st.spec(i).name), i);
  }
  EXPECT_EQ(total, st.totalNumel());
  EXPECT_FALSE(st.find("nope").has_value());
  size_t fc = *st.find("h.1.mlp.c_fc.weight");
  ASSERT_NE(st.index(fc), nullptr);
  EXPECT_EQ(st.index(fc)->nnz(), st.numel(fc));
  EXPECT_EQ(st.index(*st.find("h.1.mlp.c_fc.bias")), nullptr);
  // Writing weights by hand and rebuilding gives their support.
  std::memset(st.values(fc), 0, st.numel(fc) * sizeof(float));
  st.values(fc)[5] = 2.0f;
  ASSERT_FALSE(bool(st.rebuildIndex(fc, ThreadPool::global())));
  EXPECT_EQ(st.index(fc)->nnz(), 1);
  EXPECT_EQ(st.index(fc)->colIdx[0], 5);
}

// Tests that a bad parameter list is an error, not a crash.
TEST(ParamStoreTest, RejectsBadSpecs) {
  ParamSpec empty;
  empty.name = "e";
  empty.shape = {0, 4};
  empty.kind = ParamKind::Matrix;
  auto s = ParamStore::create(std::vector<ParamSpec>{empty});
  ASSERT_FALSE(bool(s));
  EXPECT_NE(s.message().find("'e' has no elements"), std::string::npos);
}

// Tests schedule values at hand-picked steps of a 1000-step run: warmup of
// 10 steps, anneal between steps 10 and 500, sharkfin from 1/8 to 1.
TEST(ScheduleTest, HandPickedSteps) {
  Schedule s;
  s.totalSteps = 1000;
  s.lr = 0.02;
  s.weightDensity = 1.0 / 64;
  s.embedDensity = 1.0 / 16;
  EXPECT_EQ(s.warmupSteps(), 10);
  EXPECT_DOUBLE_EQ(s.baseLr(0), 0.002);
  EXPECT_DOUBLE_EQ(s.baseLr(4), 0.01);
  EXPECT_DOUBLE_EQ(s.baseLr(9), 0.02);  // warmup end
  EXPECT_DOUBLE_EQ(s.baseLr(10), 0.02); // decay start: (1000-10)/990
  EXPECT_DOUBLE_EQ(s.baseLr(505), 0.01);
  EXPECT_DOUBLE_EQ(s.baseLr(999), 0.02 / 990);
  // Anneal: dense up to p = 1%, linear to the target at p = 50%.
  EXPECT_DOUBLE_EQ(s.weightDensityAt(0), 1.0);
  EXPECT_DOUBLE_EQ(s.weightDensityAt(10), 1.0);
  EXPECT_DOUBLE_EQ(s.weightDensityAt(255), 1.0 - 0.5 * (63.0 / 64));
  EXPECT_DOUBLE_EQ(s.embedDensityAt(255), 1.0 - 0.5 * (15.0 / 16));
  EXPECT_DOUBLE_EQ(s.weightDensityAt(500), 1.0 / 64);
  EXPECT_DOUBLE_EQ(s.weightDensityAt(999), 1.0 / 64);
  // Sharkfin: sqrt(final / current) = 1/8 while dense, 1 after the anneal.
  EXPECT_DOUBLE_EQ(s.sharkfinFactor(0), 0.125);
  EXPECT_DOUBLE_EQ(s.sharkfinFactor(255), std::sqrt((1.0 / 64) / (65.0 / 128)));
  EXPECT_DOUBLE_EQ(s.sharkfinFactor(500), 1.0);
  EXPECT_DOUBLE_EQ(s.lrAt(9), 0.02 * 0.125);
  EXPECT_DOUBLE_EQ(s.lrAt(505), 0.01);
  s.sharkfin = false;
  EXPECT_DOUBLE_EQ(s.lrAt(9), 0.02);
  EXPECT_TRUE(s.validate().empty());
  s.annealStart = 0.6;
  EXPECT_EQ(s.validate().size(), 1u);
}

// Tests that every task runs exactly once, nested runs work, and a task's
// exception reaches the caller after the others finish.
TEST(ThreadPoolTest, RunsEveryTaskOnce) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3u);
  std::vector<std::atomic<int>> hits(1000);
  pool.run(1000, [&](int64_t t, unsigned slot) {
    ASSERT_LT(slot, 3u);
    hits[t]++;
    if (t % 100 == 0)
      pool.run(5, [&](int64_t, unsigned) {});
  });
  for (auto &h : hits)
    EXPECT_EQ(h.load(), 1);
  std::atomic<int> done{0};
  EXPECT_THROW(pool.run(50,
                        [&](int64_t t, unsigned) {
                          if (t == 7)
                            throw std::runtime_error("task 7");
                          done++;
                        }),
               std::runtime_error);
  EXPECT_EQ(done.load(), 49);
  std::vector<std::pair<int64_t, int64_t>> bounds(4);
  parallelBlocks(pool, 10, 3, [&](int64_t b, int64_t lo, int64_t hi, unsigned) {
    bounds[b] = {lo, hi};
  });
  EXPECT_EQ(bounds, (std::vector<std::pair<int64_t, int64_t>>{
                        {0, 3}, {3, 6}, {6, 9}, {9, 10}}));
  int64_t sum = 0;
  ThreadPool single(1);
  single.run(4, [&](int64_t t, unsigned slot) {
    EXPECT_EQ(slot, 0u);
    sum += t;
  });
  EXPECT_EQ(sum, 6);
}

// Tests the C ABI end to end: create, initialise, look up, index pointers,
// one optimizer step, and error reporting for a bad config.
TEST(CApi, StoreAndOptimizer) {
  circrt_model_config mc;
  circrt_model_config_default(&mc);
  mc.n_layer = 1;
  mc.d_model = 32;
  mc.d_mlp = 64;
  mc.vocab = 64;
  mc.weight_density = 1.0 / 16;
  mc.min_per_unit = 1;
  circrt_store *s = circrt_store_create(&mc);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(circrt_store_initialize(s, 9), 0);
  int64_t fc = circrt_store_find(s, "h.0.mlp.c_fc.weight");
  ASSERT_GE(fc, 0);
  EXPECT_STREQ(circrt_param_name(s, fc), "h.0.mlp.c_fc.weight");
  EXPECT_EQ(circrt_param_rank(s, fc), 2);
  EXPECT_EQ(circrt_param_dim(s, fc, 0), 64);
  EXPECT_EQ(circrt_param_dim(s, fc, 1), 32);
  EXPECT_EQ(circrt_param_numel(s, fc), 64 * 32);
  EXPECT_TRUE(circrt_param_is_sparse(s, fc));
  int64_t bias = circrt_store_find(s, "h.0.mlp.c_fc.bias");
  EXPECT_FALSE(circrt_param_is_sparse(s, bias));
  EXPECT_EQ(circrt_index_csr_row_ptr(s, bias), nullptr);
  EXPECT_EQ(circrt_param_values(s, 1000), nullptr);
  EXPECT_EQ(circrt_store_find(s, "nope"), -1);

  circrt_optimizer_config oc;
  circrt_optimizer_config_default(&oc, &mc, 10, 0.01);
  oc.anneal_start = oc.anneal_end = 0.0;
  circrt_optimizer *o = circrt_optimizer_create(s, &oc);
  ASSERT_NE(o, nullptr);
  for (int t = 0; t < 2; ++t) {
    for (int64_t i = 0; i < circrt_store_num_params(s); ++i) {
      float *g = circrt_param_grads(s, i);
      for (int64_t e = 0; e < circrt_param_numel(s, i); ++e)
        g[e] = static_cast<float>(normalAt(5, i, e));
    }
    EXPECT_EQ(circrt_optimizer_needs_dense_grads(o), 1);
    ASSERT_EQ(circrt_optimizer_step(o), 0);
  }
  EXPECT_EQ(circrt_optimizer_steps_taken(o), 2);
  EXPECT_GT(circrt_optimizer_last_lr(o), 0.0);
  EXPECT_EQ(circrt_index_nnz(s, fc), 64 * 32 / 16);
  const int32_t *rp = circrt_index_csr_row_ptr(s, fc);
  const int32_t *cp = circrt_index_csc_col_ptr(s, fc);
  EXPECT_EQ(rp[64], 128);
  EXPECT_EQ(cp[32], 128);
  EXPECT_EQ(circrt_index_csr_values(s, fc)[0],
            circrt_param_values(s, fc)[circrt_index_csr_col_idx(s, fc)[0]]);
  circrt_optimizer_destroy(o);

  oc.beta1 = 1.5;
  EXPECT_EQ(circrt_optimizer_create(s, &oc), nullptr);
  EXPECT_NE(std::string(circrt_last_error()).find("beta1"), std::string::npos);
  circrt_store_destroy(s);
  mc.d_head = 7;
  EXPECT_EQ(circrt_store_create(&mc), nullptr);
  EXPECT_NE(std::string(circrt_last_error()).find("d_head"), std::string::npos);
}

} // namespace
