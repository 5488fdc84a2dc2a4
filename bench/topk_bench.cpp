//===- topk_bench.cpp - per-step cost of the L0 projection and optimizer --===//
//
// Config (c) of the performance reference: 4 layers, d_model 1024, d_mlp
// 4096, vocab 2048, d_head 16, at densities 1/1000 and 1/64. Measures, as the
// median over several steps:
//   topk_c_<d>_ms          projection of every sparse parameter (wte, the 16
//                          block matrices, lm_head) to its budget with
//                          projectBatch, values dense-random as after a
//                          dense Adam update;
//   topk_c_<d>_stream_floor_ms   one read and one streaming write of the
//                          same matrices: the least the projection moves;
//   topk_index_c_<d>_ms    the same plus rebuilding CSR + CSC;
//   optim_step_c_<d>_ms    a whole optimizer step (grad RMS, Adam on all
//                          59M parameters, projection, decay, index);
//   optim_sparse_step_c_<d>_ms   the same with sparse-only gradients.
// Each figure also comes as <name>_cpu_ms, the CPU time of all threads,
// which stays meaningful on a shared machine where wall time does not.
// Output: one "name value unit" line per figure. Threads: CIRC_NUM_THREADS
// (default: all cores).
// Usage: topk_bench [repetitions [all|topk|step [d1000|d64]]].
//
//===----------------------------------------------------------------------===//
#include "Clock.h"
#include "circ_runtime/Optimizer.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/Random.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/TopK.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

using namespace circ;
using namespace circ::rt;

using namespace circ::bench;

