//===- DataLoader.cpp - batches of packed token sequences -----------------===//
#include "circ_runtime/DataLoader.h"

#include <cstring>
#include <string>

namespace circ::rt {

namespace {
/// splitmix64: a fixed, portable generator (std::shuffle's algorithm is
/// unspecified, so it would break resumption across standard libraries).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) without modulo bias (Lemire's method).
  uint64_t below(uint64_t n) {
    unsigned __int128 m = (unsigned __int128)next() * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      uint64_t threshold = -n % n;
      while (low < threshold) {
        m = (unsigned __int128)next() * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
};
} // namespace

Expected<std::unique_ptr<DataLoader>>
DataLoader::create(std::shared_ptr<const std::vector<int32_t>> tokens,
                   const DataLoaderOptions &options) {
  if (options.batch <= 0 || options.ctx <= 0)
    return Error::failure("data loader: batch and ctx must be positive (got " +
                          std::to_string(options.batch) + " and " +
                          std::to_string(options.ctx) + ")");
  if (!tokens || tokens->size() < static_cast<size_t>(options.ctx) + 1)
    return Error::failure("data loader: the token stream has " +
                          std::to_string(tokens ? tokens->size() : 0) +
                          " tokens, fewer than one sequence of ctx + 1 = " +
                          std::to_string(options.ctx + 1) +
                          "; use a larger corpus or a "
                          "smaller ctx");
  return std::unique_ptr<DataLoader>(
      new DataLoader(std::move(tokens), options));
}

DataLoader::DataLoader(std::shared_ptr<const std::vector<int32_t>> tokens,
                       const DataLoaderOptions &options)
    : tokens(std::move(tokens)), opts(options),
      numSequences(static_cast<int64_t>(this->tokens->size() - 1) /
                   options.ctx),
      consumed(options.startPosition) {
  if (opts.prefetch > 0)
    worker = std::thread([this] { produce(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  space.notify_all();
  if (worker.joinable())
    worker.join();
}

int64_t DataLoader::sequenceAt(uint64_t position) const {
  const uint64_t n = static_cast<uint64_t>(numSequences);
  const uint64_t epoch = position / n, index = position % n;
  if (!opts.shuffle)
    return static_cast<int64_t>(index);
  std::lock_guard<std::mutex> lock(permMutex);
  if (permEpoch != epoch) {
    perm.resize(n);
    for (uint64_t i = 0; i < n; ++i)
      perm[i] = static_cast<int64_t>(i);
    SplitMix64 rng{opts.seed ^ (epoch * 0xD1B54A32D192ED03ull)};
    for (uint64_t i = n - 1; i > 0; --i)
      std::swap(perm[i], perm[rng.below(i + 1)]);
    permEpoch = epoch;
  }
  return perm[index];
}

void DataLoader::fill(Batch &b, uint64_t position) {
  const int64_t len = opts.ctx + 1;
  b.rows = opts.batch;
  b.rowLength = len;
  b.position = position;
  b.tokens.resize(static_cast<size_t>(opts.batch * len));
  for (int64_t r = 0; r < opts.batch; ++r) {
    int64_t s = sequenceAt(position + static_cast<uint64_t>(r));
    std::memcpy(b.tokens.data() + r * len, tokens->data() + s * opts.ctx,
                static_cast<size_t>(len) * sizeof(int32_t));
  }
}

void DataLoader::produce() {
  uint64_t position = consumed;
  for (;;) {
    Batch b;
    {
      std::unique_lock<std::mutex> lock(mutex);
      space.wait(lock,
                 [&] { return stopping || queue.size() < opts.prefetch; });
      if (stopping)
        return;
      if (!spare.empty()) {
        b.tokens = std::move(spare.back());
        spare.pop_back();
      }
    }
    fill(b, position);
    position += static_cast<uint64_t>(opts.batch);
    {
      std::lock_guard<std::mutex> lock(mutex);
      queue.push_back(std::move(b));
    }
    ready.notify_one();
  }
}

void DataLoader::next(Batch &out) {
  if (!worker.joinable()) {
    fill(out, consumed);
  } else {
    std::unique_lock<std::mutex> lock(mutex);
    ready.wait(lock, [&] { return !queue.empty(); });
    if (!out.tokens.empty())
      spare.push_back(std::move(out.tokens));
    out = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    space.notify_one();
  }
  consumed += static_cast<uint64_t>(opts.batch);
}

} // namespace circ::rt
