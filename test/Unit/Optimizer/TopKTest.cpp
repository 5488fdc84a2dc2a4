//===- TopKTest.cpp - the L0 projection against a sorting oracle ----------===//
#include "circ_runtime/TopK.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/Random.h"
#include "circ_runtime/SparseIndex.h"
#include "circ_runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

using namespace circ;
using namespace circ::rt;

namespace {

ParamSpec matrixSpec(int64_t rows, int64_t cols, UnitAxis axis) {
  ParamSpec s;
  s.name = "m";
  s.shape = {rows, cols};
  s.kind = ParamKind::Matrix;
  s.unitAxis = axis;
  return s;
}

std::vector<float> normalMatrix(int64_t n, uint64_t seed) {
  std::vector<float> w(n);
  for (int64_t i = 0; i < n; ++i)
    w[i] = static_cast<float>(0.02 * normalAt(seed, 7, i));
  return w;
}

/// The obviously-correct projection: sort every unit, force its top m, sort
/// the rest, keep the first budget - forced. Returns the kept positions.
std::set<int64_t> oracle(const std::vector<float> &w, int64_t rows,
                         int64_t cols, UnitAxis axis, int64_t m,
                         int64_t budget) {
  auto better = [&](int64_t a, int64_t b) {
    float x = std::fabs(w[a]), y = std::fabs(w[b]);
    return x != y ? x > y : a < b;
  };
  std::set<int64_t> kept;
  if (axis != UnitAxis::None) {
    int64_t units = axis == UnitAxis::Rows ? rows : cols;
    int64_t len = axis == UnitAxis::Rows ? cols : rows;
    for (int64_t u = 0; u < units; ++u) {
      std::vector<int64_t> unit;
      for (int64_t j = 0; j < len; ++j)
        unit.push_back(axis == UnitAxis::Rows ? u * cols + j : j * cols + u);
      std::sort(unit.begin(), unit.end(), better);
      for (int64_t j = 0; j < std::min(m, len); ++j)
        kept.insert(unit[j]);
    }
  }
  std::vector<int64_t> rest;
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!kept.count(i))
      rest.push_back(i);
  std::sort(rest.begin(), rest.end(), better);
  int64_t more = std::max<int64_t>(0, budget - (int64_t)kept.size());
  for (int64_t j = 0; j < more && j < (int64_t)rest.size(); ++j)
    kept.insert(rest[j]);
  return kept;
}

std::set<int64_t> nonzeros(const std::vector<float> &w) {
  std::set<int64_t> s;
  for (int64_t i = 0; i < (int64_t)w.size(); ++i)
    if (w[i] != 0.0f)
      s.insert(i);
  return s;
}

/// The oracle's kept set restricted to nonzero entries (the support).
std::set<int64_t> oracleNonzero(const std::vector<float> &w, int64_t rows,
                                int64_t cols, UnitAxis axis, int64_t budget) {
  std::set<int64_t> out;
  for (int64_t i : oracle(w, rows, cols, axis, 4, budget))
    if (w[i] != 0.0f)
      out.insert(i);
  return out;
}

struct Case {
  int64_t rows, cols;
  UnitAxis axis;
  double density;
};

class ProjectionVsOracle : public ::testing::TestWithParam<Case> {};

