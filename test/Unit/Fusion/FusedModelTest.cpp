//===- FusedModelTest.cpp - whole models, fused vs unfused ----------------===//
//
// Random models built with the builder API (sparse and dense, sink, bigram,
// positional table, mask gates, AbsTopK at all or some sites), in two
// forms: a training step (@loss_grad over every parameter) and a pruning
// step (@loss_grad over the gate thresholds only, where the RMSNorm gains
// fold). Each module is compiled twice, as built and after
// circ-fold-rmsnorm-gain + circ-fuse-projection-epilogue, and every function
// (@forward, @loss, @loss_grad) must return the same values within f32
// tolerance. The test also checks the passes did fold and fuse, so the
// comparison is never vacuous.
//
//===----------------------------------------------------------------------===//

#include "../Codegen/CodegenTestUtils.h"
#include "Reference/Reference.h"

#include "circ/Builder/ModelBuilder.h"
#include "dialects/Circ/Transforms/Passes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"

#include <map>

using namespace circ::test;
namespace ref = circ::reference;
using circ::ModelConfig;
using circ::NodeLocation;

namespace {

struct ModelCase {
  const char *name;
  ModelConfig config;
  int64_t batch, seq;
  bool gates;
  uint64_t seed;
};

ModelConfig config(int64_t layers, int64_t dModel, int64_t dHead, int64_t dMlp,
                   int64_t vocab, double weightDensity, double embedDensity,
                   circ::NodeLocationSet sites, bool sink, bool bigram,
                   bool positional) {
  ModelConfig c;
  c.nLayer = layers;
  c.dModel = dModel;
  c.dHead = dHead;
  c.dMlp = dMlp;
  c.ctx = 16;
  c.vocab = vocab;
  c.weightDensity = weightDensity;
  c.embedDensity = embedDensity;
  c.activationFraction = 0.25;
  c.abstopkSites = sites;
  c.minPerUnit = 2;
  c.attentionSink = sink;
  c.bigramTable = bigram;
  c.positionalTable = positional;
  return c;
}

/// Every site but the residual reads (attn_in, mlp_in), so ln_1 and ln_2
/// feed projections directly and their gains can fold.
constexpr circ::NodeLocationSet kNoResidualReads =
    circ::kAllNodeLocations &
    ~((1u << static_cast<unsigned>(NodeLocation::AttnIn)) |
      (1u << static_cast<unsigned>(NodeLocation::MlpIn)));

/// Operation counts of a module.
std::map<std::string, int> opCounts(mlir::ModuleOp module) {
  std::map<std::string, int> counts;
  module.walk([&](mlir::Operation *op) {
    ++counts[op->getName().getStringRef().str()];
    if (auto fused = llvm::dyn_cast<mlir::circ::FusedProjOp>(op))
      if (fused.getScale())
        ++counts["scale"];
  });
  return counts;
}

/// One compiled form of a model module.
class Form {
public:
  Form(mlir::ModuleOp module, bool fuse) {
    if (fuse) {
      mlir::PassManager pm(module.getContext());
      pm.addNestedPass<mlir::func::FuncOp>(
          mlir::circ::createCircFoldRMSNormGain());
      pm.addNestedPass<mlir::func::FuncOp>(
          mlir::circ::createCircFuseProjectionEpilogue());
      if (mlir::failed(pm.run(module)))
        return;
    }
    counts = opCounts(module);
    mlir::circ::CPUPipelineOptions options;
    options.optimize = false; // the comparison controls the rewrites
    auto compiled = mlir::circ::JITModule::compile(module, options);
    if (mlir::succeeded(compiled))
      jit = std::move(*compiled);
  }
  bool ok() const { return jit != nullptr; }

  /// Calls `fn` with tokens, targets and the values by circ.param name;
  /// returns its outputs.
  std::vector<F32> run(const std::string &fn, const I32 &tokens,
                       const I32 &targets,
                       const std::map<std::string, F32> &values) {
    const mlir::circ::EntryPoint *entry = jit->entryPoint(fn);
    EXPECT_NE(entry, nullptr) << fn;
    if (!entry)
      return {};
    std::vector<F32> outputs;
    std::map<std::string, SparseWeight> shaped;
    std::map<std::string, F32> plain;
    std::vector<mlir::circ::BufferArg> args;
    outputs.reserve(entry->buffers.size());
    int ids = 0;
    for (const mlir::circ::BufferInfo &info : entry->buffers) {
      if (info.result >= 0) {
        outputs.emplace_back(info.shape);
        args.push_back(outputs.back().arg());
        continue;
      }
      if (info.param.empty()) {
        args.push_back(const_cast<I32 &>(ids++ == 0 ? tokens : targets).arg());
        continue;
      }
      if (info.buffer.empty()) { // biases, gains, sinks, gates
        F32 &v = plain[info.param] = values.at(info.param);
        v.shape = info.shape;
        args.push_back(v.arg());
        continue;
      }
      // The dense buffer comes first and fixes the shape of the flat
      // reference values; index buffers are built from it.
      auto it = shaped.find(info.param);
      if (it == shaped.end()) {
        F32 v = values.at(info.param);
        v.shape = info.shape;
        it = shaped.emplace(info.param, SparseWeight(std::move(v))).first;
      }
      static const char *const kCsr[] = {"dense",   "row_ptr", "col_idx",
                                         "values",  "col_ptr", "row_idx",
                                         "values_t"};
      std::string buffer = info.buffer.empty() ? "dense" : info.buffer;
      size_t slot = 0;
      while (slot < 6 && buffer != kCsr[slot])
        ++slot;
      EXPECT_EQ(buffer, kCsr[slot]) << "unexpected buffer of " << info.param;
      args.push_back(it->second.args("csr")[slot]);
    }
    std::string error;
    EXPECT_TRUE(mlir::succeeded(jit->call(fn, args, error))) << error;
    return outputs;
  }

