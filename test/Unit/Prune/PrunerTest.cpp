//===- PrunerTest.cpp - the pruning algorithm on the reference model -*- C++ -*-===//
//
// Node indexing, task rows, the loss and the logit fit (against brute
// force), the bisection (against a linear scan), and whole pruning runs on
// the naive reference model: the hand-built model's circuit is recovered
// exactly, and the τ gradient matches finite differences of relaxed masks.
//
//===----------------------------------------------------------------------===//

#include "HandBuiltModel.h"
#include "ReferenceTaskModel.h"

#include "circ/Builder/ModelBuilder.h"
#include "circ/Prune/Pruner.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace circ;
using namespace circ::prune;
using namespace circ::prune::testing;

namespace {

ModelConfig smallConfig() {
  ModelConfig c;
  c.nLayer = 2;
  c.dModel = 16;
  c.dHead = 8;
  c.dMlp = 32;
  c.ctx = 8;
  c.vocab = 12;
  return c;
}

//===----------------------------------------------------------------------===//
// Nodes
//===----------------------------------------------------------------------===//

TEST(Nodes, FlatOrderMatchesTheBuildersGateArguments) {
  ModelConfig c = smallConfig();
  NodeSpace space(c);
  std::vector<mlir::circ::MaskGateParam> gates =
      mlir::circ::maskGateParameters(c);
  ASSERT_EQ(space.gates().size(), gates.size());
  int64_t offset = 0;
  for (size_t i = 0; i < gates.size(); ++i) {
    const GateSlice &s = space.gates()[i];
    EXPECT_EQ(s.tauName, gates[i].tauName);
    EXPECT_EQ(s.meanName, gates[i].meanName);
    EXPECT_EQ(s.width, gates[i].width);
    EXPECT_EQ(s.layer, gates[i].layer);
    EXPECT_EQ(s.offset, offset);
    offset += s.width;
  }
  // 2 layers x (7 x 16 + 32) nodes.
  EXPECT_EQ(space.size(), 2 * (7 * 16 + 32));
  EXPECT_EQ(offset, space.size());
  EXPECT_EQ(space.numPrunable(), space.size());
}

TEST(Nodes, IdsRoundTripAndPrunableSites) {
  ModelConfig c = smallConfig();
  NodeLocationSet mlpOnly =
      (1u << static_cast<unsigned>(NodeLocation::MlpIn)) |
      (1u << static_cast<unsigned>(NodeLocation::MlpNeuron)) |
      (1u << static_cast<unsigned>(NodeLocation::MlpOut));
  NodeSpace space(c, mlpOnly);
  EXPECT_EQ(space.numPrunable(), 2 * (16 + 32 + 16));
  for (int64_t i = 0; i < space.size(); ++i) {
    circuits::NodeId id = space.id(i);
    EXPECT_EQ(space.index(id), i);
    bool mlp = id.site == circuits::Site::MlpIn ||
               id.site == circuits::Site::MlpNeuron ||
               id.site == circuits::Site::MlpOut;
    EXPECT_EQ(space.prunable(i), mlp) << circuits::nodeName(id);
  }
  // Layer 1's neuron 5: after layer 0 (144 nodes) and 6 x 16 channels.
  EXPECT_EQ(space.index({1, circuits::Site::MlpNeuron, 5}), 144 + 96 + 5);
  EXPECT_EQ(circuits::nodeName(space.id(144 + 96 + 5)), "1.mlp_neuron.5");
  EXPECT_EQ(space.index({2, circuits::Site::AttnIn, 0}), -1);
  EXPECT_EQ(space.index({0, circuits::Site::MlpNeuron, 32}), -1);
  EXPECT_EQ(space.index({0, circuits::Site::Logit, 1}), -1);

  // Circuit gates keep the chosen prunable nodes and every other node.
  std::vector<char> keep(space.size(), 0);
  keep[space.index({0, circuits::Site::MlpOut, 3})] = 1;
  Gates g = circuitGates(space, std::vector<float>(space.size(), 0.5f), keep);
  for (int64_t i = 0; i < space.size(); ++i)
    EXPECT_EQ(g.tau[i] >= 0, !space.prunable(i) || keep[i]);
}

//===----------------------------------------------------------------------===//
// Task rows
//===----------------------------------------------------------------------===//

TEST(TaskRows, TruncatesLeftPadsRightAndPairsRows) {
  tasks::EncodedPair p;
  p.promptA = {1, 2, 3, 4, 5, 6};
  p.promptB = {9, 8};
  p.tokenA = 10;
  p.tokenB = 11;
  PromptSet set = toPromptSet({p}, 4, /*padId=*/0);
  ASSERT_EQ(set.size(), 2);
  EXPECT_EQ(set.tokens, (std::vector<int32_t>{3, 4, 5, 6, 9, 8, 0, 0}));
  EXPECT_EQ(set.positions, (std::vector<int32_t>{3, 1}));
  EXPECT_EQ(set.correct, (std::vector<int32_t>{10, 11}));
  EXPECT_EQ(set.wrong, (std::vector<int32_t>{11, 10}));
  EXPECT_EQ(set.side, (std::vector<int8_t>{1, -1}));
  EXPECT_EQ(longestPrompt({p}), 6);

  // A partial batch repeats the last row.
  PromptSet rows = set.rows(1, 3);
  ASSERT_EQ(rows.size(), 3);
  EXPECT_EQ(rows.positions, (std::vector<int32_t>{1, 1, 1}));
  EXPECT_EQ(std::vector<int32_t>(rows.tokens.begin() + 8, rows.tokens.end()),
            (std::vector<int32_t>{9, 8, 0, 0}));
}

TEST(TaskRows, NonsenseLabelsSwapWholePairsByContent) {
  PromptSet set = toPromptSet(handBuiltPairs(400, 1), 8, 0);
  PromptSet a = withNonsenseLabels(set, 7), b = withNonsenseLabels(set, 7);
  EXPECT_EQ(a.correct, b.correct); // deterministic
  int swapped = 0;
  for (int64_t r = 0; r < set.size(); r += 2) {
    bool s0 = a.correct[r] != set.correct[r];
    bool s1 = a.correct[r + 1] != set.correct[r + 1];
    EXPECT_EQ(s0, s1) << "pairs are relabelled together";
    EXPECT_EQ(a.side[r], s0 ? -set.side[r] : set.side[r]);
    EXPECT_EQ(a.correct[r], s0 ? set.wrong[r] : set.correct[r]);
    swapped += s0;
  }
  // About half of the 400 pairs (binomial: 5 sigma is 50).
  EXPECT_GT(swapped, 150);
  EXPECT_LT(swapped, 250);
  EXPECT_NE(withNonsenseLabels(set, 8).correct, a.correct);
}

TEST(TaskRows, PrefixesShiftSpans) {
  tasks::TaskPair p{"x = '", "x = \"", "')", "\")", {{4, 1}}, {{4, 1}}};
  std::vector<tasks::TaskPair> out = withPrefixes({p, p}, {"a\n", "bb\n"});
  EXPECT_EQ(out[0].promptA, "a\nx = '");
  EXPECT_EQ(out[1].promptB, "bb\nx = \"");
  EXPECT_EQ(out[1].spansA[0].offset, 7u);
  EXPECT_EQ(out[0].completionA, "')");
}

//===----------------------------------------------------------------------===//
// Loss, logit fit, bisection
//===----------------------------------------------------------------------===//

TEST(Loss, PerPromptBinaryCrossEntropy) {
  EXPECT_NEAR(taskLoss({0.0f, 0.0f}, {1, -1}), std::log(2.0), 1e-12);
  // log(1 + e^-2) and log(1 + e^3), averaged.
  double expected = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(3.0))) / 2;
  EXPECT_NEAR(taskLoss({2.0f, -3.0f}, {1, 1}), expected, 1e-12);
  // Large margins neither overflow nor lose the loss.
  EXPECT_NEAR(taskLoss({-1000.0f}, {1}), 1000.0, 1e-9);
  EXPECT_NEAR(taskLoss({1000.0f}, {1}), 0.0, 1e-12);
  // margin' = 2 m + side * 0.5
  EXPECT_NEAR(taskLoss({1.0f, 1.0f}, {1, -1}, {2.0, 0.5}),
              (std::log1p(std::exp(-2.5)) + std::log1p(std::exp(-1.5))) / 2,
              1e-12);
}

