//===- TrainingStepTest.cpp - @loss_grad of whole models, JIT-compiled ----===//
//
// Random models built with the builder API (several shapes and densities,
// attention sink, bigram and positional tables, mask gates), differentiated
// by circ-differentiate and compiled with the CPU pipeline. Two oracles:
//
//  * the naive double-precision reference (test/Reference): forward,
//    cross-entropy and its hand-written backward on the same weights and
//    tokens; every gradient must agree entry by entry;
//  * central differences of the JIT-compiled @loss itself, one entry per
//    parameter. AbsTopK is discontinuous where its selection changes, so
//    each step is checked with the reference to move no selection; f32
//    rounding of the loss bounds the achievable precision.
//
//===----------------------------------------------------------------------===//

#include "../Codegen/CodegenTestUtils.h"
#include "Reference/Reference.h"

#include "circ/Builder/ModelBuilder.h"
#include "dialects/Circ/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace circ::test;
namespace ref = circ::reference;
using circ::ModelConfig;
using circ::NodeLocation;
using ref::Tensor;

namespace {

struct Case {
  const char *name;
  ModelConfig config;
  int64_t batch, seq;
  bool gates;
  uint64_t seed;
};

/// CSR and CSC of a dense [rows, cols] weight's nonzeros, the buffers of
/// the csr layout.
struct CsrBuffers {
  I32 rowPtr, colIdx, colPtr, rowIdx;
  F32 values, valuesT;

  CsrBuffers(const std::vector<float> &w, int64_t rows, int64_t cols) {
    rowPtr = I32({rows + 1});
    colPtr = I32({cols + 1});
    for (int64_t n = 0; n < rows; ++n) {
      rowPtr[n] = static_cast<int32_t>(colIdx.data.size());
      for (int64_t k = 0; k < cols; ++k)
        if (w[n * cols + k] != 0.0f) {
          colIdx.data.push_back(static_cast<int32_t>(k));
          values.data.push_back(w[n * cols + k]);
        }
    }
    rowPtr[rows] = static_cast<int32_t>(colIdx.data.size());
    for (int64_t k = 0; k < cols; ++k) {
      colPtr[k] = static_cast<int32_t>(rowIdx.data.size());
      for (int64_t n = 0; n < rows; ++n)
        if (w[n * cols + k] != 0.0f) {
          rowIdx.data.push_back(static_cast<int32_t>(n));
          valuesT.data.push_back(w[n * cols + k]);
        }
    }
    colPtr[cols] = static_cast<int32_t>(rowIdx.data.size());
    int64_t nnz = static_cast<int64_t>(colIdx.data.size());
    colIdx.shape = rowIdx.shape = values.shape = valuesT.shape = {nnz};
  }

  mlir::circ::BufferArg arg(const std::string &buffer) {
    if (buffer == "row_ptr")
      return rowPtr.arg();
    if (buffer == "col_idx")
      return colIdx.arg();
    if (buffer == "values")
      return values.arg();
    if (buffer == "col_ptr")
      return colPtr.arg();
    if (buffer == "row_idx")
      return rowIdx.arg();
    return valuesT.arg();
  }
};

/// A model's @loss and @loss_grad, compiled, with the parameter values the
/// calls bind (as f32, from the reference's doubles).
class TrainingStep {
public:
  explicit TrainingStep(const Case &c) : c(c) {
    mlir::DialectRegistry registry;
    mlir::circ::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    mlir::circ::ModelBuildOptions options;
    options.batch = c.batch;
    options.seqLen = c.seq;
    options.withLoss = true;
    options.withMaskGates = c.gates;
    auto module = mlir::circ::buildModel(context, c.config, options);
    if (mlir::failed(module))
      return;
    mlir::PassManager pm(&context);
    pm.addPass(mlir::circ::createCircDifferentiate());
    if (mlir::failed(pm.run(**module)))
      return;
    auto grad = (*module)->lookupSymbol<mlir::func::FuncOp>("loss_grad");
    for (unsigned r = 1; r < grad.getNumResults(); ++r)
      gradNames.push_back(
          grad.getResultAttrOfType<mlir::StringAttr>(r, "circ.grad").str());
    auto jit = mlir::circ::JITModule::compile(**module, {});
    if (mlir::succeeded(jit))
      this->jit = std::move(*jit);
  }

