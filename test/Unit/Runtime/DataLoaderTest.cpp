//===- DataLoaderTest.cpp - packed-sequence batch tests
//--------------------===//
#include "circ_runtime/DataLoader.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

using namespace circ::rt;

namespace {

std::shared_ptr<const std::vector<int32_t>> iota(size_t n) {
  auto v = std::make_shared<std::vector<int32_t>>(n);
  std::iota(v->begin(), v->end(), 0);
  return v;
}

std::unique_ptr<DataLoader> make(std::shared_ptr<const std::vector<int32_t>> t,
                                 DataLoaderOptions o) {
  auto dl = DataLoader::create(std::move(t), o);
  EXPECT_TRUE(dl) << dl.message();
  return std::move(*dl);
}

std::vector<std::vector<int32_t>> take(DataLoader &dl, int n) {
  std::vector<std::vector<int32_t>> out;
  Batch b;
  for (int i = 0; i < n; ++i) {
    dl.next(b);
    out.push_back(b.tokens);
  }
  return out;
}

// Tests the permutation against an independent Python implementation of the
// same generator (splitmix64, Lemire's bounded draw, Fisher-Yates), so the
// order is pinned across standard libraries.
TEST(DataLoader, OrderMatchesReferenceGenerator) {
  auto dl = make(iota(10 * 4 + 1), {1, 4, 42, true, 0, 0});
  ASSERT_EQ(dl->sequencesPerEpoch(), 10);
  std::vector<int64_t> e0, e1;
  for (uint64_t p = 0; p < 10; ++p) {
    e0.push_back(dl->sequenceAt(p));
    e1.push_back(dl->sequenceAt(10 + p));
  }
  EXPECT_EQ(e0, (std::vector<int64_t>{8, 3, 6, 5, 4, 0, 9, 2, 1, 7}));
  EXPECT_EQ(e1, (std::vector<int64_t>{5, 9, 6, 4, 1, 3, 0, 8, 2, 7}));
  auto other = make(iota(41), {1, 4, 7, true, 0, 0});
  EXPECT_EQ(other->sequenceAt(0), 9);
  EXPECT_EQ(other->sequenceAt(9), 3);
}

// Tests that rows are the packed windows (inputs and shifted targets) and
// that every epoch visits every sequence once.
TEST(DataLoader, RowsArePackedWindowsCoveringEachEpoch) {
  const int64_t ctx = 8, batch = 3;
  auto tokens = iota(ctx * 25 + 5); // 25 sequences, a short tail unused
  auto dl = make(tokens, {batch, ctx, 9, true, 0, 4});
  ASSERT_EQ(dl->sequencesPerEpoch(), 25);
  std::multiset<int64_t> seen;
  Batch b;
  for (int i = 0; i < 50; ++i) { // 150 rows = 6 epochs
    dl.get()->next(b);
    ASSERT_EQ(b.rows, batch);
    ASSERT_EQ(b.rowLength, ctx + 1);
    ASSERT_EQ(b.position, uint64_t(i * batch));
    for (int64_t r = 0; r < batch; ++r) {
      const int32_t *row = b.tokens.data() + r * (ctx + 1);
      EXPECT_EQ(row[0] % ctx, 0);
      for (int64_t k = 0; k <= ctx; ++k)
        EXPECT_EQ(row[k], row[0] + k);
      seen.insert(row[0] / ctx);
    }
  }
  for (int64_t s = 0; s < 25; ++s)
    EXPECT_EQ(seen.count(s), 6u) << s;
  EXPECT_EQ(dl->position(), 150u);
}

// Tests determinism, seed dependence, and that a loader resumed from a saved
// position continues with exactly the batches of an uninterrupted one, with
// or without the prefetch thread.
TEST(DataLoader, DeterministicAndResumable) {
  auto tokens = iota(16 * 100 + 1);
  DataLoaderOptions o{4, 16, 123, true, 0, 3};
  auto a = make(tokens, o);
  auto all = take(*a, 60); // 240 rows: crosses two epoch boundaries
  auto again = make(tokens, o);
  EXPECT_EQ(take(*again, 60), all);

  o.prefetch = 0;
  auto sync = make(tokens, o);
  auto first = take(*sync, 23);
  uint64_t saved = sync->position();
  EXPECT_EQ(saved, 92u);
  for (unsigned prefetch : {0u, 2u}) {
    DataLoaderOptions r = o;
    r.startPosition = saved;
    r.prefetch = prefetch;
    auto resumed = make(tokens, r);
    auto rest = take(*resumed, 37);
    std::vector<std::vector<int32_t>> joined = first;
    joined.insert(joined.end(), rest.begin(), rest.end());
    EXPECT_EQ(joined, all) << "prefetch " << prefetch;
    EXPECT_EQ(resumed->position(), 240u);
  }

  DataLoaderOptions s = o;
  s.seed = 124;
  auto otherSeed = make(tokens, s);
  EXPECT_NE(take(*otherSeed, 5),
            std::vector<std::vector<int32_t>>(all.begin(), all.begin() + 5));
}

TEST(DataLoader, SequentialWithoutShuffle) {
  auto dl = make(iota(4 * 5 + 1), {2, 4, 0, false, 0, 2});
  auto batches = take(*dl, 3);
  EXPECT_EQ(batches[0], (std::vector<int32_t>{0, 1, 2, 3, 4, 4, 5, 6, 7, 8}));
  EXPECT_EQ(batches[2][0], 16); // sequence 4, then wraps to 0
  EXPECT_EQ(batches[2][5], 0);
}

TEST(DataLoader, RejectsBadShapes) {
  auto shortStream = DataLoader::create(iota(8), {1, 8, 0, true, 0, 0});
  ASSERT_FALSE(shortStream);
  EXPECT_NE(shortStream.message().find("has 8 tokens, fewer than one sequence "
                                       "of ctx + 1 = 9"),
            std::string::npos)
      << shortStream.message();
  EXPECT_FALSE(DataLoader::create(iota(100), {0, 8, 0, true, 0, 0}));
  EXPECT_FALSE(DataLoader::create(nullptr, {1, 8, 0, true, 0, 0}));
}

} // namespace
