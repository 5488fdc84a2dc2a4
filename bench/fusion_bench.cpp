//===- fusion_bench.cpp - forward pass with and without the fusion passes -===//
//
// Builds a model's @forward (plain, and the pruning form with a mask gate
// at every node location), compiles it twice with the CPU pipeline (weights
// in the builder's CSR layout both times): as built, and after
// circ-fold-rmsnorm-gain + circ-fuse-projection-epilogue. Prints the median
// wall time of a forward call of each, one `name value unit` line per
// figure:
//
//   fusion_<model>[_gated]_unfused_ms / _fused_ms / _speedup
//
// Usage: fusion_bench [--quick]. Models: tiny (examples/tiny.circ's shape,
// batch 64) and a (issue #4's config (a), batch 16).
//
//===----------------------------------------------------------------------===//

#include "Clock.h"
#include "circ/Builder/ModelBuilder.h"
#include "circ/InitAllDialects.h"
#include "circ/Target/JIT.h"
#include "dialects/Circ/Transforms/Passes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace mlir;

using ::circ::bench::nowMs;

namespace {

[[noreturn]] void die(const std::string &why) {
  std::fprintf(stderr, "fusion_bench: %s\n", why.c_str());
  std::exit(1);
}

/// Host buffers for every argument of @forward: random tokens, random
/// values, and for a sparse weight a random support at its density (at
/// least one entry per row) with its CSR and CSC.
class Arguments {
public:
  Arguments(func::FuncOp forward, const mlir::circ::EntryPoint &entry,
            int64_t vocab) {
    std::mt19937 gen(7);
    std::map<std::string, double> density;
    for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
      auto name = forward.getArgAttrOfType<StringAttr>(i, "circ.param");
      auto type = dyn_cast<RankedTensorType>(forward.getArgument(i).getType());
      if (name && type)
        if (auto s =
                dyn_cast_or_null<mlir::circ::SparsityAttr>(type.getEncoding()))
          density[name.str()] = s.getDensityValue();
    }
    for (const mlir::circ::BufferInfo &info : entry.buffers) {
      std::vector<int64_t> shape = info.shape;
      if (info.result >= 0 || info.param.empty()) {
        int64_t n = 1;
        for (int64_t d : shape)
          n *= d;
        if (info.result >= 0) {
          floats.emplace_back(n);
          args.push_back({floats.back().data(), shape, {}});
        } else {
          ints.emplace_back(n);
          std::uniform_int_distribution<int32_t> id(0, int32_t(vocab - 1));
          for (int32_t &t : ints.back())
            t = id(gen);
          args.push_back({ints.back().data(), shape, {}});
        }
        continue;
      }
      std::string buffer = info.buffer.empty() ? "dense" : info.buffer;
      if (buffer == "dense") {
        int64_t n = 1;
        for (int64_t d : shape)
          n *= d;
        dense = &floats.emplace_back(n);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        std::uniform_real_distribution<double> keep(0.0, 1.0);
        double p = density.count(info.param) ? density[info.param] : 1.0;
        for (int64_t i = 0; i < n; ++i)
          (*dense)[i] =
              (keep(gen) < p || i % shape.back() == 0) ? u(gen) : 0.0f;
        denseShape = shape;
        args.push_back({dense->data(), shape, {}});
        continue;
      }
      addCsrBuffer(buffer);
    }
  }

  std::vector<mlir::circ::BufferArg> args;

private:
  void addCsrBuffer(const std::string &buffer) {
    int64_t rows = denseShape[0], cols = denseShape[1];
    bool byRows =
        buffer == "row_ptr" || buffer == "col_idx" || buffer == "values";
    int64_t outer = byRows ? rows : cols, inner = byRows ? cols : rows;
    auto at = [&](int64_t o, int64_t i) {
      return (*dense)[byRows ? o * cols + i : i * cols + o];
    };
    if (buffer == "row_ptr" || buffer == "col_ptr") {
      std::vector<int32_t> &ptr = ints.emplace_back(outer + 1, 0);
      for (int64_t o = 0; o < outer; ++o) {
        ptr[o + 1] = ptr[o];
        for (int64_t i = 0; i < inner; ++i)
          ptr[o + 1] += at(o, i) != 0.0f;
      }
      args.push_back({ptr.data(), {outer + 1}, {}});
      return;
    }
    bool indices = buffer == "col_idx" || buffer == "row_idx";
    std::vector<int32_t> idx;
    std::vector<float> val;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        if (at(o, i) != 0.0f) {
          idx.push_back(int32_t(i));
          val.push_back(at(o, i));
        }
    int64_t nnz = static_cast<int64_t>(idx.size());
    if (indices)
      args.push_back({ints.emplace_back(std::move(idx)).data(), {nnz}, {}});
    else
      args.push_back({floats.emplace_back(std::move(val)).data(), {nnz}, {}});
  }

