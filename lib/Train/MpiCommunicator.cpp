//===- MpiCommunicator.cpp - Communicator over MPI_COMM_WORLD ---*- C++ -*-===//
//
// Sums reduce to rank 0 and broadcast the result rather than MPI_Allreduce:
// an all-reduce may associate the partial sums differently on different
// ranks, and then the ranks' optimizer steps, top-k selections and weights
// would drift apart by rounding. Reduce-then-broadcast costs one more
// latency per call and gives every rank the bits rank 0 computed.
//
//===----------------------------------------------------------------------===//
#include "circ/Train/Communicator.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

using namespace circ;
using namespace circ::train;

namespace circ::train {
std::unique_ptr<Communicator> createMpiCommunicator();
} // namespace circ::train

namespace {

/// MPI counts are int: longer buffers go in chunks.
constexpr size_t kMaxChunk = size_t(1) << 30;

int liveCommunicators = 0;

class MpiCommunicator final : public Communicator {
public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided;
      // Only the main thread calls MPI; the thread pool never does.
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    }
    ++liveCommunicators;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_,
                        MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &localSize_);
    MPI_Comm_free(&local);
  }
  ~MpiCommunicator() override {
    if (--liveCommunicators == 0) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized)
        MPI_Finalize();
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int localSize() const override { return localSize_; }
  std::string describe() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string v(version, length);
    v = v.substr(0, v.find_first_of(",\n"));
    return "MPI (" + v + "), " + std::to_string(size_) + " ranks";
  }

  void sum(float *data, size_t n) override { reduce(data, n, MPI_FLOAT); }
  void sum(double *data, size_t n) override { reduce(data, n, MPI_DOUBLE); }

  void broadcast(void *data, size_t bytes, int root) override {
    char *p = static_cast<char *>(data);
    for (size_t at = 0; at < bytes; at += kMaxChunk)
      MPI_Bcast(p + at, static_cast<int>(std::min(kMaxChunk, bytes - at)),
                MPI_BYTE, root, MPI_COMM_WORLD);
  }
  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }
  std::vector<uint64_t> allGather(uint64_t value) override {
    std::vector<uint64_t> all(size_);
    MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T,
                  MPI_COMM_WORLD);
    return all;
  }
  std::vector<std::string> gatherToRoot(const std::string &bytes) override {
    const int length = static_cast<int>(bytes.size());
    std::vector<int> lengths(rank_ == 0 ? size_ : 0), offsets(lengths.size());
    MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0,
               MPI_COMM_WORLD);
    std::string all;
    for (size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = static_cast<int>(all.size());
      all.resize(all.size() + lengths[r]);
    }
    MPI_Gatherv(bytes.data(), length, MPI_BYTE, all.data(), lengths.data(),
                offsets.data(), MPI_BYTE, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    for (size_t r = 0; r < lengths.size(); ++r)
      out.push_back(all.substr(offsets[r], lengths[r]));
    return out;
  }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code); // MPI_Abort does not return; this satisfies noreturn
  }

private:
  template <typename T> void reduce(T *data, size_t n, MPI_Datatype type) {
    if (size_ == 1)
      return;
    for (size_t at = 0; at < n; at += kMaxChunk) {
      int count = static_cast<int>(std::min(kMaxChunk, n - at));
      MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : data + at, data + at, count, type,
                 MPI_SUM, 0, MPI_COMM_WORLD);
      MPI_Bcast(data + at, count, type, 0, MPI_COMM_WORLD);
    }
  }

  int rank_ = 0, size_ = 1, localSize_ = 1;
};

} // namespace

std::unique_ptr<Communicator> circ::train::createMpiCommunicator() {
  return std::make_unique<MpiCommunicator>();
}
