//===- DistributedPruneTest.cpp - task ownership, gathering -----*- C++ -*-===//
#include "circ/Prune/DistributedPrune.h"
#include "ScriptedCommunicator.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace circ;
using namespace circ::prune;
using circ::train::ScriptedCommunicator;

namespace {

TaskOutcome outcome(const std::string &task, int64_t nodes) {
  TaskOutcome t;
  t.task = task;
  t.pruned = true;
  t.reachedTarget = nodes % 2 == 0;
  t.nodes = nodes;
  t.edges = 3 * nodes;
  t.loss = 0.125 * nodes;
  t.fullLoss = 0.5;
  t.dir = "out/" + task;
  t.seconds = 1.5;
  t.audit.push_back({"sufficiency", "the circuit alone", 0.25, 0.15, "pass"});
  t.audit.push_back({"necessity", "", 1.0, std::nullopt, "fail"});
  return t;
}

void expectSame(const TaskOutcome &a, const TaskOutcome &b) {
  EXPECT_EQ(a.task, b.task);
  EXPECT_EQ(a.pruned, b.pruned);
  EXPECT_EQ(a.skipped, b.skipped);
  EXPECT_EQ(a.reachedTarget, b.reachedTarget);
  EXPECT_EQ(a.nodes, b.nodes);
  EXPECT_EQ(a.edges, b.edges);
  EXPECT_EQ(std::isnan(a.loss), std::isnan(b.loss));
  if (!std::isnan(a.loss))
    EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.fullLoss, b.fullLoss);
  EXPECT_EQ(a.dir, b.dir);
  EXPECT_EQ(a.seconds, b.seconds);
  ASSERT_EQ(a.audit.size(), b.audit.size());
  for (size_t i = 0; i < a.audit.size(); ++i) {
    EXPECT_EQ(a.audit[i].check, b.audit[i].check);
    EXPECT_EQ(a.audit[i].description, b.audit[i].description);
    EXPECT_EQ(a.audit[i].value, b.audit[i].value);
    EXPECT_EQ(a.audit[i].reference, b.audit[i].reference);
    EXPECT_EQ(a.audit[i].verdict, b.audit[i].verdict);
  }
}

TEST(DistributedPrune, RanksTakeTasksRoundRobin) {
  ScriptedCommunicator r0(0, 3), r2(2, 3);
  EXPECT_TRUE(ownsTask(&r0, 0));
  EXPECT_TRUE(ownsTask(&r0, 3));
  EXPECT_FALSE(ownsTask(&r0, 2));
  EXPECT_TRUE(ownsTask(&r2, 5));
  EXPECT_FALSE(ownsTask(&r2, 6));
  EXPECT_TRUE(ownsTask(nullptr, 7));
}

TEST(DistributedPrune, OutcomesRoundTrip) {
  std::vector<TaskOutcome> outcomes = {outcome("a", 4), outcome("b", 7)};
  outcomes[1].loss = std::nan("");
  outcomes[1].skipped = "does not fit";
  rt::Expected<std::vector<TaskOutcome>> back =
      decodeOutcomes(encodeOutcomes(outcomes));
  ASSERT_TRUE(back) << back.message();
  ASSERT_EQ(back->size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    expectSame(outcomes[i], (*back)[i]);
  rt::Expected<std::vector<TaskOutcome>> empty =
      decodeOutcomes(encodeOutcomes({}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(DistributedPrune, MalformedBytesAreAnError) {
  std::string bytes = encodeOutcomes({outcome("a", 4)});
  for (std::string bad : {bytes.substr(0, bytes.size() - 1), bytes + "x",
                          std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8)}) {
    rt::Expected<std::vector<TaskOutcome>> decoded = decodeOutcomes(bad);
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.message().find("malformed task outcome"),
              std::string::npos);
  }
}

TEST(DistributedPrune, RootGathersInTaskOrder) {
  // Five tasks over two ranks: rank 0 has 0, 2, 4; rank 1 has 1, 3.
  ScriptedCommunicator root(0, 2);
  root.gatheredBytes = {"",
                        encodeOutcomes({outcome("t1", 1), outcome("t3", 3)})};
  rt::Expected<std::vector<TaskOutcome>> all = gatherOutcomes(
      &root, {outcome("t0", 0), outcome("t2", 2), outcome("t4", 4)}, 5);
  ASSERT_TRUE(all) << all.message();
  ASSERT_EQ(all->size(), 5u);
  for (int i = 0; i < 5; ++i)
    expectSame((*all)[i], outcome("t" + std::to_string(i), i));

  root.gatheredBytes = {"", encodeOutcomes({outcome("t1", 1)})};
  rt::Expected<std::vector<TaskOutcome>> missing = gatherOutcomes(
      &root, {outcome("t0", 0), outcome("t2", 2), outcome("t4", 4)}, 5);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(), "rank 1 sent no outcome for task 3");
}

TEST(DistributedPrune, OtherRanksKeepTheirOwn) {
  ScriptedCommunicator rank1(1, 2);
  rank1.gatheredBytes = {"", ""};
  rt::Expected<std::vector<TaskOutcome>> mine =
      gatherOutcomes(&rank1, {outcome("t1", 1)}, 2);
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 1u);
  expectSame((*mine)[0], outcome("t1", 1));
}

} // namespace