  std::map<std::string, int> counts;

private:
  std::unique_ptr<mlir::circ::JITModule> jit;
};

/// Parameters and gates of a random model by circ.param name, as f32.
std::map<std::string, F32> modelValues(const ModelCase &c) {
  ref::Params params = ref::randomParams(c.config, c.seed);
  ref::sparsify(c.config, params);
  std::map<std::string, ref::Tensor> all(params.begin(), params.end());
  if (c.gates)
    for (const auto &[node, gate] :
         ref::randomGates(c.config, c.seed + 1).sites) {
      all[node + ".tau"] = gate.tau;
      all[node + ".mean"] = gate.mean;
    }
  std::map<std::string, F32> values;
  for (const auto &[name, t] : all) {
    F32 b({static_cast<int64_t>(t.size())});
    for (size_t i = 0; i < t.size(); ++i)
      b[i] = static_cast<float>(t[i]);
    values.emplace(name, std::move(b));
  }
  return values;
}

/// `params`: the circ.param names @loss_grad differentiates (empty: all).
void compareForms(const ModelCase &c, const std::vector<std::string> &params,
                  bool expectFolds) {
  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  mlir::circ::registerAllDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  mlir::circ::ModelBuildOptions options;
  options.batch = c.batch;
  options.seqLen = c.seq;
  options.withLoss = true;
  options.withMaskGates = c.gates;
  auto built = mlir::circ::buildModel(context, c.config, options);
  ASSERT_TRUE(mlir::succeeded(built));
  mlir::PassManager pm(&context);
  mlir::circ::CircDifferentiateOptions diff;
  diff.params.assign(params.begin(), params.end());
  pm.addPass(mlir::circ::createCircDifferentiate(diff));
  ASSERT_TRUE(mlir::succeeded(pm.run(**built)));

  mlir::OwningOpRef<mlir::ModuleOp> copy((**built).clone());
  Form unfused(**built, false), fused(*copy, true);
  ASSERT_TRUE(unfused.ok() && fused.ok());
  EXPECT_EQ(unfused.counts["circ.fused_proj"], 0);
  // Every layer's attn c_proj and mlp c_proj at least (and c_fc in
  // forward-only functions).
  EXPECT_GE(fused.counts["circ.fused_proj"], 2 * c.config.nLayer) << c.name;
  if (expectFolds)
    EXPECT_GT(fused.counts["scale"], 0) << c.name;

  std::map<std::string, F32> values = modelValues(c);
  std::mt19937 gen(static_cast<uint32_t>(c.seed));
  std::uniform_int_distribution<int32_t> id(0, int32_t(c.config.vocab - 1));
  I32 tokens({c.batch, c.seq}), targets({c.batch, c.seq});
  for (int64_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = id(gen);
    targets[i] = (i + 1) % c.seq == 0 ? -1 : id(gen);
  }
  for (const char *fn : {"forward", "loss", "loss_grad"}) {
    std::vector<F32> want = unfused.run(fn, tokens, targets, values);
    std::vector<F32> got = fused.run(fn, tokens, targets, values);
    ASSERT_EQ(want.size(), got.size()) << fn;
    ASSERT_FALSE(want.empty()) << fn;
    for (size_t r = 0; r < want.size(); ++r) {
      double scale = 0.0;
      for (float v : want[r].data)
        scale = std::max(scale, double(std::fabs(v)));
      expectClose(got[r], want[r].data, 1e-4, 1e-5 * scale + 1e-7,
                  std::string(c.name) + " @" + fn + " result " +
                      std::to_string(r));
    }
  }
}

void PrintTo(const ModelCase &c, std::ostream *os) { *os << c.name; }

class TrainingStep : public ::testing::TestWithParam<ModelCase> {};
class PruningStep : public ::testing::TestWithParam<ModelCase> {};

TEST_P(TrainingStep, FusedMatchesUnfused) {
  compareForms(GetParam(), {}, false);
}

TEST_P(PruningStep, FusedMatchesUnfused) {
  const ModelCase &c = GetParam();
  std::vector<std::string> taus;
  for (const auto &[node, gate] : ref::randomGates(c.config, c.seed + 1).sites)
    taus.push_back(node + ".tau");
  ASSERT_FALSE(taus.empty());
  compareForms(c, taus, true);
}

std::string caseName(const ::testing::TestParamInfo<ModelCase> &info) {
  return info.param.name;
}

const ModelCase kTrainingCases[] = {
    {"sparse_sink_bigram",
     config(2, 32, 8, 64, 64, 0.25, 0.5, circ::kAllNodeLocations, true, true,
            false),
     2, 12, false, 21},
    {"dense_no_residual_reads",
     config(2, 32, 8, 64, 48, 1.0, 1.0, kNoResidualReads, true, false, true), 2,
     9, false, 24},
};

const ModelCase kPruningCases[] = {
    {"gated_positional",
     config(1, 48, 16, 96, 40, 0.3, 0.6, circ::kAllNodeLocations, true, true,
            true),
     3, 7, true, 22},
    {"gated_no_residual_reads",
     config(1, 32, 16, 128, 48, 0.2, 0.5, kNoResidualReads, false, true, false),
     2, 16, true, 23},
};

INSTANTIATE_TEST_SUITE_P(Fusion, TrainingStep,
                         ::testing::ValuesIn(kTrainingCases), caseName);
INSTANTIATE_TEST_SUITE_P(Fusion, PruningStep,
                         ::testing::ValuesIn(kPruningCases), caseName);

} // namespace