TEST(Loss, LogitFitFindsTheGridMinimum) {
  // Margins of a miscalibrated circuit: right sign, wrong scale, biased
  // towards token A.
  std::vector<float> m;
  std::vector<int8_t> side;
  for (int i = 0; i < 60; ++i) {
    int8_t s = i % 2 ? -1 : 1;
    m.push_back(0.2f + 0.05f * (i % 7) + 0.3f * s);
    side.push_back(s);
  }
  LogitFit fit = fitLogits(m, side);
  double best = 1e9;
  for (double a = 0; a <= 30; a += 0.05)
    for (double c = -10; c <= 10; c += 0.05)
      best = std::min(best, taskLoss(m, side, {a, c}));
  EXPECT_LE(taskLoss(m, side, fit), best + 1e-6);
  EXPECT_LT(taskLoss(m, side, fit), taskLoss(m, side));

  // A circuit that answers backwards is not rescued by a negative scale.
  std::vector<float> wrong(m.size());
  for (size_t i = 0; i < m.size(); ++i)
    wrong[i] = -std::abs(m[i]);
  LogitFit none = fitLogits(wrong, side);
  EXPECT_GE(none.scale, 0.0);
  EXPECT_GE(taskLoss(wrong, side, none), std::log(2.0) - 1e-3);
}

