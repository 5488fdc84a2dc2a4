//===- CompiledTaskModelTest.cpp - pruning on generated code ----*- C++ -*-===//
//
// The generated code's task loss, τ gradient, margins and activations
// against the naive reference model (whose τ gradient PrunerTest checks
// against finite differences), on random weight-sparse models with every
// model feature; and the hand-built model's circuit recovered exactly by
// pruning on generated code.
//
//===----------------------------------------------------------------------===//

#include "HandBuiltModel.h"
#include "ReferenceTaskModel.h"

#include "circ/Prune/CompiledTaskModel.h"
#include "circ/Prune/Pruner.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/ThreadPool.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace circ;
using namespace circ::prune;
using namespace circ::prune::testing;

namespace {

/// A store holding `params` (sparse indices rebuilt).
std::unique_ptr<rt::ParamStore> storeOf(const ModelConfig &c,
                                        const reference::Params &params) {
  auto store = rt::ParamStore::create(c);
  EXPECT_TRUE(bool(store));
  for (size_t i = 0; i < (*store)->size(); ++i) {
    const reference::Tensor &t = params.at((*store)->spec(i).name);
    std::copy(t.begin(), t.end(), (*store)->values(i));
  }
  rt::ThreadPool pool(1);
  EXPECT_FALSE((*store)->rebuildIndices(pool));
  return std::move(*store);
}

/// Rows of random prompts of varied lengths.
PromptSet randomRows(const ModelConfig &c, int64_t pairs, int64_t seqLen,
                     uint64_t seed) {
  std::vector<tasks::EncodedPair> ps;
  uint64_t s = seed;
  auto next = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int32_t>(s >> 33);
  };
  for (int64_t i = 0; i < pairs; ++i) {
    tasks::EncodedPair p;
    int n = 2 + next() % (seqLen - 1);
    for (int t = 0; t < n; ++t)
      p.promptA.push_back(next() % c.vocab);
    p.promptB = p.promptA;
    p.promptB.back() = (p.promptB.back() + 1) % c.vocab;
    p.tokenA = next() % c.vocab;
    p.tokenB = (p.tokenA + 1 + next() % (c.vocab - 1)) % c.vocab;
    ps.push_back(p);
  }
  return toPromptSet(ps, seqLen, 0);
}

struct Variant {
  const char *name;
  ModelConfig config;
};

std::vector<Variant> variants() {
  ModelConfig base;
  base.nLayer = 2;
  base.dModel = 32;
  base.dHead = 8;
  base.dMlp = 64;
  base.ctx = 8;
  base.vocab = 40;
  ModelConfig sparse = base;
  sparse.weightDensity = 0.25;
  sparse.embedDensity = 0.5;
  sparse.attentionSink = true;
  ModelConfig plain = base;
  plain.activationFraction = 1.0;
  plain.bigramTable = false;
  plain.positionalTable = true;
  return {{"dense_topk_bigram", base},
          {"sparse_sink", sparse},
          {"no_topk_positional", plain}};
}

class CompiledVsReference : public ::testing::TestWithParam<size_t> {};