// Tests that the kept set is exactly the oracle's, for the fast (sampled)
// path and the exact fallback, on 1, 2 and 3 threads, and that kept values
// are decayed and everything else is zero.
TEST_P(ProjectionVsOracle, KeepsExactlyTheOracleSet) {
  Case c = GetParam();
  ParamSpec spec = matrixSpec(c.rows, c.cols, c.axis);
  const int64_t n = c.rows * c.cols;
  std::vector<float> orig = normalMatrix(n, 11 + c.rows);
  int64_t budget = l0Budget(spec, c.density, 4);
  std::set<int64_t> expect = oracle(orig, c.rows, c.cols, c.axis, 4, budget);
  ASSERT_EQ((int64_t)expect.size(), budget);
  const float decay = 0.125f;
  for (unsigned threads : {1u, 2u, 3u})
    for (bool exact : {false, true}) {
      ThreadPool pool(threads);
      std::vector<float> w = orig;
      SparseIndex index;
      int64_t kept =
          projectTopK(w.data(), spec, budget, 4, decay, pool, &index, exact);
      EXPECT_EQ(kept, budget) << threads << " threads, exact " << exact;
      EXPECT_EQ(nonzeros(w), expect) << threads << " threads, exact " << exact;
      for (int64_t i : expect)
        ASSERT_EQ(w[i], orig[i] - decay * orig[i]);
      EXPECT_EQ(index.nnz(), budget);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ProjectionVsOracle,
    ::testing::Values(Case{64, 48, UnitAxis::Rows, 1.0 / 64},
                      Case{64, 48, UnitAxis::Cols, 1.0 / 64},
                      Case{48, 64, UnitAxis::None, 1.0 / 64},
                      Case{300, 200, UnitAxis::Rows, 1.0 / 1000},
                      Case{200, 300, UnitAxis::Cols, 1.0 / 1000},
                      Case{300, 200, UnitAxis::Cols, 1.0 / 16},
                      Case{256, 512, UnitAxis::Rows, 0.3},
                      Case{512, 256, UnitAxis::None, 0.9},
                      Case{1, 5000, UnitAxis::None, 0.01},
                      Case{3, 2, UnitAxis::Rows, 0.1},
                      Case{40, 3, UnitAxis::Rows, 0.01},
                      Case{7, 900, UnitAxis::Cols, 0.5},
                      // Rows longer than one observe() segment, budget
                      // filled by the forced entries (no band).
                      Case{40, 2500, UnitAxis::Rows, 1.0 / 1000},
                      Case{2500, 40, UnitAxis::Cols, 1.0 / 1000}));

// Tests that the minimum-per-unit rule holds on the right axis even when the
// global magnitudes would starve some units (one dominant row / column).
TEST(TopK, MinPerUnitOnTheRightAxis) {
  const int64_t rows = 96, cols = 80;
  for (UnitAxis axis : {UnitAxis::Rows, UnitAxis::Cols}) {
    std::vector<float> w = normalMatrix(rows * cols, 3);
    // Make unit 0 huge so a pure global top-k would keep only it.
    for (int64_t j = 0; j < (axis == UnitAxis::Rows ? cols : rows); ++j)
      w[axis == UnitAxis::Rows ? j : j * cols] *= 1000.0f;
    ParamSpec spec = matrixSpec(rows, cols, axis);
    int64_t budget = l0Budget(spec, 1.0 / 1000, 4);
    EXPECT_EQ(budget, 4 * (axis == UnitAxis::Rows ? rows : cols));
    ThreadPool pool(2);
    projectTopK(w.data(), spec, budget, 4, 0.0f, pool, nullptr);
    int64_t units = axis == UnitAxis::Rows ? rows : cols;
    for (int64_t u = 0; u < units; ++u) {
      int64_t count = 0;
      for (int64_t j = 0; j < (axis == UnitAxis::Rows ? cols : rows); ++j)
        count += w[axis == UnitAxis::Rows ? u * cols + j : j * cols + u] != 0;
      EXPECT_EQ(count, 4) << "unit " << u;
    }
  }
}

// Tests tie-breaking: with many equal magnitudes the lower flat index wins,
// both inside units (forced) and globally; signs do not matter.
TEST(TopK, TiesPreferLowerIndex) {
  const int64_t rows = 50, cols = 40;
  std::vector<float> w(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i)
    w[i] = static_cast<float>((i * 7919 % 5) - 2) * 0.5f; // {-1,-.5,0,.5,1}
  for (UnitAxis axis : {UnitAxis::Rows, UnitAxis::Cols, UnitAxis::None})
    for (double density : {0.05, 0.3, 0.5, 0.7}) {
      ParamSpec spec = matrixSpec(rows, cols, axis);
      int64_t budget = l0Budget(spec, density, 4);
      std::set<int64_t> expect = oracle(w, rows, cols, axis, 4, budget);
      // Zeros can be "kept" but are not part of the support.
      std::set<int64_t> expectNz;
      for (int64_t i : expect)
        if (w[i] != 0.0f)
          expectNz.insert(i);
      for (bool exact : {false, true}) {
        std::vector<float> x = w;
        ThreadPool pool(2);
        projectTopK(x.data(), spec, budget, 4, 0.0f, pool, nullptr, exact);
        EXPECT_EQ(nonzeros(x), expectNz) << "density " << density;
      }
    }
}

// Tests that a sample that misjudges the threshold is caught: the sample
// reads values 100x larger than the matrix holds (as a stale preview
// would), so the sampled bounds miss; the exact fallback must still give the
// oracle's set.
TEST(TopK, MisleadingSampleFallsBackToExact) {
  const int64_t rows = 512, cols = 256;
  std::vector<float> w = normalMatrix(rows * cols, 5);
  for (UnitAxis axis : {UnitAxis::None, UnitAxis::Rows, UnitAxis::Cols}) {
    ParamSpec spec = matrixSpec(rows, cols, axis);
    int64_t budget = l0Budget(spec, 0.05, 4);
    std::set<int64_t> expect = oracle(w, rows, cols, axis, 4, budget);
    TopKProjector p(rows, cols, axis, 4);
    ThreadPool pool(2);
    std::vector<float> x = w;
    p.begin(budget, pool.size(), [&](int64_t i) { return 100.0f * x[i]; });
    pool.run(p.numBlocks(),
             [&](int64_t b, unsigned slot) { p.observe(x.data(), b, slot); });
    p.select(x.data(), pool);
    EXPECT_TRUE(p.usedFallback());
    pool.run(p.numBlocks(),
             [&](int64_t b, unsigned) { p.apply(x.data(), b, 0); });
    const std::vector<uint32_t> &kept = p.finish();
    EXPECT_EQ((int64_t)kept.size(), budget);
    EXPECT_EQ(nonzeros(x), expect);
  }
}

// Tests that a NaN whose magnitude bits are all ones (ranked above +inf)
// is found when the forced entries fill the budget and observe() only
// tracks row maxima: the kept set is the oracle's with +inf in its place.
TEST(TopK, AllOnesNaNWithoutBand) {
  const int64_t rows = 30, cols = 2100;
  ThreadPool pool(2);
  for (UnitAxis axis : {UnitAxis::Rows, UnitAxis::Cols}) {
    ParamSpec spec = matrixSpec(rows, cols, axis);
    std::vector<float> w = normalMatrix(rows * cols, 11);
    const int64_t at = 3 * cols + 1500;
    const uint32_t nanBits = 0xffffffffu;
    std::memcpy(&w[at], &nanBits, sizeof nanBits);
    std::vector<float> ranked = w;
    ranked[at] = std::numeric_limits<float>::infinity();
    int64_t budget = l0Budget(spec, 1.0 / 1000, 4);
    std::vector<float> x = w;
    EXPECT_EQ(projectTopK(x.data(), spec, budget, 4, 0.0f, pool, nullptr),
              budget);
    EXPECT_EQ(nonzeros(x), oracle(ranked, rows, cols, axis, 4, budget));
    EXPECT_TRUE(std::isnan(x[at]));
  }
}

// Tests that a typical matrix takes the fast path (no fallback).
TEST(TopK, TypicalMatrixUsesSampleBounds) {
  const int64_t rows = 1024, cols = 512;
  for (UnitAxis axis : {UnitAxis::Rows, UnitAxis::Cols, UnitAxis::None})
    for (double density : {1.0 / 64, 1.0 / 1000, 0.25}) {
      std::vector<float> w = normalMatrix(rows * cols, 9);
      TopKProjector p(rows, cols, axis, 4);
      ThreadPool pool(2);
      ParamSpec spec = matrixSpec(rows, cols, axis);
      p.begin(l0Budget(spec, density, 4), pool.size(),
              [&](int64_t i) { return w[i]; });
      pool.run(p.numBlocks(),
               [&](int64_t b, unsigned slot) { p.observe(w.data(), b, slot); });
      p.select(w.data(), pool);
      EXPECT_FALSE(p.usedFallback()) << density;
    }
}

// Tests degenerate inputs: all zeros, budget 0 without a unit rule, budget
// equal to the size (keeps everything, decays), and budget clamping.
TEST(TopK, DegenerateInputs) {
  ThreadPool pool(2);
  ParamSpec none = matrixSpec(30, 20, UnitAxis::None);
  std::vector<float> zeros(600, 0.0f);
  SparseIndex index;
  EXPECT_EQ(projectTopK(zeros.data(), none, 10, 4, 0.0f, pool, &index), 0);
  EXPECT_EQ(index.nnz(), 0);
  std::vector<float> w = normalMatrix(600, 1);
  std::vector<float> x = w;
  EXPECT_EQ(projectTopK(x.data(), none, 0, 4, 0.0f, pool, nullptr), 0);
  EXPECT_EQ(nonzeros(x).size(), 0u);
  x = w;
  EXPECT_EQ(projectTopK(x.data(), none, 600, 4, 0.5f, pool, nullptr), 600);
  for (int i = 0; i < 600; ++i)
    EXPECT_EQ(x[i], w[i] - 0.5f * w[i]);
  x = w;
  EXPECT_EQ(projectTopK(x.data(), none, 5000, 4, 0.0f, pool, nullptr), 600);

  // Mostly zeros (as after a projection): a budget above the nonzero count
  // keeps every nonzero, with rows rule or without, and touches no zero.
  for (UnitAxis axis : {UnitAxis::None, UnitAxis::Rows}) {
    ParamSpec spec = matrixSpec(200, 300, axis);
    std::vector<float> sparse(60000, 0.0f), orig = normalMatrix(60000, 8);
    for (int64_t i = 0; i < 60000; i += 97)
      sparse[i] = orig[i];
    std::vector<float> y = sparse;
    int64_t budget = l0Budget(spec, 1.0 / 32, 4);
    projectTopK(y.data(), spec, budget, 4, 0.0f, pool, nullptr);
    EXPECT_EQ(nonzeros(y), oracleNonzero(sparse, 200, 300, axis, budget));
    EXPECT_EQ(y, sparse);
  }
}

// Tests the budget formula: round(density * numel), floored by the unit
// rule and capped at numel.
TEST(TopK, BudgetFormula) {
  EXPECT_EQ(l0Budget(matrixSpec(100, 100, UnitAxis::None), 1.0 / 64, 4), 156);
  EXPECT_EQ(l0Budget(matrixSpec(100, 100, UnitAxis::Rows), 1.0 / 64, 4), 400);
  EXPECT_EQ(l0Budget(matrixSpec(100, 1000, UnitAxis::Rows), 1.0 / 64, 4), 1563);
  EXPECT_EQ(l0Budget(matrixSpec(100, 1000, UnitAxis::Cols), 1.0 / 64, 4), 4000);
  EXPECT_EQ(l0Budget(matrixSpec(10, 3, UnitAxis::Rows), 0.01, 4), 30);
  EXPECT_EQ(l0Budget(matrixSpec(10, 3, UnitAxis::Rows), 1.0, 4), 30);
  EXPECT_EQ(l0Budget(matrixSpec(10, 30, UnitAxis::Rows), 0.01, 0), 3);
}

// Tests selection against a full sort, with duplicates and every rank.
TEST(TopK, SelectKthLargestMatchesSort) {
  for (int64_t n : {1, 7, 600, 5000}) {
    std::vector<uint64_t> keys(n);
    for (int64_t i = 0; i < n; ++i)
      keys[i] = randomBits(3, 4, i)[0] % (n / 3 + 1) +
                (static_cast<uint64_t>(randomBits(3, 5, i)[1] % 3) << 40);
    std::vector<uint64_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end(), std::greater<uint64_t>());
    for (int64_t k = 0; k < n; k += std::max<int64_t>(1, n / 50)) {
      std::vector<uint64_t> copy = keys;
      EXPECT_EQ(selectKthLargest(copy, k), sorted[k]) << n << " " << k;
    }
  }
}

