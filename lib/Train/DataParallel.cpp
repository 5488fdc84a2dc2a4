//===- DataParallel.cpp - data-parallel training steps ----------*- C++ -*-===//
#include "circ/Train/DataParallel.h"

#include <algorithm>

using namespace circ;
using namespace circ::train;

rt::Expected<int64_t> circ::train::rowsPerRank(const Communicator &comm,
                                               int64_t batch) {
  if (batch % comm.size() != 0)
    return rt::Error::failure("the batch of " + std::to_string(batch) +
                              " rows does not split evenly over " +
                              std::to_string(comm.size()) +
                              " ranks; run a number of ranks that divides it");
  return batch / comm.size();
}

void circ::train::takeShard(const Communicator &comm, const rt::Batch &global,
                            rt::Batch &local) {
  const int64_t rows = global.rows / comm.size();
  local.rows = rows;
  local.rowLength = global.rowLength;
  local.position = global.position + rows * comm.rank();
  auto first = global.tokens.begin() + rows * comm.rank() * global.rowLength;
  local.tokens.assign(first, first + rows * global.rowLength);
}

void circ::train::averageGradients(Communicator &comm, rt::ParamStore &store) {
  if (comm.size() == 1 || store.size() == 0)
    return;
  // The gradients are one allocation in parameter order, so the whole span
  // (alignment padding included, which is zero) goes in one collective.
  float *first = store.grads(0);
  const size_t last = store.size() - 1;
  const size_t n = (store.grads(last) + store.numel(last)) - first;
  comm.sum(first, n);
  const float scale = 1.0f / static_cast<float>(comm.size());
  for (size_t i = 0; i < n; ++i)
    first[i] *= scale;
}

double circ::train::averageOverRanks(Communicator &comm, double value) {
  comm.sum(&value, 1);
  return value / comm.size();
}

uint64_t circ::train::weightChecksum(const rt::ParamStore &store) {
  if (store.size() == 0)
    return 0;
  const float *first = store.values(0);
  const size_t last = store.size() - 1;
  return checksumFloats(first,
                        (store.values(last) + store.numel(last)) - first);
}
