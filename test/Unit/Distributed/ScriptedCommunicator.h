//===- ScriptedCommunicator.h - a rank whose peers are scripted -*- C++ -*-===//
#ifndef CIRC_TEST_UNIT_DISTRIBUTED_SCRIPTEDCOMMUNICATOR_H
#define CIRC_TEST_UNIT_DISTRIBUTED_SCRIPTEDCOMMUNICATOR_H

#include "circ/Train/Communicator.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace circ::train {

/// Rank `rank` of `size`; sum() adds what the other ranks would contribute.
class ScriptedCommunicator final : public Communicator {
public:
  ScriptedCommunicator(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int localSize() const override { return size_; }
  std::string describe() const override { return "scripted"; }
  void sum(float *data, size_t n) override {
    ASSERT_EQ(n, othersFloats.size());
    for (size_t i = 0; i < n; ++i)
      data[i] += othersFloats[i];
  }
  void sum(double *data, size_t n) override {
    ASSERT_EQ(n, 1u);
    *data += othersDouble;
  }
  void broadcast(void *, size_t, int) override {}
  void barrier() override {}
  std::vector<uint64_t> allGather(uint64_t value) override {
    std::vector<uint64_t> all = gathered;
    all[rank_] = value;
    return all;
  }
  std::vector<std::string> gatherToRoot(const std::string &bytes) override {
    std::vector<std::string> all = gatheredBytes;
    all[rank_] = bytes;
    return all;
  }
  [[noreturn]] void abort(int code) override { std::exit(code); }

  std::vector<std::string> gatheredBytes;
  std::vector<float> othersFloats;
  double othersDouble = 0;
  std::vector<uint64_t> gathered;

private:
  int rank_, size_;
};

} // namespace circ::train

#endif // CIRC_TEST_UNIT_DISTRIBUTED_SCRIPTEDCOMMUNICATOR_H
