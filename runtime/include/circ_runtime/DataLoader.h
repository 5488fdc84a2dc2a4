//===- DataLoader.h - batches of packed token sequences ---------*- C++ -*-===//
//
// The token stream is cut into sequences of ctx + 1 tokens that overlap by one
// (sequence s is tokens[s*ctx, s*ctx + ctx + 1)), so every token is a target
// exactly once per epoch. A batch is `batch` sequences, row-major
// [batch, ctx + 1] int32: row[:ctx] are the inputs, row[1:] the next-token
// targets.
//
// Order: epoch e visits all sequences in a permutation drawn from (seed, e)
// (or in stream order without shuffling). The loader's *position* counts
// sequences handed out; batches depend only on (tokens, ctx, batch, seed,
// position), so a run resumed at a saved position sees exactly the batches
// the uninterrupted run would have seen. A background thread keeps a few
// batches ready so next() does not wait.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_DATALOADER_H
#define CIRC_RUNTIME_DATALOADER_H

#include "circ_runtime/Error.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace circ::rt {

struct Batch {
  int64_t rows = 0;
  int64_t rowLength = 0;       ///< ctx + 1
  uint64_t position = 0;       ///< loader position of the first row
  std::vector<int32_t> tokens; ///< rows * rowLength
};

struct DataLoaderOptions {
  int64_t batch = 8;
  int64_t ctx = 256;
  uint64_t seed = 0;
  bool shuffle = true;
  uint64_t startPosition = 0; ///< resume here (a saved position())
  unsigned prefetch = 4;      ///< batches kept ready; 0 = no thread
};

class DataLoader {
public:
  /// Refuses streams shorter than one sequence and non-positive shapes.
  static Expected<std::unique_ptr<DataLoader>>
  create(std::shared_ptr<const std::vector<int32_t>> tokens,
         const DataLoaderOptions &options);
  ~DataLoader();
  DataLoader(const DataLoader &) = delete;
  DataLoader &operator=(const DataLoader &) = delete;

  /// Fills `out` with the next batch (its old buffer is recycled).
  void next(Batch &out);
  /// Sequences handed out so far, counted from 0 (not from startPosition);
  /// store it in a checkpoint and pass it back as startPosition.
  uint64_t position() const { return consumed; }
  int64_t sequencesPerEpoch() const { return numSequences; }
  /// The sequence visited at a position: the loader's order, exposed so
  /// tests and evaluation can check it.
  int64_t sequenceAt(uint64_t position) const;

private:
  DataLoader(std::shared_ptr<const std::vector<int32_t>> tokens,
             const DataLoaderOptions &options);
  void fill(Batch &b, uint64_t position);
  void produce();

  std::shared_ptr<const std::vector<int32_t>> tokens;
  DataLoaderOptions opts;
  int64_t numSequences;
  uint64_t consumed;
  // The permutation of the epoch last asked for (the producer's, or the
  // caller's when there is no thread).
  mutable std::mutex permMutex;
  mutable uint64_t permEpoch = UINT64_MAX;
  mutable std::vector<int64_t> perm;

  std::mutex mutex;
  std::condition_variable ready, space;
  std::deque<Batch> queue;
  std::vector<std::vector<int32_t>> spare;
  bool stopping = false;
  std::thread worker;
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_DATALOADER_H
