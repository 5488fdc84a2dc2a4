//===- HandBuiltModel.h - a model whose circuit is known --------*- C++ -*-===//
//
// One layer, d_model 8, vocabulary 8, no activation sparsity, no bigram
// table. The task: prompts are filler tokens followed by token 1 (answer 5)
// or token 2 (answer 6). The weights route the answer through exactly four
// nodes and nothing else:
//   wte[1] = +e0, wte[2] = −e0            (fillers write channels 2..4)
//   mlp_in channel 0 → neuron 0 (weight +1) and neuron 1 (weight −1)
//   mlp_out channel 1 = neuron 0 − neuron 1
//   lm_head[5] = +e1/2, lm_head[6] = −e1/2 (nothing reads channel 0)
// Every attention weight is zero, so attention nodes carry nothing. Under
// zero ablation each of the four nodes is necessary: without neuron 1 (or
// 0) the answer of one prompt class collapses to chance.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TEST_UNIT_PRUNE_HANDBUILTMODEL_H
#define CIRC_TEST_UNIT_PRUNE_HANDBUILTMODEL_H

#include "Reference/Reference.h"
#include "circ/Prune/TaskPrompts.h"

#include <set>
#include <string>

namespace circ::prune::testing {

inline ModelConfig handBuiltConfig() {
  ModelConfig c;
  c.nLayer = 1;
  c.dModel = 8;
  c.dHead = 4;
  c.dMlp = 8;
  c.ctx = 8;
  c.vocab = 8;
  c.activationFraction = 1.0;
  c.bigramTable = false;
  return c;
}

inline reference::Params handBuiltParams(const ModelConfig &c) {
  reference::Params p;
  for (const ParamSpec &spec : modelParameters(c))
    p[spec.name].assign(spec.numel(), spec.kind == ParamKind::Gain ? 1.0 : 0.0);
  auto at = [&](const char *name, int64_t row, int64_t col) -> double & {
    int64_t cols = 0;
    for (const ParamSpec &spec : modelParameters(c))
      if (spec.name == name)
        cols = spec.shape[1];
    return p[name][row * cols + col];
  };
  at("wte.weight", 1, 0) = 1.0;
  at("wte.weight", 2, 0) = -1.0;
  for (int t : {0, 3, 4, 7})
    at("wte.weight", t, 2 + t % 3) = 1.0;
  at("h.0.mlp.c_fc.weight", 0, 0) = 1.0;
  at("h.0.mlp.c_fc.weight", 1, 0) = -1.0;
  at("h.0.mlp.c_proj.weight", 1, 0) = 1.0;
  at("h.0.mlp.c_proj.weight", 1, 1) = -1.0;
  at("lm_head.weight", 5, 1) = 0.5;
  at("lm_head.weight", 6, 1) = -0.5;
  return p;
}

/// `pairs` pairs of prompts: 1–6 filler tokens, then token 1 (A) or 2 (B).
inline std::vector<tasks::EncodedPair> handBuiltPairs(size_t pairs,
                                                      uint64_t seed) {
  const int32_t fillers[] = {0, 3, 4, 7};
  std::vector<tasks::EncodedPair> out;
  uint64_t s = seed * 2654435761u + 1;
  auto next = [&] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int32_t>(s >> 33);
  };
  for (size_t i = 0; i < pairs; ++i) {
    tasks::EncodedPair p;
    int n = 1 + next() % 6;
    for (int j = 0; j < n; ++j)
      p.promptA.push_back(fillers[next() % 4]);
    p.promptB = p.promptA;
    p.promptA.push_back(1);
    p.promptB.push_back(2);
    p.tokenA = 5;
    p.tokenB = 6;
    p.completionTokensA = p.completionTokensB = 1;
    out.push_back(std::move(p));
  }
  return out;
}

/// The circuit, as circuits::nodeName strings.
inline std::set<std::string> handBuiltCircuit() {
  return {"0.mlp_in.0", "0.mlp_neuron.0", "0.mlp_neuron.1", "0.mlp_out.1"};
}

} // namespace circ::prune::testing

#endif // CIRC_TEST_UNIT_PRUNE_HANDBUILTMODEL_H
