//===- ThreadPool.cpp - small reusable pool for runtime kernels -*- C++ -*-===//
#include "circ_runtime/ThreadPool.h"

#include <cstdio>
#include <cstdlib>

namespace circ::rt {

// Set while a thread executes a task, so that nested run() calls go inline
// instead of deadlocking on the busy pool.
static thread_local bool insideTask = false;

ThreadPool::ThreadPool(unsigned numThreads) {
  unsigned n = numThreads < 1 ? 1 : numThreads;
  workers.reserve(n - 1);
  for (unsigned slot = 1; slot < n; ++slot)
    workers.emplace_back([this, slot] { workerLoop(slot); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_all();
  for (std::thread &t : workers)
    t.join();
}

void ThreadPool::drain(unsigned slot) {
  insideTask = true;
  for (;;) {
    int64_t task = nextTask.fetch_add(1, std::memory_order_relaxed);
    if (task >= jobTasks)
      break;
    try {
      (*job)(task, slot);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!firstError)
        firstError = std::current_exception();
    }
  }
  insideTask = false;
}

void ThreadPool::workerLoop(unsigned slot) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
    }
    drain(slot);
    std::lock_guard<std::mutex> lock(mutex);
    if (--busyWorkers == 0)
      done.notify_one();
  }
}

void ThreadPool::run(int64_t numTasks,
                     const std::function<void(int64_t, unsigned)> &fn) {
  if (numTasks <= 0)
    return;
  if (insideTask || workers.empty() || numTasks == 1) {
    bool outer = insideTask;
    insideTask = true;
    try {
      for (int64_t t = 0; t < numTasks; ++t)
        fn(t, 0);
    } catch (...) {
      insideTask = outer;
      throw;
    }
    insideTask = outer;
    return;
  }
  std::lock_guard<std::mutex> runLock(runMutex);
  {
    std::lock_guard<std::mutex> lock(mutex);
    job = &fn;
    jobTasks = numTasks;
    nextTask.store(0, std::memory_order_relaxed);
    busyWorkers = static_cast<unsigned>(workers.size());
    firstError = nullptr;
    ++generation;
  }
  wake.notify_all();
  drain(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return busyWorkers == 0; });
    job = nullptr;
    error = firstError;
    firstError = nullptr;
  }
  if (error)
    std::rethrow_exception(error);
}

ThreadPool &ThreadPool::global() {
  static ThreadPool pool([] {
    if (const char *env = std::getenv("CIRC_NUM_THREADS")) {
      char *end = nullptr;
      long n = std::strtol(env, &end, 10);
      if (end != env && *end == '\0' && n > 0 && n <= 1024)
        return static_cast<unsigned>(n);
      std::fprintf(stderr,
                   "circ: warning: ignoring CIRC_NUM_THREADS='%s' (expected "
                   "an integer in 1..1024)\n",
                   env);
    }
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1u : hw;
  }());
  return pool;
}

} // namespace circ::rt
