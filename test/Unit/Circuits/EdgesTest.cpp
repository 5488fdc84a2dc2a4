//===- EdgesTest.cpp - the circuit-size rule --------------------*- C++ -*-===//
//
// A one-layer model whose every nonzero weight is listed below, with the
// edge count worked out by hand next to it; a randomised comparison with a
// naive count that scans every matrix entry; node names; the geometric mean.
//
//===----------------------------------------------------------------------===//
#include "CircuitFixtures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

using namespace circ;
using namespace circ::circuits;
using circ::test::TinyModel;

namespace {

// Tests the hand-counted example of CircuitFixtures.h, matrix by matrix.
TEST(Edges, HandCountedOneLayer) {
  TinyModel m;
  auto counts = countEdges(m.config, m.weights(), m.circuit);
  ASSERT_TRUE(bool(counts)) << counts.message();
  ASSERT_EQ(counts->layers.size(), 1u);
  const LayerEdgeCounts &l = counts->layers[0];
  EXPECT_EQ(l.q, 2);        // q1 <- in0, in2
  EXPECT_EQ(l.k, 1);        // k0 <- in0 (in1 not kept)
  EXPECT_EQ(l.v, 1);        // v2 <- in0 (in3 not kept)
  EXPECT_EQ(l.attnProj, 1); // out1 <- v2 (v3, out0 not kept)
  EXPECT_EQ(l.mlpFc, 4);    // n0 <- in1, in3; n2 <- in1, in0
  EXPECT_EQ(l.mlpProj, 2);  // out3 <- n0, n2
  EXPECT_EQ(counts->blockEdges(), 11);
  EXPECT_EQ(counts->embed, 3);   // (1,0) (4,2) (4,3); token 2 not an input
  EXPECT_EQ(counts->unembed, 3); // (0,1) (3,3) (3,1); channel 2 not written
  EXPECT_EQ(counts->residualLinks, 1); // attn_out1 -> mlp_in1
}

// Tests that empty token lists mean every vocabulary row.
TEST(Edges, EmptyTokenListsMeanTheWholeVocabulary) {
  TinyModel m;
  m.circuit.inputTokens.clear();
  m.circuit.outputTokens.clear();
  auto counts = countEdges(m.config, m.weights(), m.circuit);
  ASSERT_TRUE(bool(counts)) << counts.message();
  EXPECT_EQ(counts->embed, 4);   // + (2,0)
  EXPECT_EQ(counts->unembed, 4); // + (2,1)
}

// Tests the listed edges: one link per kept reader of an embedding weight,
// the right endpoints and weights, and the counts they imply.
TEST(Edges, ListedEdgesMatchTheCounts) {
  TinyModel m;
  auto edges = circuitEdges(m.config, m.weights(), m.circuit);
  ASSERT_TRUE(bool(edges)) << edges.message();
  std::map<EdgeKind, int> perKind;
  std::set<std::string> names;
  for (const Edge &e : *edges) {
    ++perKind[e.kind];
    names.insert(nodeName(e.source) + ">" + nodeName(e.target) + "=" +
                 std::to_string(e.weight).substr(0, 5));
  }
  EXPECT_EQ(perKind[EdgeKind::Q], 2);
  EXPECT_EQ(perKind[EdgeKind::MlpFc], 4);
  EXPECT_EQ(perKind[EdgeKind::Embed], 4); // (1,0) reaches attn_in0 and mlp_in0
  EXPECT_EQ(perKind[EdgeKind::Unembed], 3);
  EXPECT_EQ(perKind[EdgeKind::Residual], 1);
  for (const char *want :
       {"0.attn_in.2>0.attn_q.1=-1.00", "0.attn_v.2>0.attn_out.1=0.400",
        "E.embed.1>0.attn_in.0=1.000", "E.embed.1>0.mlp_in.0=1.000",
        "0.mlp_out.3>U.logit.3=-1.00", "0.attn_out.1>0.mlp_in.1=1.000",
        "0.mlp_neuron.2>0.mlp_out.3=0.500"})
    EXPECT_TRUE(names.count(want)) << want;
  auto noResidual = circuitEdges(m.config, m.weights(), m.circuit, false);
  ASSERT_TRUE(bool(noResidual));
  EXPECT_EQ(noResidual->size(), edges->size() - 1);
}

/// Counts by scanning every entry of every matrix (the definition, with no
/// use of kept lists).
LayerEdgeCounts naiveLayer(const ModelConfig &c, const Circuit &circuit,
                           const std::map<std::string, std::vector<float>> &w,
                           int l) {
  auto kept = [&](NodeLocation loc, int64_t i) {
    for (const NodeInfo &n : circuit.nodes)
      if (n.id.layer == l && n.id.site == siteOf(loc) && n.id.index == i)
        return true;
    return false;
  };
  std::string p = "h." + std::to_string(l) + ".";
  int64_t D = c.dModel, HD = c.nHead() * c.dHead, M = c.dMlp;
  LayerEdgeCounts out;
  const auto &attn = w.at(p + "attn.c_attn.weight");
  for (int64_t r = 0; r < 3 * HD; ++r)
    for (int64_t i = 0; i < D; ++i) {
      if (attn[r * D + i] == 0 || !kept(NodeLocation::AttnIn, i))
        continue;
      NodeLocation loc = r < HD       ? NodeLocation::AttnQ
                         : r < 2 * HD ? NodeLocation::AttnK
                                      : NodeLocation::AttnV;
      if (kept(loc, r % HD))
        ++(loc == NodeLocation::AttnQ   ? out.q
           : loc == NodeLocation::AttnK ? out.k
                                        : out.v);
    }
  auto scan = [&](const std::string &name, int64_t rows, int64_t cols,
                  NodeLocation in, NodeLocation o, int64_t &n) {
    const auto &m = w.at(p + name);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < cols; ++i)
        n += m[r * cols + i] != 0 && kept(in, i) && kept(o, r);
  };
  scan("attn.c_proj.weight", D, HD, NodeLocation::AttnV, NodeLocation::AttnOut,
       out.attnProj);
  scan("mlp.c_fc.weight", M, D, NodeLocation::MlpIn, NodeLocation::MlpNeuron,
       out.mlpFc);
  scan("mlp.c_proj.weight", D, M, NodeLocation::MlpNeuron, NodeLocation::MlpOut,
       out.mlpProj);
  return out;
}