// Tests the CSR and CSC layouts against the dense matrix, for several thread
// counts (the layouts must be identical).
TEST(SparseIndexTest, LayoutsMatchDense) {
  const int64_t rows = 37, cols = 53;
  std::vector<float> w = normalMatrix(rows * cols, 2);
  for (int64_t i = 0; i < rows * cols; ++i)
    if (randomBits(1, 1, i)[0] % 5 != 0)
      w[i] = 0.0f;
  SparseIndex ref;
  for (unsigned threads : {1u, 2u, 4u}) {
    ThreadPool pool(threads);
    SparseIndex idx;
    idx.assignSupport(w.data(), rows, cols, pool);
    std::vector<float> dense(rows * cols, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int32_t e = idx.rowPtr[r]; e < idx.rowPtr[r + 1]; ++e) {
        if (e > idx.rowPtr[r])
          EXPECT_LT(idx.colIdx[e - 1], idx.colIdx[e]);
        dense[r * cols + idx.colIdx[e]] = idx.rowValues[e];
        EXPECT_EQ(idx.flat[e], r * cols + idx.colIdx[e]);
      }
    EXPECT_EQ(dense, w);
    std::fill(dense.begin(), dense.end(), 0.0f);
    for (int64_t c = 0; c < cols; ++c)
      for (int32_t e = idx.colPtr[c]; e < idx.colPtr[c + 1]; ++e) {
        if (e > idx.colPtr[c])
          EXPECT_LT(idx.rowIdx[e - 1], idx.rowIdx[e]);
        dense[idx.rowIdx[e] * cols + c] = idx.colValues[e];
      }
    EXPECT_EQ(dense, w);
    EXPECT_EQ(idx.nnz(), (int64_t)nonzeros(w).size());
    if (threads == 1) {
      ref = idx;
    } else {
      EXPECT_EQ(idx.rowIdx, ref.rowIdx);
      EXPECT_EQ(idx.colPtr, ref.colPtr);
    }
  }
}

} // namespace

