//===- GradientCheckTest.cpp - reference backward vs finite differences ---===//
//
// Central differences in double precision for every entry of every
// parameter (and every gate mean, and dL/dm for the relaxed gates that the
// tau surrogate multiplies), on small random models of several shapes.
// AbsTopK makes the loss piecewise smooth: a difference is only compared
// when neither perturbation changes any node's kept set.
//
//===----------------------------------------------------------------------===//
#include "Reference/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

using namespace circ;
using namespace circ::reference;

namespace {

struct Shape {
  const char *name;
  int64_t layers, dModel, dHead, dMlp, vocab;
  double activationFraction;
  bool sink, bigram, positional;
  double density; // weight and embedding density (1 = dense)
  bool gates;
};

std::ostream &operator<<(std::ostream &os, const Shape &s) {
  return os << s.name;
}

ModelConfig configOf(const Shape &s) {
  ModelConfig c;
  c.nLayer = s.layers;
  c.dModel = s.dModel;
  c.dHead = s.dHead;
  c.dMlp = s.dMlp;
  c.vocab = s.vocab;
  c.ctx = 8;
  c.activationFraction = s.activationFraction;
  c.attentionSink = s.sink;
  c.bigramTable = s.bigram;
  c.positionalTable = s.positional;
  c.weightDensity = c.embedDensity = s.density;
  return c;
}

constexpr int64_t kBatch = 2, kSeq = 5;

const std::vector<int64_t> &tokensFor(int64_t vocab) {
  static std::vector<int64_t> t;
  t.clear();
  for (int64_t i = 0; i < kBatch * kSeq; ++i)
    t.push_back((i * 7 + 3) % vocab);
  return t;
}

/// The loss under test: next-token CE plus 0.7 x the contrast loss of two
/// prompts, so both loss gradients reach the model.
double lossOf(const ModelConfig &c, const ForwardResult &r, Tensor *dLogits) {
  Tensor dCe, dContrast;
  std::vector<int64_t> targets = nextTokenTargets(r.tokens, kBatch, kSeq);
  double ce =
      crossEntropy(r.logits, c.vocab, targets, dLogits ? &dCe : nullptr);
  std::vector<ContrastPrompt> prompts = {{0, kSeq - 1, 1, 2},
                                         {1, kSeq - 2, 3, 0}};
  double contrast = contrastLoss(r.logits, kSeq, c.vocab, prompts,
                                 dLogits ? &dContrast : nullptr);
  if (dLogits) {
    dLogits->resize(dCe.size());
    for (size_t i = 0; i < dCe.size(); ++i)
      (*dLogits)[i] = dCe[i] + 0.7 * dContrast[i];
  }
  return ce + 0.7 * contrast;
}

/// Every kept mask of every node, concatenated.
std::vector<char> keptSets(const ForwardResult &r) {
  std::vector<char> all;
  for (const LayerState &l : r.layers)
    for (const NodeState *n : {&l.attnIn, &l.q, &l.k, &l.v, &l.attnOut,
                               &l.mlpIn, &l.neuron, &l.mlpOut})
      all.insert(all.end(), n->kept.begin(), n->kept.end());
  return all;
}

class GradientCheck : public ::testing::TestWithParam<Shape> {
protected:
  /// Compares `analytic` with the central difference of the loss under
  /// `value` +- h; returns false when the difference was skipped.
  bool check(double &value, double analytic, const std::string &what) {
    const double h = 1e-5;
    const double saved = value;
    value = saved + h;
    ForwardResult up = forward(cfg, params, tokens, kBatch, kSeq, gatesPtr());
    value = saved - h;
    ForwardResult down = forward(cfg, params, tokens, kBatch, kSeq, gatesPtr());
    value = saved;
    if (keptSets(up) != baseKept || keptSets(down) != baseKept) {
      ++skipped;
      return false;
    }
    double fd =
        (lossOf(cfg, up, nullptr) - lossOf(cfg, down, nullptr)) / (2 * h);
    EXPECT_NEAR(analytic, fd, 1e-7 + 1e-5 * std::fabs(fd)) << what;
    ++checked;
    return true;
  }
  const Gates *gatesPtr() const { return GetParam().gates ? &gates : nullptr; }

