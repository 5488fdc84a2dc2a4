//===- ThreadPool.h - small reusable pool for runtime kernels ---*- C++ -*-===//
//
// A fixed set of worker threads that run indexed tasks. Results never depend
// on how tasks land on threads: callers split work into blocks whose bounds
// depend only on the problem size, write each block's result to its own slot
// and reduce the slots in block order. The calling thread takes part, so a
// pool of size 1 has no workers and runs everything inline.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_THREADPOOL_H
#define CIRC_RUNTIME_THREADPOOL_H

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace circ::rt {

class ThreadPool {
public:
  /// A pool of `numThreads` threads in total, the caller included (>= 1).
  explicit ThreadPool(unsigned numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Total number of threads, the caller included.
  unsigned size() const { return static_cast<unsigned>(workers.size()) + 1; }

  /// Runs fn(task, slot) for every task in [0, numTasks) and returns when all
  /// have finished. `slot` < size() identifies the executing thread for
  /// per-thread scratch; no two concurrent tasks share a slot. A call from
  /// inside a task runs its tasks inline on slot 0 of a fresh numbering, so
  /// nested use is safe but serial. The first exception a task throws is
  /// rethrown here after the others finish.
  void run(int64_t numTasks,
           const std::function<void(int64_t task, unsigned slot)> &fn);

  /// The process-wide pool: CIRC_NUM_THREADS threads if that variable holds a
  /// positive integer, else std::thread::hardware_concurrency().
  static ThreadPool &global();

private:
  void workerLoop(unsigned slot);
  void drain(unsigned slot);

  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  uint64_t generation = 0;
  bool stopping = false;
  // The job in flight (valid while a run() is active).
  const std::function<void(int64_t, unsigned)> *job = nullptr;
  int64_t jobTasks = 0;
  std::atomic<int64_t> nextTask{0};
  unsigned busyWorkers = 0;
  std::exception_ptr firstError;
  std::mutex runMutex; // one run() at a time from different outside threads
};

/// Splits [0, n) into ceil(n / block) blocks of `block` elements (the last one
/// shorter) and runs fn(blockIndex, begin, end, slot) over the pool. Block
/// bounds depend on n and block only, never on the thread count.
template <typename Fn>
void parallelBlocks(ThreadPool &pool, int64_t n, int64_t block, Fn &&fn) {
  if (n <= 0)
    return;
  int64_t numBlocks = (n + block - 1) / block;
  pool.run(numBlocks, [&](int64_t b, unsigned slot) {
    int64_t begin = b * block;
    fn(b, begin, std::min(n, begin + block), slot);
  });
}

} // namespace circ::rt

#endif // CIRC_RUNTIME_THREADPOOL_H
