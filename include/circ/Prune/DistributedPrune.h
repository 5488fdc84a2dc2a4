//===- DistributedPrune.h - a suite's tasks over ranks ----------*- C++ -*-===//
//
// `mpirun -np N circc prune`: rank r prunes tasks r, r+N, r+2N, ... of the
// suite (each writes its tasks' directories), then rank 0 gathers every
// outcome, in task order, and writes the index (docs/distributed.md).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_DISTRIBUTEDPRUNE_H
#define CIRC_PRUNE_DISTRIBUTEDPRUNE_H

#include "circ/Prune/PruneRun.h"
#include "circ/Train/Communicator.h"

namespace circ::prune {

/// Whether this rank prunes task `i` (every task without a communicator).
bool ownsTask(const train::Communicator *comm, size_t i);

/// On rank 0: the outcomes of all `taskCount` tasks in task order, from each
/// rank's `mine` (the tasks ownsTask gave it, in order). On other ranks:
/// `mine`. Fails on rank 0 if a rank sent something undecodable.
rt::Expected<std::vector<TaskOutcome>>
gatherOutcomes(train::Communicator *comm, std::vector<TaskOutcome> mine,
               size_t taskCount);

/// The byte form gatherOutcomes sends; decode(encode(x)) == x.
std::string encodeOutcomes(const std::vector<TaskOutcome> &outcomes);
rt::Expected<std::vector<TaskOutcome>> decodeOutcomes(const std::string &bytes);

} // namespace circ::prune

#endif // CIRC_PRUNE_DISTRIBUTEDPRUNE_H
