//===- circ_bench.cpp - training step, forward pass and kernels vs STREAM -===//
//
// The figures of issue #4 that need Circ's compiled code, measured in one
// process on this machine:
//   stream     STREAM triad a = b + s·c (fp32, 12 bytes per element, as
//              STREAM counts them) on 1 thread and on all threads;
//   kernels    each sparse product of config (c) at density 1/1000 (the
//              forward circ.proj and the input gradient circ.proj_grad_input
//              on the CSR index, batch 16 × ctx 256 tokens) in GB/s of
//              compulsory traffic, and as a percentage of the triad; plus the
//              dense weight gradient circ.proj_grad_weight in ms;
//   model-a, model-c
//              the compiled model (ModelProgram: builder, circ-differentiate,
//              CPU pipeline, JIT) and the runtime optimizer on config (a)
//              d_model 256, d_mlp 1024, density 1/64 and (c) d_model 1024,
//              d_mlp 4096, density 1/1000 (both 4 layers, 4 heads, ctx 256,
//              vocab 2048, batch 16): tokens/s of a whole training step
//              (zero gradients, loss and gradients, optimizer step) and of
//              the forward pass, with the step's parts in ms; the same step
//              with the optimizer's sparse-only gradients (the backward pass
//              is unchanged: the compiled code still writes dense weight
//              gradients, so only the optimizer step is timed again).
// Weights are projected to their final density by one untimed optimizer
// step before anything is timed. Figures are medians over repetitions.
// Output: one "name value unit" line per figure (bench/run collects them).
// Threads: CIRC_NUM_THREADS for the runtime pool, the same count for the
// generated kernels (OpenMP).
//
// Usage: circ_bench [--quick] [section...]   sections: stream kernels
//        model-a model-c (default: all)
//
//===----------------------------------------------------------------------===//
#include "Clock.h"
#include "circ/InitAllDialects.h"
#include "circ/Target/JIT.h"
#include "circ/Train/ModelProgram.h"
#include "circ_runtime/Optimizer.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/SparseIndex.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/TopK.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace circ;
using namespace circ::rt;

using namespace circ::bench;