  // Lists keep every buffer at a stable address.
  std::list<std::vector<float>> floats;
  std::list<std::vector<int32_t>> ints;
  std::vector<float> *dense = nullptr;
  std::vector<int64_t> denseShape;
};

double medianForwardMs(ModuleOp built, bool fuse, int reps, int64_t vocab) {
  // Compilation lowers the module in place; `signature` keeps the circ
  // types (the weights' densities) for the arguments.
  OwningOpRef<ModuleOp> module(built.clone()), signature(built.clone());
  if (fuse) {
    PassManager pm(module->getContext());
    pm.addNestedPass<func::FuncOp>(mlir::circ::createCircFoldRMSNormGain());
    pm.addNestedPass<func::FuncOp>(
        mlir::circ::createCircFuseProjectionEpilogue());
    if (failed(pm.run(*module)))
      die("fusion passes failed");
  }
  mlir::circ::CPUPipelineOptions options;
  options.optimize = false; // same (CSR) layouts in both forms
  auto jit = mlir::circ::JITModule::compile(*module, options);
  if (failed(jit))
    die("compilation failed");
  auto original = (*signature).lookupSymbol<func::FuncOp>("forward");
  Arguments args(original, *(*jit)->entryPoint("forward"), vocab);
  std::vector<double> times;
  for (int r = 0; r <= reps; ++r) {
    std::string error;
    double t0 = nowMs();
    if (failed((*jit)->call("forward", args.args, error)))
      die(error);
    if (r > 0) // the first call is a warm-up
      times.push_back(nowMs() - t0);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void bench(const std::string &name, const ::circ::ModelConfig &config,
           int64_t batch, bool gates, int reps) {
  MLIRContext context;
  DialectRegistry registry;
  mlir::circ::registerAllDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  mlir::circ::ModelBuildOptions options;
  options.batch = batch;
  options.withMaskGates = gates;
  auto built = mlir::circ::buildModel(context, config, options);
  if (failed(built))
    die("cannot build " + name);
  std::string tag = "fusion_" + name + (gates ? "_gated" : "");
  double unfused = medianForwardMs(**built, false, reps, config.vocab);
  double fused = medianForwardMs(**built, true, reps, config.vocab);
  std::printf("%s_unfused_ms %.3f ms\n", tag.c_str(), unfused);
  std::printf("%s_fused_ms %.3f ms\n", tag.c_str(), fused);
  std::printf("%s_speedup %.3f x\n", tag.c_str(), unfused / fused);
  std::fflush(stdout);
}

::circ::ModelConfig model(int64_t layers, int64_t dModel, int64_t dMlp,
                          int64_t ctx, int64_t vocab, double weightDensity,
                          double embedDensity) {
  ::circ::ModelConfig c;
  c.nLayer = layers;
  c.dModel = dModel;
  c.dHead = 16;
  c.dMlp = dMlp;
  c.ctx = ctx;
  c.vocab = vocab;
  c.weightDensity = weightDensity;
  c.embedDensity = embedDensity;
  c.activationFraction = 0.25;
  return c;
}

} // namespace

int main(int argc, char **argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  int reps = quick ? 5 : 21;
  // examples/tiny.circ: 2 layers, d_model 32, d_mlp 128, ctx 32, vocab 512.
  ::circ::ModelConfig tiny = model(2, 32, 128, 32, 512, 0.25, 0.5);
  bench("tiny", tiny, 64, false, reps);
  bench("tiny", tiny, 64, true, reps);
  if (quick)
    return 0;
  // Issue #4's config (a) at density 1/64.
  ::circ::ModelConfig a = model(4, 256, 1024, 256, 2048, 1.0 / 64, 1.0 / 64);
  bench("a", a, 16, false, 7);
  bench("a", a, 16, true, 7);
  return 0;
}