TEST(Bisection, SmallestKOnMonotoneCurvesWithLogEvaluations) {
  for (int64_t n : {1, 2, 7, 100, 1000}) {
    for (int64_t answer = 0; answer <= n; answer += std::max<int64_t>(1, n / 13)) {
      int evals = 0;
      auto lossAt = [&](int64_t k) -> rt::Expected<double> {
        ++evals;
        return k >= answer ? 0.1 - 0.01 * k / n : 1.0 - 0.5 * k / n;
      };
      rt::Expected<Bisection> b = bisectKeptNodes(n, 0.15, lossAt);
      ASSERT_TRUE(bool(b));
      EXPECT_TRUE(b->reached);
      EXPECT_EQ(b->kept, answer) << "n " << n;
      EXPECT_LE(evals, 2 + static_cast<int>(std::ceil(std::log2(n + 1))));
      EXPECT_EQ(static_cast<int>(b->curve.size()), evals);
      for (size_t i = 1; i < b->curve.size(); ++i)
        EXPECT_LT(b->curve[i - 1].keptNodes, b->curve[i].keptNodes);
    }
  }
}

TEST(Bisection, UnreachableTargetAndErrors) {
  rt::Expected<Bisection> b = bisectKeptNodes(
      10, 0.15, [](int64_t) -> rt::Expected<double> { return 0.4; });
  ASSERT_TRUE(bool(b));
  EXPECT_FALSE(b->reached);
  EXPECT_EQ(b->kept, 10);
  EXPECT_DOUBLE_EQ(b->loss, 0.4);
  rt::Expected<Bisection> e = bisectKeptNodes(
      10, 0.15, [](int64_t k) -> rt::Expected<double> {
        if (k == 5)
          return rt::Error::failure("boom");
        return k > 5 ? 0.0 : 1.0;
      });
  ASSERT_FALSE(bool(e));
  EXPECT_EQ(e.message(), "boom");
}

//===----------------------------------------------------------------------===//
// Pruning on the reference model
//===----------------------------------------------------------------------===//

