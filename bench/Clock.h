//===- Clock.h - wall and process CPU time for the benchmarks ---*- C++ -*-===//
//
// Both clocks in milliseconds: on a shared machine the process's CPU time
// (all threads) is the steadier figure, so the benches report it beside
// the wall time.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_BENCH_CLOCK_H
#define CIRC_BENCH_CLOCK_H

#include <chrono>
#include <ctime>

namespace circ::bench {

inline double nowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch())
      .count();
}

inline double cpuMs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

} // namespace circ::bench

#endif // CIRC_BENCH_CLOCK_H
