//===- Communicator.h - collectives for data-parallel runs ------*- C++ -*-===//
//
// The few collectives data-parallel training and pruning need, over MPI when
// circc was built with it and launched by mpirun/srun, else over one process.
//
// Determinism: sum() gives every rank the same bits (one rank reduces, then
// broadcasts), so all ranks apply the same optimizer step to the same
// gradients; verifyAgreement() checks that with a checksum of the weights.
// MPI failures are fatal (MPI_ERRORS_ARE_FATAL): a dead rank ends the job.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TRAIN_COMMUNICATOR_H
#define CIRC_TRAIN_COMMUNICATOR_H

#include "circ_runtime/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace circ::train {

class Communicator {
public:
  virtual ~Communicator();
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Ranks on this host (they share its cores).
  virtual int localSize() const = 0;
  bool isRoot() const { return rank() == 0; }
  /// Human-readable backend: "MPI (Open MPI v4.1.4), 2 ranks" or "1 process".
  virtual std::string describe() const = 0;

  /// Element-wise sum over ranks, in place; every rank receives identical
  /// bits.
  virtual void sum(float *data, size_t n) = 0;
  virtual void sum(double *data, size_t n) = 0;
  /// Copies `bytes` bytes from rank `root` to every rank.
  virtual void broadcast(void *data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  /// Every rank's `value`, in rank order, on every rank.
  virtual std::vector<uint64_t> allGather(uint64_t value) = 0;
  /// Every rank's `bytes`, in rank order, on rank 0; empty on the others.
  virtual std::vector<std::string> gatherToRoot(const std::string &bytes) = 0;
  /// Ends every rank of the job with `code` (one rank failed alone; the
  /// others would wait forever in the next collective). Single process: exit.
  [[noreturn]] virtual void abort(int code) = 0;

  /// Collective: fails on every rank when some rank's `checksum` differs,
  /// naming the ranks and `what` was compared.
  rt::Error verifyAgreement(uint64_t checksum, const std::string &what);
};

/// Reports this rank's failure as "circc: error: <message>" on stderr and
/// returns `code`; when several ranks run, names the rank and ends the whole
/// job instead (the others may be waiting for this one in a collective).
int reportFailure(Communicator &comm, const std::string &message, int code);

/// One process: rank 0 of 1; sums and broadcasts are no-ops.
std::unique_ptr<Communicator> createSingleProcessCommunicator();

/// The job's communicator: MPI's world when circc was built with MPI and the
/// process was started by a launcher (mpirun, mpiexec, srun with PMI/PMIx),
/// else one process. Initialises MPI on first use; MPI is finalised when the
/// last MPI communicator is destroyed. Fails when a launcher started several
/// ranks but this build has no MPI (each would train alone and overwrite the
/// others' files).
rt::Expected<std::unique_ptr<Communicator>> createWorldCommunicator();

/// Whether this build has MPI support.
bool mpiBuiltIn();

/// 64-bit FNV-1a-style hash of the bit patterns of `n` floats (order
/// sensitive, so a transposition or a single flipped bit changes it).
uint64_t checksumFloats(const float *data, size_t n);

} // namespace circ::train

#endif // CIRC_TRAIN_COMMUNICATOR_H
