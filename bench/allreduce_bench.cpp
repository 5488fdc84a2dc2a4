//===- allreduce_bench.cpp - cost of the gradient sum -----------*- C++ -*-===//
//
// Run under mpirun: times the Communicator's sum (reduce to rank 0, then
// broadcast: identical bits on every rank, what `circc train` uses) against
// a plain MPI_Allreduce, on gradient-sized float buffers. Prints, per size,
// the median over repetitions (rank 0).
//
//   mpirun -np 2 bench/allreduce_bench [floats...]   (default: 320224, the
//   parameter count of examples/tiny.circ, and 4 Mi)
//
//===----------------------------------------------------------------------===//
#include "circ/Train/Communicator.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace circ::train;

template <typename F> static double medianMicros(int reps, F &&body) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    auto start = std::chrono::steady_clock::now();
    body();
    t.push_back(std::chrono::duration<double, std::micro>(
                    std::chrono::steady_clock::now() - start)
                    .count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int main(int argc, char **argv) {
  circ::rt::Expected<std::unique_ptr<Communicator>> comm =
      createWorldCommunicator();
  if (!comm || (*comm)->size() < 2) {
    std::fprintf(stderr, "allreduce_bench: run it under mpirun with 2 or "
                         "more ranks\n");
    return 2;
  }
  Communicator &world = **comm;
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i)
    sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  if (sizes.empty())
    sizes = {320224, size_t(4) << 20};
  if (world.isRoot())
    std::printf("%s\n%12s %12s %18s %16s\n", world.describe().c_str(), "floats",
                "MB", "reduce+bcast us", "allreduce us");
  for (size_t n : sizes) {
    std::vector<float> g(n, 1.0f + world.rank());
    const int reps = n > (size_t(1) << 22) ? 20 : 200;
    double ours = medianMicros(reps, [&] { world.sum(g.data(), n); });
    double plain = medianMicros(reps, [&] {
      MPI_Allreduce(MPI_IN_PLACE, g.data(), static_cast<int>(n), MPI_FLOAT,
                    MPI_SUM, MPI_COMM_WORLD);
    });
    if (world.isRoot())
      std::printf("%12zu %12.2f %18.0f %16.0f\n", n, n * 4.0 / 1e6, ours,
                  plain);
  }
  return 0;
}
