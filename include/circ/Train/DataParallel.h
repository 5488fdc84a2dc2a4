//===- DataParallel.h - data-parallel training steps ------------*- C++ -*-===//
//
// How `circc train` splits a step across the ranks of a Communicator
// (docs/distributed.md): the spec's batch is the global batch; every rank
// reads the same global batch stream and trains on its own contiguous slice
// of rows; gradients and losses are averaged over ranks before the optimizer,
// which then runs identically everywhere. So N ranks follow the 1-rank run
// up to the order of the gradient sum, and a checkpoint resumes on any
// number of ranks that divides the batch.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TRAIN_DATAPARALLEL_H
#define CIRC_TRAIN_DATAPARALLEL_H

#include "circ/Train/Communicator.h"
#include "circ_runtime/DataLoader.h"
#include "circ_runtime/Error.h"
#include "circ_runtime/ParamStore.h"

namespace circ::train {

/// Rows of the global batch each rank trains on; fails unless the ranks
/// divide the batch evenly (uneven slices would weight rows unequally).
rt::Expected<int64_t> rowsPerRank(const Communicator &comm, int64_t batch);

/// This rank's slice of `global`: rows [rank·n, (rank+1)·n), n = rows/size.
void takeShard(const Communicator &comm, const rt::Batch &global,
               rt::Batch &local);

/// Replaces every gradient in `store` by its mean over ranks (all of the
/// store's gradient memory, one collective), identical bits on every rank.
void averageGradients(Communicator &comm, rt::ParamStore &store);

/// Mean of `value` over ranks, the same on every rank.
double averageOverRanks(Communicator &comm, double value);

/// Checksum of every parameter's values (not the optimizer moments: they
/// follow from the same gradients, and weights are what checkpoints carry).
uint64_t weightChecksum(const rt::ParamStore &store);

} // namespace circ::train

#endif // CIRC_TRAIN_DATAPARALLEL_H