namespace {

constexpr int64_t kBatch = 16, kCtx = 256;

//===----------------------------------------------------------------------===//
// Timing and output
//===----------------------------------------------------------------------===//

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void report(const std::string &name, double value, const char *unit) {
  std::printf("%s %.6g %s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "circ_bench: error: %s\n", message.c_str());
  std::exit(1);
}

template <typename T> T check(Expected<T> value) {
  if (!value)
    die(value.message());
  return std::move(*value);
}

void check(Error e) {
  if (e)
    die(e.message());
}

//===----------------------------------------------------------------------===//
// STREAM triad
//===----------------------------------------------------------------------===//

/// Best triad bandwidth over `reps` runs on `pool`, in GB/s.
double triad(ThreadPool &pool, std::vector<float> &a, const std::vector<float> &b,
             const std::vector<float> &c, int reps) {
  const int64_t n = static_cast<int64_t>(a.size());
  const int64_t block = (n + pool.size() - 1) / pool.size();
  const float s = 3.0f;
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = nowMs();
    parallelBlocks(pool, n, block, [&](int64_t, int64_t lo, int64_t hi,
                                       unsigned) {
      float *__restrict pa = a.data();
      const float *__restrict pb = b.data();
      const float *__restrict pc = c.data();
      for (int64_t i = lo; i < hi; ++i)
        pa[i] = pb[i] + s * pc[i];
    });
    best = std::min(best, nowMs() - t0);
  }
  return 12.0 * n / (best * 1e-3) / 1e9;
}

double benchStream(bool quick) {
  // 3 × 128 MiB (64 MiB quick): far beyond the 32 MiB L3.
  const int64_t n = quick ? (int64_t(1) << 24) : (int64_t(1) << 25);
  std::vector<float> a(n, 1.0f), b(n, 2.0f), c(n, 0.5f);
  ThreadPool one(1);
  int reps = quick ? 5 : 10;
  double single = triad(one, a, b, c, reps);
  double all = triad(ThreadPool::global(), a, b, c, reps);
  report("stream_triad_1t_gb_s", single, "GB/s");
  report("stream_triad_gb_s", all, "GB/s");
  return all;
}

//===----------------------------------------------------------------------===//
// Configurations
//===----------------------------------------------------------------------===//

ModelConfig configA() {
  ModelConfig m;
  m.nLayer = 4;
  m.dModel = 256;
  m.dHead = 64; // 4 heads
  m.dMlp = 1024;
  m.ctx = kCtx;
  m.vocab = 2048;
  m.weightDensity = m.embedDensity = 1.0 / 64;
  return m;
}

ModelConfig configC() {
  ModelConfig m = configA();
  m.dModel = 1024;
  m.dHead = 256; // 4 heads
  m.dMlp = 4096;
  m.weightDensity = m.embedDensity = 1.0 / 1000;
  return m;
}

/// A store initialised with seed 1 and an optimizer whose schedule is past
/// the density anneal; one untimed step leaves every sparse parameter at its
/// final density with its index built.
struct Trained {
  std::unique_ptr<ParamStore> store;
  std::unique_ptr<Optimizer> optimizer;
};

Trained makeTrained(const ModelConfig &m, bool sparseGradients) {
  Trained t;
  t.store = check(ParamStore::create(m));
  check(t.store->initialize(1));
  OptimizerConfig c = OptimizerConfig::forModel(m, 1000, 1e-3);
  c.sparseGradients = sparseGradients;
  c.regrowEvery = 1000;
  t.optimizer = check(Optimizer::create(*t.store, c));
  t.optimizer->setStepsTaken(601);
  ThreadPool &pool = ThreadPool::global();
  for (size_t i = 0; i < t.store->size(); ++i) {
    float *g = t.store->grads(i);
    parallelBlocks(pool, t.store->numel(i), 1 << 16,
                   [&](int64_t, int64_t lo, int64_t hi, unsigned) {
                     std::mt19937 rng(static_cast<uint32_t>(i * 7919 + lo));
                     std::normal_distribution<float> normal;
                     for (int64_t e = lo; e < hi; ++e)
                       g[e] = normal(rng);
                   });
  }
  check(t.optimizer->step());
  return t;
}

std::vector<int32_t> randomTokens(int64_t n, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab) - 1);
  std::vector<int32_t> v(n);
  for (int32_t &x : v)
    x = dist(rng);
  return v;
}

//===----------------------------------------------------------------------===//
// Whole model: training step and forward pass
//===----------------------------------------------------------------------===//