TEST_P(CompiledVsReference, LossGradientMarginsActivations) {
  Variant v = variants()[GetParam()];
  const ModelConfig &c = v.config;
  reference::Params params = reference::randomParams(c, 11, 0.4);
  reference::sparsify(c, params);
  std::unique_ptr<rt::ParamStore> store = storeOf(c, params);
  CompiledTaskModelOptions o;
  o.batch = 6;
  o.seqLen = 7;
  o.activationBatch = 2;
  o.activationSeqLen = 8;
  auto compiled = CompiledTaskModel::create(c, *store, o);
  ASSERT_TRUE(bool(compiled)) << compiled.message();
  ReferenceTaskModel ref(c, params, 6, 7, 2, 8);
  NodeSpace space(c);

  Gates gates;
  for (int64_t i = 0; i < space.size(); ++i) {
    gates.tau.push_back(0.7f * std::cos(0.9 * i + 0.3)); // a third pruned
    gates.ablation.push_back(0.2f * std::sin(1.7 * i));
  }
  PromptSet rows = randomRows(c, 3, 7, 5);
  std::vector<float> g, gRef;
  rt::Expected<double> loss = (*compiled)->lossAndTauGrad(rows, gates, g);
  ASSERT_TRUE(bool(loss)) << loss.message();
  rt::Expected<double> lossRef = ref.lossAndTauGrad(rows, gates, gRef);
  ASSERT_TRUE(bool(lossRef));
  EXPECT_NEAR(*loss, *lossRef, 1e-4 * (1 + std::abs(*lossRef)));
  double scale = 0;
  for (float x : gRef)
    scale = std::max(scale, std::abs(double(x)));
  ASSERT_GT(scale, 0.0);
  for (int64_t i = 0; i < space.size(); ++i)
    EXPECT_NEAR(g[i], gRef[i], 1e-3 * scale) << circuits::nodeName(space.id(i));

  std::vector<float> m(6), mRef(6);
  ASSERT_FALSE((*compiled)->margins(rows, gates, m.data()));
  ASSERT_FALSE(ref.margins(rows, gates, mRef.data()));
  for (int r = 0; r < 6; ++r)
    EXPECT_NEAR(m[r], mRef[r], 1e-4 * (1 + std::abs(mRef[r])));
  // The loss is the mean of log(1 + exp(−margin)).
  EXPECT_NEAR(*loss, taskLoss(m, rows.side), 1e-5);

  std::vector<int32_t> tokens(2 * 8);
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 13 + 5) % c.vocab);
  std::vector<std::vector<float>> acts, actsRef;
  ASSERT_FALSE((*compiled)->activations(tokens.data(), gates, acts));
  ASSERT_FALSE(ref.activations(tokens.data(), gates, actsRef));
  ASSERT_EQ(acts.size(), actsRef.size());
  for (size_t s = 0; s < acts.size(); ++s) {
    ASSERT_EQ(acts[s].size(), actsRef[s].size());
    for (size_t i = 0; i < acts[s].size(); ++i)
      EXPECT_NEAR(acts[s][i], actsRef[s][i], 1e-4 * (1 + std::abs(actsRef[s][i])))
          << space.gates()[s].tauName << " " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, CompiledVsReference,
                         ::testing::Range<size_t>(0, 3),
                         [](const ::testing::TestParamInfo<size_t> &info) {
                           return std::string(variants()[info.param].name);
                         });

TEST(CompiledTaskModel, RecoversTheHandBuiltCircuitExactly) {
  ModelConfig c = handBuiltConfig();
  std::unique_ptr<rt::ParamStore> store = storeOf(c, handBuiltParams(c));
  CompiledTaskModelOptions o;
  o.batch = 16;
  o.seqLen = 8;
  o.activationBatch = 0;
  auto model = CompiledTaskModel::create(c, *store, o);
  ASSERT_TRUE(bool(model)) << model.message();
  NodeSpace space(c);
  PromptSet train = toPromptSet(handBuiltPairs(64, 1), 8, 0);
  PromptSet eval = toPromptSet(handBuiltPairs(16, 2), 8, 0);
  PruneOptions po;
  po.steps = 300;
  rt::Expected<PruneResult> r = pruneTask(
      **model, space, std::vector<float>(space.size(), 0.0f), train, eval, po);
  ASSERT_TRUE(bool(r)) << r.message();
  std::set<std::string> kept;
  for (int64_t i = 0; i < space.size(); ++i)
    if (r->keep[i])
      kept.insert(circuits::nodeName(space.id(i)));
  EXPECT_EQ(kept, handBuiltCircuit());
  EXPECT_TRUE(r->reachedTarget);
}

TEST(CompiledTaskModel, RejectsMismatchedInputs) {
  ModelConfig c = handBuiltConfig();
  std::unique_ptr<rt::ParamStore> store = storeOf(c, handBuiltParams(c));
  CompiledTaskModelOptions o;
  o.batch = 3;
  EXPECT_FALSE(bool(CompiledTaskModel::create(c, *store, o)));
  o.batch = 4;
  o.seqLen = 8;
  o.activationBatch = 0;
  auto model = CompiledTaskModel::create(c, *store, o);
  ASSERT_TRUE(bool(model)) << model.message();
  NodeSpace space(c);
  Gates full = fullModelGates(space, std::vector<float>(space.size(), 0.0f));
  std::vector<float> m(8), g;
  PromptSet rows = toPromptSet(handBuiltPairs(4, 1), 8, 0); // 8 rows, not 4
  rt::Error e = (*model)->margins(rows, full, m.data());
  ASSERT_TRUE(bool(e));
  EXPECT_NE(e.message().find("compiled for 4 x 8"), std::string::npos);
  Gates shortGates{{1.0f}, {0.0f}};
  rt::Expected<double> l =
      (*model)->lossAndTauGrad(rows.rows(0, 4), shortGates, g);
  ASSERT_FALSE(bool(l));
  EXPECT_NE(l.message().find("gate values for 1 nodes"), std::string::npos);
  std::vector<std::vector<float>> acts;
  e = (*model)->activations(rows.tokens.data(), full, acts);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(e.message().find("without @activations"), std::string::npos);
}

} // namespace
