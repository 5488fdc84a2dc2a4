//===- ReferenceOpsTest.cpp - the reference model against hand values -----===//
//
// Every number here was derived by hand from the formulas of paper §1.1
// (the comments give the derivation); none comes from running the
// reference.
//
//===----------------------------------------------------------------------===//
#include "Reference/Reference.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace circ;
using namespace circ::reference;

namespace {

constexpr double kTol = 1e-12;

// Tests RMSNorm: x = (3, 4), gain (1, 2): rms = sqrt(12.5 + eps).
TEST(ReferenceOps, RmsNorm) {
  Tensor rms;
  Tensor y = rmsNorm({3, 4}, 1, 2, {1, 2}, &rms);
  EXPECT_NEAR(rms[0], 3.535533922791477, kTol);
  EXPECT_NEAR(y[0], 0.8485281333777596, kTol);
  EXPECT_NEAR(y[1], 2.262741689007359, kTol);
}

// Tests AbsTopK: magnitude with sign kept, ties to the lower index, per row.
TEST(ReferenceOps, AbsTopK) {
  std::vector<char> kept;
  EXPECT_EQ(absTopK({1, -3, 2, -3}, 1, 4, 2, &kept), (Tensor{0, -3, 0, -3}));
  EXPECT_EQ(kept, (std::vector<char>{0, 1, 0, 1}));
  EXPECT_EQ(absTopK({1, -3, 2, -3}, 1, 4, 1), (Tensor{0, -3, 0, 0}));
  EXPECT_EQ(absTopK({0, 0, 5, -1, 2, 2}, 2, 3, 1), (Tensor{0, 0, 5, 0, 2, 0}));
  EXPECT_EQ(absTopK({1, 2}, 1, 2, 2), (Tensor{1, 2}));
}

// Tests the exact-erf GELU: x Phi(x), and its derivative at 0 (= 1/2) and
// against a central difference elsewhere.
TEST(ReferenceOps, Gelu) {
  EXPECT_NEAR(gelu(1.0), 0.8413447460685429, kTol);
  EXPECT_NEAR(gelu(-1.0), -0.15865525393145707, kTol);
  EXPECT_NEAR(gelu(-2.0), -0.04550026389635842, kTol);
  EXPECT_NEAR(geluGrad(0.0), 0.5, kTol);
  for (double x : {-2.5, -0.3, 0.7, 3.1})
    EXPECT_NEAR(geluGrad(x), (gelu(x + 1e-6) - gelu(x - 1e-6)) / 2e-6, 1e-8);
}

// Tests causal attention, one head of width 1 (scale 1): q = (1, 2),
// k = (0, 1), v = (3, 5). Row 0 sees only itself: y0 = 3. Row 1: scores
// (0, 2), weights (1, e^2) / (1 + e^2), y1 = (3 + 5 e^2) / (1 + e^2). With a
// sink logit 0 the denominators gain e^0: y0 = 3/2, y1 = (3 + 5 e^2)/(2 + e^2).
TEST(ReferenceOps, AttentionAndSink) {
  Tensor probs, sinkProb;
  Tensor y = attention({1, 2}, {0, 1}, {3, 5}, 1, 2, 1, 1, {}, &probs);
  EXPECT_NEAR(y[0], 3.0, kTol);
  EXPECT_NEAR(y[1], 4.761594155955765, kTol);
  EXPECT_EQ(probs[1], 0.0); // causal: row 0 never sees position 1
  y = attention({1, 2}, {0, 1}, {3, 5}, 1, 2, 1, 1, {0.0}, &probs, &sinkProb);
  EXPECT_NEAR(y[0], 1.5, kTol);
  EXPECT_NEAR(y[1], 4.254451147565595, kTol);
  EXPECT_NEAR(sinkProb[0], 0.5, kTol);
  EXPECT_NEAR(probs[2] + probs[3] + sinkProb[1], 1.0, kTol);
  // Two heads of width 2, scale 1/sqrt(2): head 1 sees q.k = 2 * 1 = 2.
  y = attention({0, 0, 1, 1, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0, 1, 1},
                {1, 1, 2, 2, 3, 3, 4, 4}, 1, 2, 2, 2, {});
  double w = std::exp(2 / std::sqrt(2.0));
  EXPECT_NEAR(y[6], (2 + 4 * w) / (1 + w), kTol);
  EXPECT_NEAR(y[4], 2.0, kTol); // head 0: equal scores, mean of 1 and 3
}

// Tests the pruning gate: a kept channel (tau >= 0) passes, a pruned one is
// replaced by its mean; the surrogate at tau = 0, T = 1 is 1/4, and at
// T = 2 it is sigma(0)(1 - sigma(0)) / 2 = 1/8.
TEST(ReferenceOps, MaskGate) {
  Gate g{{0.5, -0.2}, {10, 20}, {}};
  EXPECT_EQ(applyGate({1, 2, 3, 4}, 2, 2, g), (Tensor{1, 20, 3, 20}));
  g.tau = {0.0, 0.0};
  EXPECT_EQ(applyGate({1, 2}, 1, 2, g), (Tensor{1, 2}));
  EXPECT_NEAR(gateSurrogate(0.0, 1.0), 0.25, kTol);
  EXPECT_NEAR(gateSurrogate(0.0, 2.0), 0.125, kTol);
  double s = 1 / (1 + std::exp(-1.0));
  EXPECT_NEAR(gateSurrogate(1.0, 1.0), s * (1 - s), kTol);
}

// Tests the losses: CE of logits (0, ln 3) at target 1 is -ln(3/4), with
// gradient softmax - onehot = (1/4, -1/4); the ignored position contributes
// nothing. Contrast of logits (2, 0, 1, 5), correct 0, wrong 2, is
// log(1 + e^-1) whatever the other logits, gradient -/+ 1/(1 + e).
TEST(ReferenceOps, Losses) {
  Tensor d;
  double ce = crossEntropy({0, std::log(3.0), 7, 7}, 2, {1, -1}, &d);
  EXPECT_NEAR(ce, 0.2876820724517809, kTol);
  EXPECT_NEAR(d[0], 0.25, kTol);
  EXPECT_NEAR(d[1], -0.25, kTol);
  EXPECT_EQ(d[2], 0.0);
  EXPECT_EQ(d[3], 0.0);

  Tensor logits = {9, 9, 9, 9, 2, 0, 1, 5};
  double c = contrastLoss(logits, 2, 4, {{0, 1, 0, 2}}, &d);
  EXPECT_NEAR(c, 0.31326168751822286, kTol);
  EXPECT_NEAR(d[4], -0.2689414213699951, kTol);
  EXPECT_NEAR(d[6], 0.2689414213699951, kTol);
  EXPECT_EQ(d[7], 0.0);
  // Two prompts: the mean; swapping correct and wrong gives log(1 + e).
  c = contrastLoss(logits, 2, 4, {{0, 1, 0, 2}, {0, 1, 2, 0}}, nullptr);
  EXPECT_NEAR(c, (0.31326168751822286 + std::log(1 + std::exp(1.0))) / 2, kTol);
  EXPECT_EQ(nextTokenTargets({4, 5, 6, 7, 8, 9}, 2, 3),
            (std::vector<int64_t>{5, 6, -1, 8, 9, -1}));
}

/// The 1-layer, d_model 2 model of TinyModelByHand.
ModelConfig tinyConfig() {
  ModelConfig c;
  c.nLayer = 1;
  c.dModel = 2;
  c.dHead = 2;
  c.dMlp = 2;
  c.vocab = 3;
  c.ctx = 4;
  c.activationFraction = 0.5; // k = 1 of 2 at every site
  c.attentionSink = true;
  return c;
}

Params tinyParams() {
  Params p;
  p["wte.weight"] = {3, 4, 1, 0, 0, -2};
  p["h.0.ln_1.weight"] = {1, 1};
  p["h.0.attn.c_attn.weight"] = Tensor(12, 0.0);
  p["h.0.attn.c_attn.bias"] = Tensor(6, 0.0);
  p["h.0.attn.sink"] = {0.7};
  p["h.0.attn.c_proj.weight"] = Tensor(4, 0.0);
  p["h.0.attn.c_proj.bias"] = {0.5, -1};
  p["h.0.ln_2.weight"] = {1, 1};
  p["h.0.mlp.c_fc.weight"] = Tensor(4, 0.0);
  p["h.0.mlp.c_fc.bias"] = {1, -2};
  p["h.0.mlp.c_proj.weight"] = {1, 0, 0, 2};
  p["h.0.mlp.c_proj.bias"] = {0, 0.25};
  p["ln_f.weight"] = {2, 1};
  p["lm_head.weight"] = {1, 0, 0, 1, 1, 1};
  p["bigram_table"] = {0, 0, 0.5, 0, 0, 0, 0, 0, 0};
  return p;
}

// Tests the whole forward on a model small enough to follow by hand, tokens
// (0, 2):
//   q = k = v = 0, so attention gives 0 and attn_out = AbsTopK(c_proj bias
//   (0.5, -1)) = (0, -1); x = wte + (0, -1) = (3, 3) and (0, -3).
//   c_fc gives its bias (1, -2); GELU = (0.8413447, -0.0455003); AbsTopK
//   keeps (0.8413447, 0); c_proj [[1, 0], [0, 2]] + (0, 0.25) gives
//   (0.8413447, 0.25), AbsTopK keeps (0.8413447, 0).
//   x = (3.8413447, 3) and (0.8413447, -3); final RMSNorm with gain (2, 1),
//   lm_head rows (1, 0), (0, 1), (1, 1), plus bigram row of token 0
//   (0, 0, 0.5) at position 0.
TEST(ReferenceModel, TinyModelByHand) {
  ForwardResult r = forward(tinyConfig(), tinyParams(), {0, 2}, 1, 2);
  const Tensor expect = {2.2291652433316123,  0.8704628420606106,
                         3.599628085392223,   0.7637605124319188,
                         -1.3616781634416302, -0.5979176510097114};
  ASSERT_EQ(r.logits.size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i)
    EXPECT_NEAR(r.logits[i], expect[i], 1e-12) << i;
  EXPECT_NEAR(r.nodes.at("h.0.mlp_neuron")[0], 0.8413447460685429, kTol);
  EXPECT_EQ(r.nodes.at("h.0.mlp_neuron")[1], 0.0);
  EXPECT_EQ(r.nodes.at("h.0.attn_out"), (Tensor{0, -1, 0, -1}));

  // A pruning gate on mlp_neuron that ablates neuron 0 to mean 0.3 and keeps
  // neuron 1: the MLP now writes AbsTopK((0.3, 0.25)) = (0.3, 0), so
  // x = (3.3, 3) at position 0, logits from RMSNorm of that.
  Gates gates;
  gates.sites["h.0.mlp_neuron"] = Gate{{-0.5, 0.5}, {0.3, 0.9}, {}};
  r = forward(tinyConfig(), tinyParams(), {0, 2}, 1, 2, &gates);
  double rms = std::sqrt((3.3 * 3.3 + 9) / 2 + kRmsNormEps);
  EXPECT_NEAR(r.logits[0], 2 * 3.3 / rms, kTol);
  EXPECT_NEAR(r.logits[1], 3 / rms, kTol);
  EXPECT_NEAR(r.logits[2], (2 * 3.3 + 3) / rms + 0.5, kTol);
}

// Tests the gradient of the gate threshold by hand on the tiny model: with
// the loss L = logit[0, 0], dL/dtau_0 = surrogate(tau_0) * sum_n dL/dx~_n0 *
// (y_n0 - mu_0), where only position 0 reaches logit[0, 0]. dL/dx~ at
// neuron 0 is computed here from the chain c_proj -> AbsTopK -> residual ->
// RMSNorm -> lm_head by hand.
TEST(ReferenceModel, GateThresholdGradientByHand) {
  Gates gates;
  gates.sites["h.0.mlp_neuron"] = Gate{{0.2, 0.5}, {0.3, 0.9}, {}};
  ModelConfig c = tinyConfig();
  Params p = tinyParams();
  ForwardResult r = forward(c, p, {0, 2}, 1, 2, &gates);
  Tensor dLogits(6, 0.0);
  dLogits[0] = 1.0;
  Gradients g = backward(c, p, r, dLogits, &gates);
  // Position 0: x = (a, 3) with a = 3 + gelu(1); logit0 = 2 a / rms,
  // rms = sqrt((a^2 + 9) / 2 + eps). d logit0 / da = 2/rms - 2a * a/(2 rms^3)
  // and neuron 0 reaches a through c_proj weight 1 and the kept AbsTopK lane.
  double a = 3 + 0.8413447460685429;
  double rms = std::sqrt((a * a + 9) / 2 + kRmsNormEps);
  double dA = 2 / rms - 2 * a * a / (2 * rms * rms * rms);
  double expect = gateSurrogate(0.2, 1.0) * dA * (0.8413447460685429 - 0.3);
  EXPECT_NEAR(g.tau.at("h.0.mlp_neuron")[0], expect, 1e-12);
  // Neuron 1 lost AbsTopK at mlp_neuron (|gelu(-2)| < gelu(1)), so its
  // value is 0; it would reach the residual through c_proj weight 2 into
  // output lane 1 (0.25), which mlp_out's AbsTopK drops in favour of lane 0
  // (0.841). No gradient reaches it: dL/dtau_1 = 0, and both means get 0
  // because both channels are kept (m = 1).
  EXPECT_EQ(g.tau.at("h.0.mlp_neuron")[1], 0.0);
  EXPECT_EQ(g.mean.at("h.0.mlp_neuron"), (Tensor{0.0, 0.0}));
}

} // namespace