namespace {

ModelConfig configC(double density) {
  ModelConfig m;
  m.nLayer = 4;
  m.dModel = 1024;
  m.dHead = 16;
  m.dMlp = 4096;
  m.vocab = 2048;
  m.ctx = 256;
  m.weightDensity = density;
  m.embedDensity = density;
  return m;
}

/// Wall and CPU time of one run of fn.
struct Timing {
  std::vector<double> wall, cpu;
  template <typename Fn> void run(Fn &&fn) {
    double w0 = nowMs(), c0 = cpuMs();
    fn();
    wall.push_back(nowMs() - w0);
    cpu.push_back(cpuMs() - c0);
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void report(const std::string &name, double value, const char *unit) {
  std::printf("%s %.2f %s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

void report(const std::string &name, const Timing &t) {
  report(name + "_ms", median(t.wall), "ms");
  report(name + "_cpu_ms", median(t.cpu), "ms");
}

/// Reads [w, w + n) (a max-reduction the compiler cannot drop), then
/// overwrites it with zeros through non-temporal stores where aligned.
float readWriteBlock(float *w, int64_t n) {
  typedef float F32x16 __attribute__((vector_size(64)));
  F32x16 acc = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    F32x16 v;
    std::memcpy(&v, w + i, sizeof v);
    acc = acc > v ? acc : v;
  }
  float m = 0;
  for (int j = 0; j < 16; ++j)
    m = std::max(m, acc[j]);
  for (; i < n; ++i)
    m = std::max(m, w[i]);
  const F32x16 zero = {};
  i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(w + i) & 63) != 0; ++i)
    w[i] = 0.0f;
  for (; i + 16 <= n; i += 16)
    __builtin_nontemporal_store(zero, reinterpret_cast<F32x16 *>(w + i));
  for (; i < n; ++i)
    w[i] = 0.0f;
  return m;
}

std::unique_ptr<ParamStore> makeStore(const ModelConfig &m) {
  auto s = ParamStore::create(m);
  if (!s) {
    std::fprintf(stderr, "topk_bench: error: %s\n", s.message().c_str());
    std::exit(1);
  }
  if (Error e = (*s)->initialize(1)) {
    std::fprintf(stderr, "topk_bench: error: %s\n", e.message().c_str());
    std::exit(1);
  }
  return std::move(*s);
}

void benchProjection(const std::string &tag, double density, int reps) {
  ThreadPool &pool = ThreadPool::global();
  ModelConfig m = configC(density);
  std::unique_ptr<ParamStore> store = makeStore(m);
  std::vector<size_t> sparse;
  int64_t total = 0;
  for (size_t i = 0; i < store->size(); ++i)
    if (store->spec(i).isSparse()) {
      sparse.push_back(i);
      total += store->numel(i);
    }
  std::vector<std::vector<float>> saved;
  std::vector<std::unique_ptr<TopKProjector>> projectors;
  for (size_t i : sparse) {
    saved.emplace_back(store->values(i), store->values(i) + store->numel(i));
    int64_t rows, cols;
    matrixShape(store->spec(i), rows, cols);
    projectors.push_back(std::make_unique<TopKProjector>(
        rows, cols, store->spec(i).unitAxis, m.minPerUnit));
  }
  // The projection's floor on this machine, now: one read of every matrix
  // and one write of it with streaming stores (what observe + apply must
  // move at least), on the same threads and blocks.
  Timing floor;
  float sink = 0;
  for (int r = 0; r < reps; ++r)
    floor.run([&] {
      for (size_t i : sparse) {
        float *w = store->values(i);
        std::vector<float> partial(pool.size(), 0.0f);
        parallelBlocks(pool, store->numel(i), 1 << 16,
                       [&](int64_t, int64_t lo, int64_t hi, unsigned slot) {
                         partial[slot] += readWriteBlock(w + lo, hi - lo);
                       });
        for (float p : partial)
          sink += p;
      }
    });
  if (sink == 12345.0f) // keeps the reads
    std::printf("#\n");
  report("topk_c_" + tag + "_stream_floor", floor);
  for (bool withIndex : {false, true}) {
    Timing timing;
    int64_t kept = 0;
    for (int r = 0; r < reps; ++r) {
      for (size_t j = 0; j < sparse.size(); ++j)
        std::memcpy(store->values(sparse[j]), saved[j].data(),
                    saved[j].size() * sizeof(float));
      timing.run([&] {
        std::vector<ProjectionJob> jobs;
        for (size_t j = 0; j < sparse.size(); ++j) {
          size_t i = sparse[j];
          jobs.push_back({projectors[j].get(),
                          store->values(i),
                          l0Budget(store->spec(i), density, m.minPerUnit),
                          0.0f,
                          withIndex ? store->mutableIndex(i) : nullptr,
                          {},
                          {}});
        }
        kept = projectBatch(jobs, pool);
      });
    }
    report(std::string(withIndex ? "topk_index_c_" : "topk_c_") + tag, timing);
    if (!withIndex) {
      report("topk_c_" + tag + "_entries", static_cast<double>(total),
             "weights");
      report("topk_c_" + tag + "_kept", static_cast<double>(kept), "weights");
    }
  }
}

void benchOptimizer(const std::string &tag, double density, bool sparse,
                    int reps) {
  ModelConfig m = configC(density);
  std::unique_ptr<ParamStore> store = makeStore(m);
  for (size_t i = 0; i < store->size(); ++i) {
    float *g = store->grads(i);
    parallelBlocks(ThreadPool::global(), store->numel(i), 1 << 16,
                   [&](int64_t, int64_t lo, int64_t hi, unsigned) {
                     for (int64_t e = lo; e < hi; ++e)
                       g[e] = static_cast<float>(normalAt(2, i, e));
                   });
  }
  OptimizerConfig c = OptimizerConfig::forModel(m, 1000, 1e-2);
  c.sparseGradients = sparse;
  c.regrowEvery = 1000;
  auto opt = Optimizer::create(*store, c);
  if (!opt) {
    std::fprintf(stderr, "topk_bench: error: %s\n", opt.message().c_str());
    std::exit(1);
  }
  // Start past the anneal so every step projects to the final density; one
  // untimed step brings the weights to that state.
  (*opt)->setStepsTaken(600);
  Timing warmup, timing;
  int64_t fallbacks = 0;
  for (int r = 0; r <= reps; ++r) {
    Timing &t = r == 0 ? warmup : timing;
    Expected<StepReport> rep = Error::failure("not run");
    t.run([&] { rep = (*opt)->step(); });
    if (!rep) {
      std::fprintf(stderr, "topk_bench: error: %s\n", rep.message().c_str());
      std::exit(1);
    }
    if (r > 0)
      fallbacks += rep->exactFallbacks;
  }
  report(std::string(sparse ? "optim_sparse_step_c_" : "optim_step_c_") + tag,
         timing);
  report(std::string(sparse ? "optim_sparse_step_c_" : "optim_step_c_") + tag +
             "_fallbacks",
         static_cast<double>(fallbacks), "projections");
}

} // namespace

int main(int argc, char **argv) {
  int reps = 7;
  std::string what = "all", only;
  if (argc >= 2)
    reps = std::max(1, std::atoi(argv[1]));
  if (argc >= 3)
    what = argv[2];
  if (argc >= 4)
    only = argv[3];
  if (argc > 4 || (what != "all" && what != "topk" && what != "step") ||
      (!only.empty() && only != "d1000" && only != "d64")) {
    std::fprintf(stderr, "usage: topk_bench [repetitions [all|topk|step "
                         "[d1000|d64]]]\n");
    return 1;
  }
  report("threads", ThreadPool::global().size(), "threads");
  for (auto [tag, density] :
       {std::pair<const char *, double>{"d1000", 1.0 / 1000},
        std::pair<const char *, double>{"d64", 1.0 / 64}}) {
    if (!only.empty() && only != tag)
      continue;
    if (what != "step")
      benchProjection(tag, density, reps);
    if (what != "topk") {
      benchOptimizer(tag, density, false, reps);
      benchOptimizer(tag, density, true, reps);
    }
  }
  return 0;
}
