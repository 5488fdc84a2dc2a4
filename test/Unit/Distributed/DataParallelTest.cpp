//===- DataParallelTest.cpp - sharding, averaging, agreement ----*- C++ -*-===//
//
// The data-parallel pieces against hand-computed values, with a scripted
// communicator standing in for the other ranks (the MPI path itself is
// exercised end to end by test/Distributed under mpirun).
//
//===----------------------------------------------------------------------===//
#include "circ/Train/DataParallel.h"
#include "ScriptedCommunicator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace circ;
using namespace circ::train;

namespace {

TEST(DataParallel, RowsPerRankDividesTheGlobalBatch) {
  ScriptedCommunicator two(0, 2), three(0, 3);
  rt::Expected<int64_t> rows = rowsPerRank(two, 8);
  ASSERT_TRUE(rows);
  EXPECT_EQ(*rows, 4);
  rt::Expected<int64_t> uneven = rowsPerRank(three, 8);
  ASSERT_FALSE(uneven);
  EXPECT_EQ(uneven.message(), "the batch of 8 rows does not split evenly over "
                              "3 ranks; run a number of ranks that divides it");
}

TEST(DataParallel, EachRankTakesItsContiguousRows) {
  rt::Batch global;
  global.rows = 6;
  global.rowLength = 3;
  global.position = 100;
  for (int32_t i = 0; i < 18; ++i)
    global.tokens.push_back(i);
  for (int r = 0; r < 3; ++r) {
    ScriptedCommunicator comm(r, 3);
    rt::Batch local;
    takeShard(comm, global, local);
    EXPECT_EQ(local.rows, 2);
    EXPECT_EQ(local.rowLength, 3);
    EXPECT_EQ(local.position, 100u + 2 * r);
    std::vector<int32_t> expected;
    for (int32_t i = 6 * r; i < 6 * r + 6; ++i)
      expected.push_back(i);
    EXPECT_EQ(local.tokens, expected) << "rank " << r;
  }
}

std::unique_ptr<rt::ParamStore> twoParameterStore() {
  std::vector<ParamSpec> specs = {
      {"a", {2, 3}, ParamKind::Matrix, UnitAxis::None, 0, 0.02},
      {"b", {5}, ParamKind::Bias, UnitAxis::None, 0, 0.0}};
  rt::Expected<std::unique_ptr<rt::ParamStore>> store =
      rt::ParamStore::create(specs);
  EXPECT_TRUE(store);
  return std::move(*store);
}

TEST(DataParallel, GradientsBecomeTheMeanOverRanks) {
  std::unique_ptr<rt::ParamStore> store = twoParameterStore();
  for (size_t p = 0; p < store->size(); ++p)
    for (int64_t i = 0; i < store->numel(p); ++i)
      store->grads(p)[i] = static_cast<float>(10 * p + i);
  ScriptedCommunicator comm(1, 4);
  // The span covers both parameters and the zero padding between them.
  const size_t span = (store->grads(1) + store->numel(1)) - store->grads(0);
  comm.othersFloats.assign(span, 3.0f); // the other three ranks' sum
  averageGradients(comm, *store);
  for (size_t p = 0; p < store->size(); ++p)
    for (int64_t i = 0; i < store->numel(p); ++i)
      EXPECT_EQ(store->grads(p)[i], (10.0f * p + i + 3.0f) / 4.0f)
          << "parameter " << p << " entry " << i;
}

TEST(DataParallel, LossesAverageOverRanks) {
  ScriptedCommunicator comm(0, 2);
  comm.othersDouble = 3.5;
  EXPECT_EQ(averageOverRanks(comm, 2.5), 3.0);
  std::unique_ptr<Communicator> one = createSingleProcessCommunicator();
  EXPECT_EQ(averageOverRanks(*one, 2.5), 2.5);
}

TEST(DataParallel, AgreementNamesTheRanksThatDiffer) {
  ScriptedCommunicator comm(0, 4);
  comm.gathered = {0, 7, 7, 7};
  EXPECT_FALSE(comm.verifyAgreement(7, "the weights"));
  comm.gathered = {0, 9, 7, 8};
  rt::Error e = comm.verifyAgreement(7, "the weights after step 20");
  ASSERT_TRUE(e);
  EXPECT_EQ(e.message(),
            "the weights after step 20 differ between ranks: rank(s) 1, 3 "
            "disagree with rank 0; the ranks no longer train the same model "
            "(a different build, spec or input on some rank?), stopping");
}

TEST(DataParallel, ChecksumSeesEveryBit) {
  std::vector<float> a = {1.0f, -2.5f, 0.0f, 3.25f};
  const uint64_t base = checksumFloats(a.data(), a.size());
  EXPECT_EQ(checksumFloats(a.data(), a.size()), base);
  std::vector<float> swapped = {-2.5f, 1.0f, 0.0f, 3.25f};
  EXPECT_NE(checksumFloats(swapped.data(), swapped.size()), base);
  std::vector<float> negativeZero = {1.0f, -2.5f, -0.0f, 3.25f};
  EXPECT_NE(checksumFloats(negativeZero.data(), negativeZero.size()), base);
  std::vector<float> lastBit = a;
  uint32_t bits;
  std::memcpy(&bits, &lastBit[3], 4);
  bits ^= 1;
  std::memcpy(&lastBit[3], &bits, 4);
  EXPECT_NE(checksumFloats(lastBit.data(), lastBit.size()), base);
}

TEST(DataParallel, WeightChecksumCoversEveryParameter) {
  std::unique_ptr<rt::ParamStore> x = twoParameterStore(),
                                  y = twoParameterStore();
  ASSERT_FALSE(x->initialize(5));
  ASSERT_FALSE(y->initialize(5));
  EXPECT_EQ(weightChecksum(*x), weightChecksum(*y));
  y->values(1)[4] += 1.0f; // the last entry of the last parameter
  EXPECT_NE(weightChecksum(*x), weightChecksum(*y));
  y->values(1)[4] = x->values(1)[4];
  y->values(0)[0] = std::nextafter(y->values(0)[0], 1.0f);
  EXPECT_NE(weightChecksum(*x), weightChecksum(*y));
}

TEST(DataParallel, WithoutALauncherTheWorldIsOneProcess) {
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  ::unsetenv("PMIX_RANK");
  ::unsetenv("PMI_RANK");
  ::unsetenv("PMI_SIZE");
  rt::Expected<std::unique_ptr<Communicator>> world = createWorldCommunicator();
  ASSERT_TRUE(world);
  EXPECT_EQ((*world)->size(), 1);
  EXPECT_EQ((*world)->rank(), 0);
}

TEST(DataParallel, SeveralRanksWithoutMpiAreRefused) {
  if (mpiBuiltIn())
    GTEST_SKIP() << "this build has MPI";
  ::setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  rt::Expected<std::unique_ptr<Communicator>> world = createWorldCommunicator();
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  ASSERT_FALSE(world);
  EXPECT_NE(world.message().find("built without MPI"), std::string::npos);
}

} // namespace