// Tests countEdges against the naive scan on random sparse models and
// random circuits (two layers, several densities).
TEST(Edges, MatchesNaiveScanOnRandomModels) {
  ModelConfig c;
  c.nLayer = 2;
  c.dModel = 16;
  c.dHead = 4;
  c.dMlp = 24;
  c.vocab = 11;
  std::mt19937 rng(5);
  for (double density : {0.05, 0.3, 1.0}) {
    std::map<std::string, std::vector<float>> store;
    WeightMap weights;
    for (const ParamSpec &p : modelParameters(c)) {
      std::vector<float> v(static_cast<size_t>(p.numel()));
      std::uniform_real_distribution<float> u(-1, 1);
      std::bernoulli_distribution keep(density);
      for (float &x : v)
        x = keep(rng) ? u(rng) : 0.0f;
      store[p.name] = std::move(v);
      weights[p.name] = {store[p.name].data(), p.shape};
    }
    Circuit circuit;
    circuit.config = c;
    std::bernoulli_distribution kept(0.4);
    for (int l = 0; l < 2; ++l)
      for (int s = 0; s < kNumNodeLocations; ++s)
        for (int64_t i = 0; i < c.siteWidth(static_cast<NodeLocation>(s)); ++i)
          if (kept(rng))
            circuit.nodes.push_back(
                circ::test::keptNode({l, static_cast<Site>(s), i}));
    circuit.inputTokens = {0, 3, 7};
    circuit.outputTokens = {2, 9};
    auto counts = countEdges(c, weights, circuit);
    ASSERT_TRUE(bool(counts)) << counts.message();
    int64_t total = 0;
    for (int l = 0; l < 2; ++l) {
      LayerEdgeCounts want = naiveLayer(c, circuit, store, l);
      const LayerEdgeCounts &got = counts->layers[l];
      EXPECT_EQ(got.q, want.q);
      EXPECT_EQ(got.k, want.k);
      EXPECT_EQ(got.v, want.v);
      EXPECT_EQ(got.attnProj, want.attnProj);
      EXPECT_EQ(got.mlpFc, want.mlpFc);
      EXPECT_EQ(got.mlpProj, want.mlpProj);
      total += want.total();
    }
    EXPECT_EQ(counts->blockEdges(), total);
    if (density == 1.0)
      EXPECT_GT(total, 100);
  }
}

