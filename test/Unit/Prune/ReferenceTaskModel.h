//===- ReferenceTaskModel.h - TaskModel on the naive reference --*- C++ -*-===//
//
// A TaskModel computed by test/Reference (double precision, hand-written
// backward): the oracle the generated code is compared with, and a model
// small tests can prune without compiling anything.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TEST_UNIT_PRUNE_REFERENCETASKMODEL_H
#define CIRC_TEST_UNIT_PRUNE_REFERENCETASKMODEL_H

#include "Reference/Reference.h"
#include "circ/Prune/TaskModel.h"

namespace circ::prune::testing {

/// Flat gate values as the reference's per-site gates; `relaxed`, when
/// given (flat order), replaces H(τ) by a continuous mask.
inline reference::Gates referenceGates(const NodeSpace &space,
                                       const Gates &gates,
                                       const std::vector<double> *relaxed = {}) {
  reference::Gates out;
  for (const GateSlice &g : space.gates()) {
    reference::Gate gate;
    auto b = g.offset, e = g.offset + g.width;
    gate.tau.assign(gates.tau.begin() + b, gates.tau.begin() + e);
    gate.mean.assign(gates.ablation.begin() + b, gates.ablation.begin() + e);
    if (relaxed)
      gate.relaxed.assign(relaxed->begin() + b, relaxed->begin() + e);
    out.sites[reference::nodeName(g.layer, g.site)] = std::move(gate);
  }
  return out;
}

class ReferenceTaskModel final : public TaskModel {
public:
  ReferenceTaskModel(ModelConfig config, reference::Params params,
                     int64_t batch, int64_t seqLen, int64_t actBatch = 2,
                     int64_t actSeqLen = 0)
      : cfg(config), params(std::move(params)), space(config), rows(batch),
        seq(seqLen), actRows(actBatch),
        actSeq(actSeqLen ? actSeqLen : config.ctx) {}

  const ModelConfig &config() const override { return cfg; }
  int64_t batch() const override { return rows; }
  int64_t seqLen() const override { return seq; }
  int64_t activationBatch() const override { return actRows; }
  int64_t activationSeqLen() const override { return actSeq; }

  /// Calls made so far (e.g. to see that a cache was used).
  int64_t activationCalls = 0;

  /// The task loss with a continuous mask `relaxed` (finite differences).
  double relaxedLoss(const PromptSet &set, const Gates &gates,
                     const std::vector<double> &relaxed) const {
    reference::Gates g = referenceGates(space, gates, &relaxed);
    reference::ForwardResult fwd = run(set, g);
    return reference::contrastLoss(fwd.logits, seq, cfg.vocab, prompts(set),
                                   nullptr);
  }

  rt::Expected<double> lossAndTauGrad(const PromptSet &set, const Gates &gates,
                                      std::vector<float> &tauGrad) override {
    reference::Gates g = referenceGates(space, gates);
    reference::ForwardResult fwd = run(set, g);
    reference::Tensor dLogits;
    double loss = reference::contrastLoss(fwd.logits, seq, cfg.vocab,
                                          prompts(set), &dLogits);
    reference::Gradients grads =
        reference::backward(cfg, params, fwd, dLogits, &g);
    tauGrad.assign(space.size(), 0.0f);
    for (const GateSlice &s : space.gates()) {
      const reference::Tensor &t =
          grads.tau.at(reference::nodeName(s.layer, s.site));
      for (int64_t c = 0; c < s.width; ++c)
        tauGrad[s.offset + c] = static_cast<float>(t[c]);
    }
    return loss;
  }

  rt::Error margins(const PromptSet &set, const Gates &gates,
                    float *out) override {
    reference::Gates g = referenceGates(space, gates);
    reference::ForwardResult fwd = run(set, g);
    for (int64_t r = 0; r < rows; ++r) {
      const double *row =
          fwd.logits.data() + (r * seq + set.positions[r]) * cfg.vocab;
      out[r] = static_cast<float>(row[set.correct[r]] - row[set.wrong[r]]);
    }
    return rt::Error::success();
  }

  rt::Error activations(const int32_t *tokens, const Gates &gates,
                        std::vector<std::vector<float>> &out) override {
    ++activationCalls;
    reference::Gates g = referenceGates(space, gates);
    std::vector<int64_t> ids(tokens, tokens + actRows * actSeq);
    reference::ForwardResult fwd =
        reference::forward(cfg, params, ids, actRows, actSeq, &g);
    out.resize(space.gates().size());
    for (size_t i = 0; i < space.gates().size(); ++i) {
      const GateSlice &s = space.gates()[i];
      const reference::Tensor &t = fwd.nodes.at(reference::nodeName(s.layer, s.site));
      out[i].assign(t.begin(), t.end());
    }
    return rt::Error::success();
  }

  const reference::Params &parameters() const { return params; }

private:
  std::vector<reference::ContrastPrompt> prompts(const PromptSet &set) const {
    std::vector<reference::ContrastPrompt> p;
    for (int64_t r = 0; r < rows; ++r)
      p.push_back({r, set.positions[r], set.correct[r], set.wrong[r]});
    return p;
  }
  reference::ForwardResult run(const PromptSet &set,
                               const reference::Gates &g) const {
    std::vector<int64_t> ids(set.tokens.begin(), set.tokens.end());
    return reference::forward(cfg, params, ids, rows, seq, &g);
  }

  ModelConfig cfg;
  reference::Params params;
  NodeSpace space;
  int64_t rows, seq, actRows, actSeq;
};

} // namespace circ::prune::testing

#endif // CIRC_TEST_UNIT_PRUNE_REFERENCETASKMODEL_H