  bool ok() const { return jit != nullptr; }

  /// Parameter values by circ.param name (model parameters and gates).
  std::map<std::string, Tensor> values;
  /// Names of @loss_grad's gradient results, in order.
  std::vector<std::string> gradNames;

  /// Calls `fn` on tokens/targets and the current values; returns the loss
  /// and, for @loss_grad, fills `grads` by parameter name.
  float run(const std::string &fn, const I32 &tokens, const I32 &targets,
            std::map<std::string, F32> *grads = nullptr) {
    const mlir::circ::EntryPoint *entry = jit->entryPoint(fn);
    EXPECT_NE(entry, nullptr) << fn;
    std::map<std::string, F32> dense;
    std::map<std::string, CsrBuffers> csr;
    std::vector<F32> outputs;
    outputs.reserve(entry->buffers.size());
    std::vector<mlir::circ::BufferArg> args;
    int ids = 0;
    for (const mlir::circ::BufferInfo &info : entry->buffers) {
      if (info.result >= 0) {
        std::vector<int64_t> shape = info.shape;
        outputs.emplace_back(shape);
        args.push_back(outputs.back().arg());
      } else if (info.param.empty()) {
        const I32 &idsBuffer = ids++ == 0 ? tokens : targets;
        args.push_back(const_cast<I32 &>(idsBuffer).arg());
      } else {
        auto it = dense.find(info.param);
        if (it == dense.end()) {
          const Tensor &v = values.at(info.param);
          F32 b(info.shape);
          for (size_t i = 0; i < v.size(); ++i)
            b.data[i] = static_cast<float>(v[i]);
          it = dense.emplace(info.param, std::move(b)).first;
        }
        if (info.buffer.empty() || info.buffer == "dense") {
          args.push_back(it->second.arg());
          continue;
        }
        auto cit = csr.find(info.param);
        if (cit == csr.end())
          cit = csr.emplace(info.param,
                            CsrBuffers(it->second.data, it->second.shape[0],
                                       it->second.shape[1]))
                    .first;
        args.push_back(cit->second.arg(info.buffer));
      }
    }
    std::string error;
    EXPECT_TRUE(mlir::succeeded(jit->call(fn, args, error))) << error;
    if (grads)
      for (size_t r = 0; r < gradNames.size(); ++r)
        (*grads)[gradNames[r]] = outputs[r + 1];
    return outputs[0].data[0];
  }

private:
  Case c;
  mlir::MLIRContext context;
  std::unique_ptr<mlir::circ::JITModule> jit;
};

/// The reference's view of the same model: parameters, gates, and what the
/// builder names them.
struct Model {
  ref::Params params;
  ref::Gates gates;
  std::vector<int64_t> tokens, targets;
  I32 tokenIds, targetIds;

  Model(const Case &c) {
    params = ref::randomParams(c.config, c.seed);
    ref::sparsify(c.config, params);
    if (c.gates)
      gates = ref::randomGates(c.config, c.seed + 1);
    std::mt19937 gen(static_cast<uint32_t>(c.seed));
    std::uniform_int_distribution<int64_t> id(0, c.config.vocab - 1);
    tokenIds = I32({c.batch, c.seq});
    for (int64_t i = 0; i < c.batch * c.seq; ++i) {
      tokens.push_back(id(gen));
      tokenIds[i] = static_cast<int32_t>(tokens.back());
    }
    // The last position of each sequence has no next token: -1, ignored.
    targets = ref::nextTokenTargets(tokens, c.batch, c.seq);
    targetIds = I32({c.batch, c.seq});
    for (int64_t i = 0; i < c.batch * c.seq; ++i)
      targetIds[i] = static_cast<int32_t>(targets[i]);
  }