  ModelConfig cfg;
  Params params;
  Gates gates;
  std::vector<int64_t> tokens;
  std::vector<char> baseKept;
  int64_t checked = 0, skipped = 0;
};

// Tests dL/dparameter for every entry of every parameter (sparse ones at
// their zeros too: gradients stay dense) and dL/dmean of every gate.
TEST_P(GradientCheck, MatchesFiniteDifferences) {
  const Shape shape = GetParam();
  cfg = configOf(shape);
  params = randomParams(cfg, 17);
  if (shape.density < 1.0)
    sparsify(cfg, params);
  if (shape.gates)
    gates = randomGates(cfg, 5);
  tokens = tokensFor(cfg.vocab);
  ForwardResult base = forward(cfg, params, tokens, kBatch, kSeq, gatesPtr());
  baseKept = keptSets(base);
  Tensor dLogits;
  lossOf(cfg, base, &dLogits);
  Gradients g = backward(cfg, params, base, dLogits, gatesPtr());

  for (const ParamSpec &spec : modelParameters(cfg)) {
    Tensor &value = params.at(spec.name);
    const Tensor &grad = g.params.at(spec.name);
    ASSERT_EQ(grad.size(), value.size()) << spec.name;
    for (size_t i = 0; i < value.size(); ++i)
      check(value[i], grad[i], spec.name + "[" + std::to_string(i) + "]");
  }
  if (shape.gates)
    for (auto &[name, gate] : gates.sites)
      for (size_t i = 0; i < gate.mean.size(); ++i)
        check(gate.mean[i], g.mean.at(name)[i],
              name + ".mean[" + std::to_string(i) + "]");
  // AbsTopK boundaries are measure-zero, but sparse weights make exact
  // zeros (ties at |0|) common; still, almost every entry is checked.
  EXPECT_GT(checked, 10 * (skipped + 1))
      << checked << " checked, " << skipped << " skipped";
}

// Tests the tau surrogate: dL/dtau = surrogate(tau) * dL/dm, where dL/dm is
// measured by finite differences of a relaxed (continuous) mask held at
// H(tau).
class GateCheck : public GradientCheck {};

TEST_P(GateCheck, ThresholdIsSurrogateTimesMaskDerivative) {
  const Shape shape = GetParam();
  cfg = configOf(shape);
  params = randomParams(cfg, 23);
  gates = randomGates(cfg, 9);
  gates.temperature = 0.7;
  tokens = tokensFor(cfg.vocab);
  ForwardResult base = forward(cfg, params, tokens, kBatch, kSeq, &gates);
  baseKept = keptSets(base);
  Tensor dLogits;
  lossOf(cfg, base, &dLogits);
  Gradients g = backward(cfg, params, base, dLogits, &gates);
  for (auto &[name, gate] : gates.sites) {
    gate.relaxed.resize(gate.tau.size());
    for (size_t i = 0; i < gate.tau.size(); ++i)
      gate.relaxed[i] = gate.tau[i] >= 0 ? 1.0 : 0.0;
  }
  for (auto &[name, gate] : gates.sites)
    for (size_t i = 0; i < gate.tau.size(); ++i) {
      double surrogate = gateSurrogate(gate.tau[i], gates.temperature);
      // dL/dtau = surrogate * dL/dm  <=>  dL/dm = dL/dtau / surrogate.
      check(gate.relaxed[i], g.tau.at(name)[i] / surrogate,
            name + ".tau[" + std::to_string(i) + "]");
    }
  EXPECT_GT(checked, 20 * (skipped + 1));
}

const Shape kGatedWithTopK{
    "GatedWithTopK", 2, 8, 4, 16, 9, 0.5, true, true, false, 1.0 / 64, true};
const Shape kGatedDense{"GatedDense", 1,     8,    8,    8,   6,
                        1.0,          false, true, true, 1.0, true};
auto shapeName = [](const ::testing::TestParamInfo<Shape> &info) {
  return std::string(info.param.name);
};

INSTANTIATE_TEST_SUITE_P(Shapes, GradientCheck,
                         ::testing::Values(
                             // name, layers, d_model, d_head, d_mlp, vocab,
                             // afrac, sink, bigram, wpe, density, gates
                             Shape{"Dense2LayerAllExtras", 2, 8, 4, 16, 11, 0.5,
                                   true, true, true, 1.0, false},
                             Shape{"Density64", 2, 8, 4, 16, 11, 0.5, true,
                                   true, false, 1.0 / 64, false},
                             Shape{"Density1000NoExtras", 1, 16, 8, 32, 13,
                                   0.25, false, false, false, 1.0 / 1000,
                                   false},
                             Shape{"NoActivationSparsity", 1, 8, 2, 12, 7, 1.0,
                                   true, false, true, 1.0, false},
                             kGatedWithTopK, kGatedDense),
                         shapeName);

INSTANTIATE_TEST_SUITE_P(Shapes, GateCheck,
                         ::testing::Values(kGatedWithTopK, kGatedDense),
                         shapeName);

} // namespace