namespace {

// Tests that a pipelined batch gives each matrix exactly what projecting it
// alone gives (values and index), on 1, 2 and 3 threads, with a prepare hook
// that rewrites each block before it is observed.
TEST(TopK, BatchMatchesSingleProjections) {
  struct M {
    int64_t rows, cols;
    UnitAxis axis;
    double density;
  };
  const std::vector<M> mats = {{300, 200, UnitAxis::Rows, 1.0 / 64},
                               {64, 700, UnitAxis::Cols, 1.0 / 1000},
                               {1, 5000, UnitAxis::None, 0.1},
                               {512, 256, UnitAxis::Rows, 1.0},
                               {40, 40, UnitAxis::Cols, 0.3}};
  // Reference: prepare (x -> 2x - 0.01) applied up front, then projectTopK.
  std::vector<std::vector<float>> inputs, expect;
  std::vector<SparseIndex> expectIndex(mats.size());
  ThreadPool one(1);
  for (size_t k = 0; k < mats.size(); ++k) {
    const M &m = mats[k];
    inputs.push_back(normalMatrix(m.rows * m.cols, 40 + k));
    std::vector<float> w = inputs.back();
    for (float &x : w)
      x = 2.0f * x - 0.01f;
    ParamSpec spec = matrixSpec(m.rows, m.cols, m.axis);
    projectTopK(w.data(), spec, l0Budget(spec, m.density, 4), 4, 0.25f, one,
                &expectIndex[k]);
    expect.push_back(std::move(w));
  }
  for (unsigned threads : {1u, 2u, 3u}) {
    ThreadPool pool(threads);
    std::vector<std::vector<float>> w = inputs;
    std::vector<std::unique_ptr<TopKProjector>> projectors;
    std::vector<SparseIndex> index(mats.size());
    std::vector<ProjectionJob> jobs;
    for (size_t k = 0; k < mats.size(); ++k) {
      const M &m = mats[k];
      projectors.push_back(
          std::make_unique<TopKProjector>(m.rows, m.cols, m.axis, 4));
      float *data = w[k].data();
      ProjectionJob job{
          projectors.back().get(),
          data,
          l0Budget(matrixSpec(m.rows, m.cols, m.axis), m.density, 4),
          0.25f,
          &index[k],
          [data](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i)
              data[i] = 2.0f * data[i] - 0.01f;
          },
          [data](int64_t i) { return 2.0f * data[i] - 0.01f; }};
      jobs.push_back(std::move(job));
    }
    int64_t kept = projectBatch(jobs, pool);
    int64_t expectKept = 0;
    for (size_t k = 0; k < mats.size(); ++k) {
      EXPECT_EQ(w[k], expect[k]) << "matrix " << k << ", " << threads;
      EXPECT_EQ(index[k].colIdx, expectIndex[k].colIdx);
      EXPECT_EQ(index[k].rowIdx, expectIndex[k].rowIdx);
      EXPECT_EQ(index[k].colValues, expectIndex[k].colValues);
      expectKept += expectIndex[k].nnz();
    }
    EXPECT_EQ(kept, expectKept);
  }
}

} // namespace