void benchModel(const std::string &tag, const ModelConfig &m, int reps) {
  const int64_t tokens = kBatch * kCtx;
  mlir::circ::ModelProgramOptions options;
  options.batch = kBatch;
  options.seqLen = kCtx;
  options.loss = false;
  options.lossGrad = true;
  options.forward = true;
  // A model that does not compile or run is reported and skipped, so that
  // the other figures still come out.
  auto skip = [&](const std::string &why) {
    std::fprintf(stderr, "circ_bench: config (%s) skipped: %s\n", tag.c_str(),
                 why.c_str());
  };
  double t0 = nowMs();
  Expected<std::unique_ptr<mlir::circ::ModelProgram>> compiled =
      mlir::circ::ModelProgram::create(m, options);
  if (!compiled)
    return skip(compiled.message());
  std::unique_ptr<mlir::circ::ModelProgram> program = std::move(*compiled);
  report("compile_" + tag + "_s", (nowMs() - t0) / 1e3, "s");

  std::vector<int32_t> inputs = randomTokens(tokens, m.vocab, 11);
  std::vector<int32_t> targets = randomTokens(tokens, m.vocab, 12);
  std::vector<float> logits(tokens * m.vocab);

  // The exact step: zero the gradients, loss and gradients, optimizer step;
  // each phase in wall and CPU time.
  Trained t = makeTrained(m, false);
  std::vector<double> zero, fwdBwd, optim, total, fwdBwdCpu, optimCpu, cpu;
  float loss = 0;
  for (int r = 0; r <= reps; ++r) {
    double w0 = nowMs(), c0 = cpuMs();
    t.store->zeroGrads();
    double w1 = nowMs();
    Expected<float> l =
        program->lossAndGrad(inputs.data(), targets.data(), *t.store);
    if (!l)
      return skip(l.message());
    loss = *l;
    double w2 = nowMs(), c2 = cpuMs();
    check(t.optimizer->step());
    double w3 = nowMs(), c3 = cpuMs();
    if (r == 0)
      continue; // warm-up: first call of the compiled code
    zero.push_back(w1 - w0);
    fwdBwd.push_back(w2 - w1);
    optim.push_back(w3 - w2);
    total.push_back(w3 - w0);
    fwdBwdCpu.push_back(c2 - c0);
    optimCpu.push_back(c3 - c2);
    cpu.push_back(c3 - c0);
  }
  const std::string name = "train_" + tag;
  report(name + "_tokens_per_s", tokens / (median(total) * 1e-3), "tok/s");
  report(name + "_step_ms", median(total), "ms");
  report(name + "_step_cpu_ms", median(cpu), "ms");
  report(name + "_zero_grads_ms", median(zero), "ms");
  report(name + "_loss_grad_ms", median(fwdBwd), "ms");
  report(name + "_optimizer_ms", median(optim), "ms");
  report(name + "_loss", loss, "nats");

  // Sparse-only gradients change the optimizer step only (the compiled
  // backward still writes dense weight gradients), so that step is timed
  // alone and added to the exact step's zero + loss-and-gradient time.
  {
    Trained ts = makeTrained(m, true);
    std::vector<double> sparseOptim, sparseCpu;
    for (int r = 0; r <= reps; ++r) {
      double w0 = nowMs(), c0 = cpuMs();
      StepReport rep = check(ts.optimizer->step());
      if (rep.denseGradients)
        die("the sparse-gradient step read dense gradients");
      if (r > 0) {
        sparseOptim.push_back(nowMs() - w0);
        sparseCpu.push_back(cpuMs() - c0);
      }
    }
    const double step = median(zero) + median(fwdBwd) + median(sparseOptim);
    const double stepCpu = median(fwdBwdCpu) + median(sparseCpu);
    report("train_sparse_" + tag + "_tokens_per_s", tokens / (step * 1e-3),
           "tok/s");
    report("train_sparse_" + tag + "_step_ms", step, "ms");
    report("train_sparse_" + tag + "_step_cpu_ms", stepCpu, "ms");
    report("train_sparse_" + tag + "_optimizer_ms", median(sparseOptim), "ms");
  }

  {
    std::vector<double> fwd, fwdCpu;
    for (int r = 0; r <= reps; ++r) {
      double w0 = nowMs(), c0 = cpuMs();
      check(program->forward(inputs.data(), *t.store, logits.data()));
      if (r > 0) {
        fwd.push_back(nowMs() - w0);
        fwdCpu.push_back(cpuMs() - c0);
      }
    }
    report("forward_" + tag + "_tokens_per_s", tokens / (median(fwd) * 1e-3),
           "tok/s");
    report("forward_" + tag + "_ms", median(fwd), "ms");
    report("forward_" + tag + "_cpu_ms", median(fwdCpu), "ms");
  }
}

//===----------------------------------------------------------------------===//
// Sparse products of config (c)
//===----------------------------------------------------------------------===//

/// One weight of config (c), projected to its final density.
struct KernelWeight {
  std::string name; ///< short name for the figures
  ParamSpec spec;
  int64_t rows = 0, cols = 0;
  std::vector<float> dense;
  SparseIndex index;
  bool sparseInput = false, sparseGrad = false; ///< as circ-differentiate marks
};

std::string typeOf(std::initializer_list<int64_t> dims, const char *enc = "") {
  std::ostringstream os;
  os << "tensor<";
  for (int64_t d : dims)
    os << d << "x";
  os << "f32" << enc << ">";
  return os.str();
}

/// Zeroes all but `keep` of every `width` consecutive entries of `x` (the
/// activation sparsity an AbsTopK site leaves), choosing them at random.
void sparsifyRows(std::vector<float> &x, int64_t width, int64_t keep,
                  uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int64_t> cols(width);
  for (int64_t r = 0; r < static_cast<int64_t>(x.size()) / width; ++r) {
    for (int64_t c = 0; c < width; ++c)
      cols[c] = c;
    std::shuffle(cols.begin(), cols.end(), rng);
    for (int64_t c = keep; c < width; ++c)
      x[r * width + cols[c]] = 0.0f;
  }
}

