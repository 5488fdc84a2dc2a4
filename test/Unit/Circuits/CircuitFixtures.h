//===- CircuitFixtures.h - a hand-made one-layer circuit --------*- C++ -*-===//
//
// d_model 4, d_head 2 (2 heads, 4 q/k/v channels), d_mlp 4, vocab 5. Every
// nonzero weight is listed in TinyModel(); EdgesTest counts them by hand.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TEST_UNIT_CIRCUITS_CIRCUITFIXTURES_H
#define CIRC_TEST_UNIT_CIRCUITS_CIRCUITFIXTURES_H

#include "circ/Circuits/Circuit.h"

#include <map>
#include <string>
#include <vector>

namespace circ::test {

/// A kept node with nothing known about it yet.
inline circuits::NodeInfo keptNode(circuits::NodeId id) {
  circuits::NodeInfo n;
  n.id = id;
  return n;
}

struct TinyModel {
  ModelConfig config;
  std::map<std::string, std::vector<float>> store;
  circuits::Circuit circuit;

  TinyModel() {
    config.nLayer = 1;
    config.dModel = 4;
    config.dHead = 2;
    config.dMlp = 4;
    config.vocab = 5;
    config.ctx = 8;
    auto set = [&](const std::string &name, int64_t cols,
                   std::vector<std::pair<std::pair<int, int>, float>> nz,
                   int64_t rows) {
      std::vector<float> &w = store[name];
      w.assign(static_cast<size_t>(rows * cols), 0.0f);
      for (auto [rc, v] : nz)
        w[rc.first * cols + rc.second] = v;
    };
    // c_attn rows: q 0-3, k 4-7, v 8-11.
    set("h.0.attn.c_attn.weight", 4,
        {{{1, 0}, 0.5f},
         {{1, 2}, -1.0f},
         {{3, 0}, 2.0f},
         {{4, 0}, 1.0f},
         {{4, 1}, 1.0f},
         {{10, 0}, 0.3f},
         {{10, 3}, 0.7f},
         {{11, 2}, 1.0f}},
        12);
    set("h.0.attn.c_proj.weight", 4,
        {{{1, 2}, 0.4f}, {{1, 3}, 1.0f}, {{0, 2}, 1.0f}}, 4);
    set("h.0.mlp.c_fc.weight", 4,
        {{{0, 1}, 1.0f},
         {{0, 3}, -2.0f},
         {{2, 1}, 1.0f},
         {{1, 1}, 1.0f},
         {{2, 0}, 1.0f}},
        4);
    set("h.0.mlp.c_proj.weight", 4,
        {{{3, 0}, 1.0f}, {{3, 2}, 0.5f}, {{3, 1}, 1.0f}, {{2, 0}, 1.0f}}, 4);
    set("wte.weight", 4,
        {{{1, 0}, 1.0f}, {{4, 2}, 1.0f}, {{4, 3}, 1.0f}, {{2, 0}, 1.0f}}, 5);
    set("lm_head.weight", 4,
        {{{0, 1}, 1.0f},
         {{0, 2}, 1.0f},
         {{3, 3}, -1.0f},
         {{3, 1}, 1.0f},
         {{2, 1}, 1.0f}},
        5);

    using circuits::Site;
    circuit.model = "tinymodel";
    circuit.task = "tiny";
    circuit.taskDescription = "A hand-made circuit: <b>not</b> a real task.";
    circuit.config = config;
    circuit.targetLoss = 0.15;
    auto keep = [&](Site s, std::vector<int64_t> idx) {
      for (int64_t i : idx)
        circuit.nodes.push_back(keptNode({0, s, i}));
    };
    keep(Site::AttnIn, {0, 2});
    keep(Site::AttnQ, {1});
    keep(Site::AttnK, {0});
    keep(Site::AttnV, {2});
    keep(Site::AttnOut, {1});
    keep(Site::MlpIn, {0, 1, 3});
    keep(Site::MlpNeuron, {0, 2});
    keep(Site::MlpOut, {3});
    circuit.inputTokens = {1, 4};
    circuit.outputTokens = {0, 3};
    circuit.tokenText = {{0, "'"}, {1, "x"}, {3, "\""}, {4, " </script>"}};
    // Details on two nodes; the rest stay bare, as pruning may leave them.
    circuits::NodeInfo &v = circuit.nodes[4]; // 0.attn_v.2
    v.importance = 0.75;
    v.meanActivation = -0.125;
    v.taskActivation = 1.5;
    v.label = "quote-type value </script>";
    v.taskSamples = {
        {"A", {"x", " =", " '", "abc"}, {0.0f, 0.25f, 2.0f, 0.5f}},
        {"B", {"x", " =", " \"", "abc"}, {0.0f, -0.25f, -2.0f, 0.0f}}};
    v.pretrainSnippets = {
        {"top 0.1%", {"print", "('", "hi", "')\n"}, {0.0f, 3.0f, 1.0f, 0.0f}}};
    circuit.nodes[7].importance = 0.25; // 0.mlp_in.1
    circuit.losses = {{"full", 0.02}, {"circuit", 0.149}};
    circuit.lossCurve = {{4, 1.9}, {8, 0.6}, {13, 0.149}, {20, 0.05}};
    circuit.audit = {{"sufficiency", "circuit alone, rest mean-ablated", 0.149,
                      0.15, "pass"},
                     {"necessity", "full model with the circuit ablated", 2.1,
                      0.693, "pass"},
                     {"random_init", "same prune on a random-init model", 0.4,
                      std::nullopt, "fail"}};
    circuit.examples = {{"x = 'abc", "x = \"abc", "'", "\""}};
  }

  circuits::WeightMap weights() const {
    circuits::WeightMap w;
    for (const ParamSpec &p : modelParameters(config))
      if (auto it = store.find(p.name); it != store.end())
        w[p.name] = {it->second.data(), p.shape};
    return w;
  }
};

} // namespace circ::test

#endif // CIRC_TEST_UNIT_CIRCUITS_CIRCUITFIXTURES_H