TEST(Pruning, SurrogateGradientMatchesFiniteDifferencesOfRelaxedMasks) {
  ModelConfig c = smallConfig();
  c.attentionSink = true;
  reference::Params params = reference::randomParams(c, 3, 0.5);
  ReferenceTaskModel model(c, params, 4, 8);
  NodeSpace space(c);
  // Prompts of random tokens.
  std::vector<tasks::EncodedPair> pairs;
  for (int i = 0; i < 2; ++i) {
    tasks::EncodedPair p;
    for (int t = 0; t < 5 + i; ++t)
      p.promptA.push_back((7 * i + 3 * t + 1) % c.vocab);
    p.promptB = p.promptA;
    p.promptB.back() = (p.promptB.back() + 1) % c.vocab;
    p.tokenA = 2 + i;
    p.tokenB = 5;
    pairs.push_back(p);
  }
  PromptSet rows = toPromptSet(pairs, 8, 0);
  Gates gates;
  gates.ablation.resize(space.size());
  gates.tau.resize(space.size());
  for (int64_t i = 0; i < space.size(); ++i) {
    gates.ablation[i] = 0.3f * std::sin(0.7 * i);
    gates.tau[i] = 0.8f * std::cos(1.3 * i); // some pruned, some kept
  }
  std::vector<float> grad;
  rt::Expected<double> loss = model.lossAndTauGrad(rows, gates, grad);
  ASSERT_TRUE(bool(loss));
  std::vector<double> mask(space.size());
  for (int64_t i = 0; i < space.size(); ++i)
    mask[i] = gates.tau[i] >= 0 ? 1.0 : 0.0;
  EXPECT_NEAR(model.relaxedLoss(rows, gates, mask), *loss, 1e-12);
  int checked = 0;
  for (int64_t i = 0; i < space.size(); i += 7) {
    const double h = 1e-5;
    std::vector<double> up = mask, down = mask;
    up[i] += h;
    down[i] -= h;
    double dLdm = (model.relaxedLoss(rows, gates, up) -
                   model.relaxedLoss(rows, gates, down)) /
                  (2 * h);
    double s = 1.0 / (1.0 + std::exp(-gates.tau[i]));
    EXPECT_NEAR(grad[i], s * (1 - s) * dLdm, 1e-6 + 1e-4 * std::abs(grad[i]))
        << circuits::nodeName(space.id(i));
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

TEST(Pruning, RecoversTheHandBuiltCircuitExactly) {
  ModelConfig c = handBuiltConfig();
  ReferenceTaskModel model(c, handBuiltParams(c), 16, 8);
  NodeSpace space(c);
  PromptSet train = toPromptSet(handBuiltPairs(64, 1), 8, 0);
  PromptSet eval = toPromptSet(handBuiltPairs(16, 2), 8, 0);
  std::vector<float> zero(space.size(), 0.0f);
  PruneOptions o; // the paper's settings
  o.steps = 300;
  rt::Expected<PruneResult> r = pruneTask(model, space, zero, train, eval, o);
  ASSERT_TRUE(bool(r)) << r.message();
  EXPECT_TRUE(r->reachedTarget);
  EXPECT_LT(r->fullLoss, 0.1);
  std::set<std::string> kept;
  for (int64_t i = 0; i < space.size(); ++i)
    if (r->keep[i])
      kept.insert(circuits::nodeName(space.id(i)));
  EXPECT_EQ(kept, handBuiltCircuit());

  EXPECT_EQ(r->keptNodes, 4);
  EXPECT_LE(r->loss, o.targetLoss);
  // One node fewer misses the target: the bisection's curve shows it.
  bool sawThree = false;
  for (const circuits::CurvePoint &p : r->curve)
    if (p.keptNodes == 3) {
      sawThree = true;
      EXPECT_GT(p.loss, o.targetLoss);
    }
  EXPECT_TRUE(sawThree);
  EXPECT_EQ(static_cast<int64_t>(r->stepLoss.size()), o.steps);

  // With the same seed the run is reproducible.
  rt::Expected<PruneResult> again = pruneTask(model, space, zero, train, eval, o);
  ASSERT_TRUE(bool(again));
  EXPECT_EQ(again->tau, r->tau);

  // Without bisection the circuit is the nodes with τ ≥ 0: the same here.
  o.bisect = false;
  rt::Expected<PruneResult> plain = pruneTask(model, space, zero, train, eval, o);
  ASSERT_TRUE(bool(plain));
  EXPECT_EQ(plain->keep, r->keep);
  ASSERT_EQ(plain->curve.size(), 1u);
  EXPECT_EQ(plain->curve[0].keptNodes, 4);
}

TEST(Pruning, RejectsBadInputs) {
  ModelConfig c = handBuiltConfig();
  ReferenceTaskModel odd(c, handBuiltParams(c), 3, 8);
  NodeSpace space(c);
  PromptSet set = toPromptSet(handBuiltPairs(4, 1), 8, 0);
  std::vector<float> zero(space.size(), 0.0f);
  rt::Expected<PruneResult> r = pruneTask(odd, space, zero, set, set, {});
  ASSERT_FALSE(bool(r));
  EXPECT_NE(r.message().find("even number of rows"), std::string::npos);
  ReferenceTaskModel model(c, handBuiltParams(c), 4, 8);
  r = pruneTask(model, space, std::vector<float>(3), set, set, {});
  ASSERT_FALSE(bool(r));
  EXPECT_NE(r.message().find("do not match"), std::string::npos);
}

} // namespace