void benchKernels(double streamGBs, int reps) {
  ModelConfig m = configC();
  const double density = m.weightDensity;
  const int64_t tokens = kBatch * kCtx;
  // Layer 0's four matrices and the unembedding; the activation sparsity of
  // their operands follows the model (ModelBuilder: AbsTopK at every node
  // location; lm_head reads the final norm and feeds the loss).
  struct Pick {
    const char *param, *name;
    bool sparseInput, sparseGrad;
  };
  const Pick picks[] = {{"h.0.attn.c_attn.weight", "attn_qkv", true, true},
                        {"h.0.attn.c_proj.weight", "attn_out", false, true},
                        {"h.0.mlp.c_fc.weight", "mlp_fc", true, true},
                        {"h.0.mlp.c_proj.weight", "mlp_proj", true, true},
                        {"lm_head.weight", "lm_head", false, false}};
  std::vector<ParamSpec> specs = modelParameters(m);
  std::vector<KernelWeight> weights;
  ThreadPool &pool = ThreadPool::global();
  for (const Pick &p : picks) {
    auto it = std::find_if(specs.begin(), specs.end(),
                           [&](const ParamSpec &s) { return s.name == p.param; });
    if (it == specs.end())
      die(std::string("config (c) has no parameter ") + p.param);
    KernelWeight w;
    w.name = p.name;
    w.spec = *it;
    w.sparseInput = p.sparseInput;
    w.sparseGrad = p.sparseGrad;
    matrixShape(w.spec, w.rows, w.cols);
    w.dense.resize(w.rows * w.cols);
    std::mt19937 rng(static_cast<uint32_t>(weights.size() + 5));
    std::normal_distribution<float> normal;
    for (float &x : w.dense)
      x = normal(rng);
    projectTopK(w.dense.data(), w.spec,
                l0Budget(w.spec, density, m.minPerUnit), m.minPerUnit, 0.0f,
                pool, &w.index);
    weights.push_back(std::move(w));
  }

  // One module: fwd_<i>, bwd_<i>, dw_<i> per weight.
  std::ostringstream src;
  for (size_t i = 0; i < weights.size(); ++i) {
    const KernelWeight &w = weights[i];
    const char *axis = w.spec.unitAxis == UnitAxis::Rows   ? "rows"
                       : w.spec.unitAxis == UnitAxis::Cols ? "cols"
                                                           : "none";
    std::ostringstream enc;
    enc << ", #circ.sparsity<density = 1.0e-03, min_per_unit = "
        << (w.spec.unitAxis == UnitAxis::None ? 0 : m.minPerUnit)
        << ", axis = " << axis << ", layout = csr>";
    std::string wt = typeOf({w.rows, w.cols}, enc.str().c_str());
    std::string x = typeOf({kBatch, kCtx, w.cols});
    std::string y = typeOf({kBatch, kCtx, w.rows});
    std::string dense = typeOf({w.rows, w.cols});
    std::string attrs;
    if (w.sparseInput || w.sparseGrad) {
      attrs = " {";
      if (w.sparseGrad)
        attrs += "sparse_grad";
      if (w.sparseInput)
        attrs += std::string(w.sparseGrad ? ", " : "") + "sparse_input";
      attrs += "}";
    }
    src << "func.func @fwd_" << i << "(%x: " << x << ", %w: " << wt << ") -> "
        << y << " {\n  %0 = circ.proj %x, %w : " << x << ", " << wt << " -> "
        << y << "\n  return %0 : " << y << "\n}\n";
    src << "func.func @bwd_" << i << "(%dy: " << y << ", %w: " << wt << ") -> "
        << x << " {\n  %0 = circ.proj_grad_input %dy, %w : " << y << ", " << wt
        << " -> " << x << "\n  return %0 : " << x << "\n}\n";
    src << "func.func @dw_" << i << "(%dy: " << y << ", %x: " << x << ") -> "
        << dense << " {\n  %0 = circ.proj_grad_weight %dy, %x" << attrs
        << " : " << y << ", " << x << " -> " << dense << "\n  return %0 : "
        << dense << "\n}\n";
  }
  mlir::DialectRegistry registry;
  mlir::circ::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(src.str(), &context);
  if (!module)
    die("cannot parse the kernel module:\n" + src.str());
  mlir::circ::CPUPipelineOptions pipeline;
  auto jit = mlir::circ::JITModule::compile(*module, pipeline);
  if (mlir::failed(jit))
    die("cannot compile the kernel module");

  for (size_t i = 0; i < weights.size(); ++i) {
    KernelWeight &w = weights[i];
    const int64_t M = w.rows, K = w.cols, nnz = w.index.nnz();
    std::vector<float> x(tokens * K), y(tokens * M), dw(M * K);
    std::mt19937 rng(static_cast<uint32_t>(100 + i));
    std::normal_distribution<float> normal;
    for (float &v : x)
      v = normal(rng);
    for (float &v : y)
      v = normal(rng);
    if (w.sparseInput)
      sparsifyRows(x, K, m.topK(NodeLocation::MlpIn, K), 200 + i);
    if (w.sparseGrad)
      sparsifyRows(y, M, m.topK(NodeLocation::MlpIn, M), 300 + i);
    std::vector<float> out(tokens * std::max(M, K));
    // The ELL form of the index, in case circ-select-layouts picks it: one
    // list per unit (rows from the CSR, columns from the CSC), padded to the
    // longest with index 0 and value 0.
    const bool byRows = w.spec.unitAxis != UnitAxis::Cols;
    const std::vector<int32_t> &ptr = byRows ? w.index.rowPtr : w.index.colPtr;
    const std::vector<int32_t> &pos = byRows ? w.index.colIdx : w.index.rowIdx;
    const std::vector<float> &val =
        byRows ? w.index.rowValues : w.index.colValues;
    const int64_t units = byRows ? M : K;
    int64_t ellWidth = 0;
    for (int64_t u = 0; u < units; ++u)
      ellWidth = std::max<int64_t>(ellWidth, ptr[u + 1] - ptr[u]);
    std::vector<int32_t> ellIdx(units * ellWidth, 0);
    std::vector<float> ellValues(units * ellWidth, 0.0f);
    for (int64_t u = 0; u < units; ++u)
      for (int32_t e = ptr[u]; e < ptr[u + 1]; ++e) {
        ellIdx[u * ellWidth + (e - ptr[u])] = pos[e];
        ellValues[u * ellWidth + (e - ptr[u])] = val[e];
      }
    bool usesEll = false;

    // Binds the entry point's buffers: activations by position, the weight's
    // by layout buffer name.
    auto bind = [&](const std::string &fn,
                    std::vector<std::pair<float *, std::vector<int64_t>>> acts) {
      const mlir::circ::EntryPoint *entry = (*jit)->entryPoint(fn);
      if (!entry)
        die("no entry point " + fn);
      std::vector<mlir::circ::BufferArg> args;
      size_t next = 0;
      for (const mlir::circ::BufferInfo &info : entry->buffers) {
        mlir::circ::BufferArg arg;
        arg.shape = info.shape;
        auto vec = [&](auto &v) {
          arg.data = v.data();
          arg.shape = {static_cast<int64_t>(v.size())};
        };
        if (info.buffer.empty()) {
          if (next >= acts.size())
            die(fn + " takes more buffers than expected");
          arg.data = acts[next].first;
          arg.shape = acts[next].second;
          ++next;
        } else if (info.buffer == "dense") {
          arg.data = w.dense.data();
        } else if (info.buffer == "row_ptr") {
          vec(w.index.rowPtr);
        } else if (info.buffer == "col_idx") {
          vec(w.index.colIdx);
        } else if (info.buffer == "values") {
          vec(w.index.rowValues);
        } else if (info.buffer == "col_ptr") {
          vec(w.index.colPtr);
        } else if (info.buffer == "row_idx") {
          vec(w.index.rowIdx);
        } else if (info.buffer == "values_t") {
          vec(w.index.colValues);
        } else if (info.buffer == "ell_idx") {
          arg.data = ellIdx.data();
          arg.shape = {units, ellWidth};
          usesEll = true;
        } else if (info.buffer == "ell_values") {
          arg.data = ellValues.data();
          arg.shape = {units, ellWidth};
        } else {
          die(fn + ": unexpected buffer " + info.buffer);
        }
        args.push_back(std::move(arg));
      }
      return args;
    };
    auto time = [&](const std::string &fn,
                    std::vector<mlir::circ::BufferArg> args) {
      std::vector<double> t;
      std::string error;
      for (int r = 0; r <= reps; ++r) {
        double t0 = nowMs();
        if (mlir::failed((*jit)->call(fn, args, error)))
          die(fn + ": " + error);
        if (r > 0)
          t.push_back(nowMs() - t0);
      }
      return median(t);
    };
    const std::string is = std::to_string(i);
    double fwdMs = time("fwd_" + is, bind("fwd_" + is,
                                          {{x.data(), {kBatch, kCtx, K}},
                                           {out.data(), {kBatch, kCtx, M}}}));
    double bwdMs = time("bwd_" + is, bind("bwd_" + is,
                                          {{y.data(), {kBatch, kCtx, M}},
                                           {out.data(), {kBatch, kCtx, K}}}));
    double dwMs = time("dw_" + is, bind("dw_" + is,
                                        {{y.data(), {kBatch, kCtx, M}},
                                         {x.data(), {kBatch, kCtx, K}},
                                         {dw.data(), {M, K}}}));
    // Compulsory traffic: read the activations once, write the result once,
    // read the index (position + value per nonzero, one offset per row).
    const double act = 4.0 * tokens * (M + K);
    const double fwdBytes = act + 8.0 * nnz + 4.0 * (M + 1);
    const double bwdBytes = act + 8.0 * nnz + 4.0 * (K + 1);
    const std::string base = "kernel_c_" + w.name;
    double fwdGBs = fwdBytes / (fwdMs * 1e-3) / 1e9;
    double bwdGBs = bwdBytes / (bwdMs * 1e-3) / 1e9;
    report(base + "_shape_" + std::to_string(M) + "x" + std::to_string(K) +
               "_nnz",
           static_cast<double>(nnz), "weights");
    if (usesEll)
      report(base + "_ell_width", static_cast<double>(ellWidth),
             "entries/unit");
    report(base + "_fwd_ms", fwdMs, "ms");
    report(base + "_fwd_gb_s", fwdGBs, "GB/s");
    report(base + "_fwd_stream_pct", 100.0 * fwdGBs / streamGBs, "%");
    report(base + "_grad_input_ms", bwdMs, "ms");
    report(base + "_grad_input_gb_s", bwdGBs, "GB/s");
    report(base + "_grad_input_stream_pct", 100.0 * bwdGBs / streamGBs, "%");
    // The dense weight gradient: time, and the dense product's FLOPs over it.
    report(base + "_grad_weight_ms", dwMs, "ms");
    report(base + "_grad_weight_dense_equiv_gflop_s",
           2.0 * tokens * M * K / (dwMs * 1e-3) / 1e9, "GFLOP/s");
  }
}

} // namespace

int main(int argc, char **argv) {
  bool quick = false;
  std::set<std::string> sections;
  const std::set<std::string> known = {"stream", "kernels", "model-a",
                                       "model-c"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else if (known.count(a))
      sections.insert(a);
    else {
      std::fprintf(stderr, "usage: circ_bench [--quick] [stream] [kernels] "
                           "[model-a] [model-c]\n");
      return 1;
    }
  }
  if (sections.empty())
    sections = known;
  unsigned threads = ThreadPool::global().size();
  mlir::circ::setNumThreads(static_cast<int>(threads));
  report("threads", threads, "threads");

  // The kernels' percentages need the triad of this run.
  double stream = 0;
  if (sections.count("stream") || sections.count("kernels"))
    stream = benchStream(quick);
  if (sections.count("kernels"))
    benchKernels(stream, quick ? 2 : 7);
  if (sections.count("model-a"))
    benchModel("a", configA(), quick ? 2 : 5);
  if (sections.count("model-c"))
    benchModel("c", configC(), quick ? 1 : 2);
  return 0;
}