// Tests the errors: a missing weight, a wrong shape, a node out of range, a
// duplicate node and a model of another shape.
TEST(Edges, Errors) {
  TinyModel m;
  WeightMap w = m.weights();
  w.erase("h.0.mlp.c_fc.weight");
  auto a = countEdges(m.config, w, m.circuit);
  ASSERT_FALSE(bool(a));
  EXPECT_EQ(a.message(), "weight 'h.0.mlp.c_fc.weight' is missing");

  w = m.weights();
  w["wte.weight"].shape = {4, 5};
  auto b = countEdges(m.config, w, m.circuit);
  ASSERT_FALSE(bool(b));
  EXPECT_EQ(b.message(),
            "weight 'wte.weight' has shape [4, 5], the model needs [5, 4]");

  Circuit bad = m.circuit;
  bad.nodes.push_back(circ::test::keptNode({0, Site::MlpNeuron, 4}));
  auto c = countEdges(m.config, m.weights(), bad);
  ASSERT_FALSE(bool(c));
  EXPECT_EQ(c.message(), "circuit 'tiny': node 0.mlp_neuron.4: index out of "
                         "range (mlp_neuron has 4)");
  bad = m.circuit;
  bad.nodes.push_back(bad.nodes[0]);
  auto d = countEdges(m.config, m.weights(), bad);
  ASSERT_FALSE(bool(d));
  EXPECT_EQ(d.message(), "circuit 'tiny': node 0.attn_in.0 is listed twice");
  ModelConfig other = m.config;
  other.dMlp = 8;
  auto e = countEdges(other, m.weights(), m.circuit);
  ASSERT_FALSE(bool(e));
  EXPECT_EQ(e.message(),
            "circuit 'tiny' was pruned from a model of another shape");
}

TEST(NodeNames, RoundTripAndVizNames) {
  ModelConfig c;
  c.dHead = 16;
  NodeId n{0, Site::MlpNeuron, 388};
  EXPECT_EQ(nodeName(n), "0.mlp_neuron.388");
  EXPECT_EQ(vizName(n), "0.mlp.post_act.388");
  EXPECT_EQ(vizName({3, Site::AttnOut, 7}), "3.attn.resid_delta.7");
  EXPECT_EQ(vizName({1, Site::AttnIn, 2}), "1.attn.act_in.2");
  for (int s = 0; s < 10; ++s) {
    NodeId id{s >= 8 ? (s == 8 ? -1 : 4) : 2, static_cast<Site>(s), 33};
    auto back = parseNodeName(nodeName(id), 4);
    ASSERT_TRUE(back) << nodeName(id);
    EXPECT_EQ(*back, id);
    auto viz = parseNodeName(vizName(id), 4);
    ASSERT_TRUE(viz) << vizName(id);
    EXPECT_EQ(*viz, id);
  }
  EXPECT_EQ(nodeName({-1, Site::Embed, 12}), "E.embed.12");
  EXPECT_EQ(nodeName({4, Site::Logit, 7}), "U.logit.7");
  for (const char *bad :
       {"", "0", "0.mlp_neuron", "0.mlp_neuron.x", "x.mlp_neuron.1",
        "0.embed.1", "0.mlp.nope.1", "E.logit.1", "-1.attn_in.0"})
    EXPECT_FALSE(parseNodeName(bad, 4)) << bad;
  EXPECT_EQ(headOf(c, {0, Site::AttnK, 35}), 2);
  EXPECT_EQ(headOf(c, {0, Site::MlpIn, 35}), -1);
}

TEST(GeometricMean, Definition) {
  EXPECT_DOUBLE_EQ(geometricMean({10, 1000}), 100);
  EXPECT_NEAR(geometricMean({2, 4, 8}), 4, 1e-12);
  EXPECT_DOUBLE_EQ(geometricMean({7}), 7);
  EXPECT_EQ(geometricMean({0, 5}), 0);
  EXPECT_TRUE(std::isnan(geometricMean({})));
  EXPECT_TRUE(std::isnan(geometricMean({3, -1})));
}

} // namespace