  /// Every value by its circ.param name.
  std::map<std::string, Tensor> values() const {
    std::map<std::string, Tensor> v(params.begin(), params.end());
    for (const auto &[node, gate] : gates.sites) {
      v[node + ".tau"] = gate.tau;
      v[node + ".mean"] = gate.mean;
    }
    return v;
  }

  /// Loss and gradients of the reference at `v` (circ.param names).
  double referenceGradients(const Case &c,
                            const std::map<std::string, Tensor> &v,
                            std::map<std::string, Tensor> *grads,
                            ref::ForwardResult *fwdOut = nullptr) const {
    ref::Params p;
    ref::Gates g = gates;
    for (const auto &[name, t] : v) {
      auto dot = name.rfind('.');
      std::string node = name.substr(0, dot), field = name.substr(dot + 1);
      if (g.sites.count(node) && field == "tau")
        g.sites[node].tau = t;
      else if (g.sites.count(node) && field == "mean")
        g.sites[node].mean = t;
      else
        p[name] = t;
    }
    const ref::Gates *gp = c.gates ? &g : nullptr;
    ref::ForwardResult fwd =
        ref::forward(c.config, p, tokens, c.batch, c.seq, gp);
    Tensor dLogits;
    double loss = ref::crossEntropy(fwd.logits, c.config.vocab, targets,
                                    grads ? &dLogits : nullptr);
    if (grads) {
      ref::Gradients gr = ref::backward(c.config, p, fwd, dLogits, gp);
      for (auto &[name, t] : gr.params)
        (*grads)[name] = t;
      for (auto &[node, t] : gr.tau)
        (*grads)[node + ".tau"] = t;
      for (auto &[node, t] : gr.mean)
        (*grads)[node + ".mean"] = t;
    }
    if (fwdOut)
      *fwdOut = std::move(fwd);
    return loss;
  }
};

ModelConfig config(int64_t layers, int64_t dModel, int64_t dHead,
                   int64_t dMlp, int64_t vocab, double weightDensity,
                   double embedDensity, double activationFraction, bool sink,
                   bool bigram, bool positional) {
  ModelConfig c;
  c.nLayer = layers;
  c.dModel = dModel;
  c.dHead = dHead;
  c.dMlp = dMlp;
  c.ctx = 16;
  c.vocab = vocab;
  c.weightDensity = weightDensity;
  c.embedDensity = embedDensity;
  c.activationFraction = activationFraction;
  c.minPerUnit = 2;
  c.attentionSink = sink;
  c.bigramTable = bigram;
  c.positionalTable = positional;
  return c;
}

const Case kCases[] = {
    {"dense_plain", config(1, 32, 16, 64, 48, 1.0, 1.0, 0.25, false, false,
                           false),
     2, 9, false, 11},
    {"sparse_sink_bigram", config(2, 32, 8, 64, 64, 0.25, 0.5, 0.25, true,
                                  true, false),
     2, 12, false, 12},
    {"gated_positional", config(2, 48, 16, 96, 40, 0.3, 0.6, 0.25, true, true,
                                true),
     3, 7, true, 13},
    {"wide_heads_half_topk", config(1, 64, 32, 128, 56, 0.1, 0.25, 0.5, true,
                                    false, true),
     1, 16, true, 14},
};

class TrainingStepTest : public ::testing::TestWithParam<Case> {
protected:
  /// Both tests of a case share one compiled model.
  static TrainingStep &compiled(const Case &c) {
    static std::map<std::string, std::unique_ptr<TrainingStep>> cache;
    std::unique_ptr<TrainingStep> &step = cache[c.name];
    if (!step)
      step = std::make_unique<TrainingStep>(c);
    return *step;
  }
};

/// Every gradient of @loss_grad (and the loss) against the reference.
TEST_P(TrainingStepTest, MatchesReferenceBackward) {
  const Case &c = GetParam();
  TrainingStep &step = compiled(c);
  ASSERT_TRUE(step.ok());
  Model model(c);
  step.values = model.values();
  std::map<std::string, F32> grads;
  float loss = step.run("loss_grad", model.tokenIds, model.targetIds, &grads);
  std::map<std::string, Tensor> expected;
  double expectedLoss =
      model.referenceGradients(c, step.values, &expected);
  EXPECT_NEAR(loss, expectedLoss, 1e-5 * std::fabs(expectedLoss));
  EXPECT_EQ(grads.size(), expected.size());
  for (const auto &[name, want] : expected) {
    ASSERT_TRUE(grads.count(name)) << "no gradient for " << name;
    double scale = 0.0;
    for (double v : want)
      scale = std::max(scale, std::fabs(v));
    expectClose(grads[name], want, 1e-3, 1e-3 * scale + 1e-7, name);
  }
}

/// Central differences of the compiled @loss at the entry of largest
/// gradient of every parameter except the thresholds (Heaviside forward:
/// their gradient is the surrogate, which the reference comparison covers).
TEST_P(TrainingStepTest, MatchesDifferencesOfCompiledLoss) {
  const Case &c = GetParam();
  TrainingStep &step = compiled(c);
  ASSERT_TRUE(step.ok());
  Model model(c);
  const std::map<std::string, Tensor> base = model.values();
  step.values = base;
  std::map<std::string, F32> grads;
  step.run("loss_grad", model.tokenIds, model.targetIds, &grads);
  ref::ForwardResult fwd0;
  model.referenceGradients(c, base, nullptr, &fwd0);

  // Whether AbsTopK keeps the same entries at `v` as at the base point.
  auto sameSelection = [&](const std::map<std::string, Tensor> &v) {
    ref::ForwardResult fwd;
    model.referenceGradients(c, v, nullptr, &fwd);
    for (size_t l = 0; l < fwd.layers.size(); ++l) {
      const ref::LayerState &a = fwd.layers[l], &b = fwd0.layers[l];
      for (auto [x, y] :
           {std::pair{&a.attnIn, &b.attnIn}, {&a.q, &b.q}, {&a.k, &b.k},
            {&a.v, &b.v}, {&a.attnOut, &b.attnOut}, {&a.mlpIn, &b.mlpIn},
            {&a.neuron, &b.neuron}, {&a.mlpOut, &b.mlpOut}})
        if (x->kept != y->kept)
          return false;
    }
    return true;
  };

  int checked = 0;
  for (const auto &[name, theta] : base) {
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tau") == 0)
      continue;
    // Entries the kernels read (a sparse weight's support), by decreasing
    // |gradient|: the largest derivatives stand out of the f32 rounding.
    std::vector<size_t> order;
    for (size_t i = 0; i < theta.size(); ++i)
      if (theta[i] != 0.0)
        order.push_back(i);
    const F32 &g = grads[name];
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::fabs(g[a]) > std::fabs(g[b]);
    });
    // The first entry with a step in 1e-2 … 1e-3 that changes no AbsTopK
    // selection (an entry whose gradient is exactly zero, such as the mean
    // of a kept channel, must then show no change at all).
    bool done = false;
    for (size_t attempt = 0; attempt < order.size() && !done; ++attempt) {
      size_t i = order[attempt];
      std::map<std::string, Tensor> plus = base, minus = base;
      for (double h = 1e-2; h >= 1e-3; h /= 2) {
        plus[name][i] = theta[i] + h;
        minus[name][i] = theta[i] - h;
        if (!sameSelection(plus) || !sameSelection(minus))
          continue;
        step.values = plus;
        double up = step.run("loss", model.tokenIds, model.targetIds);
        step.values = minus;
        double down = step.run("loss", model.tokenIds, model.targetIds);
        double numeric = (up - down) / (2 * h);
        // f32 rounding of the loss (~1e-6 relative) over the step, and the
        // O(h²) truncation.
        double tolerance = 3e-6 * std::fabs(up) / h + 2e-2 * std::fabs(g[i]);
        EXPECT_NEAR(g[i], numeric, tolerance)
            << name << "[" << i << "] (h = " << h << ")";
        done = true;
        break;
      }
    }
    EXPECT_TRUE(done) << name
                      << ": every step moves some AbsTopK selection";
    checked += done;
  }
  EXPECT_GT(checked, 10);
}

INSTANTIATE_TEST_SUITE_P(Models, TrainingStepTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
