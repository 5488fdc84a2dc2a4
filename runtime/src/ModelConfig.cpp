//===- ModelConfig.cpp - shape of a weight-sparse transformer ---*- C++ -*-===//
#include "circ_runtime/ModelConfig.h"

#include <cmath>

namespace circ {

static const char *const kLocationNames[kNumNodeLocations] = {
    "attn_in", "attn_q", "attn_k", "attn_v",
    "attn_out", "mlp_in", "mlp_neuron", "mlp_out"};

const char *nodeLocationName(NodeLocation loc) {
  return kLocationNames[static_cast<int>(loc)];
}

std::optional<NodeLocation> parseNodeLocation(std::string_view name) {
  for (int i = 0; i < kNumNodeLocations; ++i)
    if (name == kLocationNames[i])
      return static_cast<NodeLocation>(i);
  return std::nullopt;
}

int64_t ModelConfig::siteWidth(NodeLocation loc) const {
  switch (loc) {
  case NodeLocation::AttnQ:
  case NodeLocation::AttnK:
  case NodeLocation::AttnV:
    return nHead() * dHead;
  case NodeLocation::MlpNeuron:
    return dMlp;
  default:
    return dModel;
  }
}

int64_t ModelConfig::topK(NodeLocation loc, int64_t width) const {
  if (!contains(abstopkSites, loc) || activationFraction >= 1.0)
    return width;
  int64_t k = static_cast<int64_t>(std::floor(activationFraction * width));
  return k < 1 ? 1 : k;
}

std::vector<std::string> ModelConfig::validate() const {
  std::vector<std::string> errors;
  auto positive = [&](int64_t v, const char *name) {
    if (v <= 0)
      errors.push_back(std::string(name) + " must be positive, got " +
                       std::to_string(v));
  };
  positive(nLayer, "layers");
  positive(dModel, "d_model");
  positive(dHead, "d_head");
  positive(dMlp, "d_mlp");
  positive(ctx, "ctx");
  positive(vocab, "vocab");
  if (dModel > 0 && dHead > 0 && dModel % dHead != 0)
    errors.push_back("d_head (" + std::to_string(dHead) +
                     ") must divide d_model (" + std::to_string(dModel) + ")");
  auto fraction = [&](double v, const char *name) {
    if (!(v > 0.0 && v <= 1.0))
      errors.push_back(std::string(name) + " must be in (0, 1], got " +
                       std::to_string(v));
  };
  fraction(activationFraction, "activation fraction");
  fraction(weightDensity, "weight density");
  fraction(embedDensity, "embedding density");
  if (minPerUnit < 0)
    errors.push_back("min_per_unit must be >= 0, got " +
                     std::to_string(minPerUnit));
  return errors;
}

int64_t ParamSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

bool ParamSpec::isSparse() const {
  return kind == ParamKind::Matrix || kind == ParamKind::TokenEmbedding ||
         kind == ParamKind::Unembedding || kind == ParamKind::PositionalTable;
}

bool ParamSpec::decays() const {
  return kind == ParamKind::Matrix || kind == ParamKind::TokenEmbedding ||
         kind == ParamKind::Unembedding || kind == ParamKind::PositionalTable;
}

std::vector<ParamSpec> modelParameters(const ModelConfig &c) {
  const double std02 = 0.02;
  // c_proj weights use N(0, 0.02/sqrt(2·n_layer)) (paper §1.1).
  const double projStd = 0.02 / std::sqrt(2.0 * static_cast<double>(c.nLayer));
  const int64_t hd = c.nHead() * c.dHead;
  std::vector<ParamSpec> params;
  auto add = [&](std::string name, std::vector<int64_t> shape, ParamKind kind,
                 UnitAxis axis, int64_t layer, double initStd) {
    params.push_back(
        {std::move(name), std::move(shape), kind, axis, layer, initStd});
  };
  add("wte.weight", {c.vocab, c.dModel}, ParamKind::TokenEmbedding,
      UnitAxis::None, -1, std02);
  if (c.positionalTable)
    add("wpe.weight", {c.ctx, c.dModel}, ParamKind::PositionalTable,
        UnitAxis::None, -1, 0.0);
  for (int64_t l = 0; l < c.nLayer; ++l) {
    std::string p = "h." + std::to_string(l) + ".";
    add(p + "ln_1.weight", {c.dModel}, ParamKind::Gain, UnitAxis::None, l, 0);
    add(p + "attn.c_attn.weight", {3 * hd, c.dModel}, ParamKind::Matrix,
        UnitAxis::Rows, l, std02);
    add(p + "attn.c_attn.bias", {3 * hd}, ParamKind::Bias, UnitAxis::None, l,
        0);
    if (c.attentionSink)
      add(p + "attn.sink", {c.nHead()}, ParamKind::Sink, UnitAxis::None, l, 0);
    add(p + "attn.c_proj.weight", {c.dModel, hd}, ParamKind::Matrix,
        UnitAxis::Cols, l, projStd);
    add(p + "attn.c_proj.bias", {c.dModel}, ParamKind::Bias, UnitAxis::None, l,
        0);
    add(p + "ln_2.weight", {c.dModel}, ParamKind::Gain, UnitAxis::None, l, 0);
    add(p + "mlp.c_fc.weight", {c.dMlp, c.dModel}, ParamKind::Matrix,
        UnitAxis::Rows, l, std02);
    add(p + "mlp.c_fc.bias", {c.dMlp}, ParamKind::Bias, UnitAxis::None, l, 0);
    add(p + "mlp.c_proj.weight", {c.dModel, c.dMlp}, ParamKind::Matrix,
        UnitAxis::Cols, l, projStd);
    add(p + "mlp.c_proj.bias", {c.dModel}, ParamKind::Bias, UnitAxis::None, l,
        0);
  }
  add("ln_f.weight", {c.dModel}, ParamKind::Gain, UnitAxis::None, -1, 0);
  add("lm_head.weight", {c.vocab, c.dModel}, ParamKind::Unembedding,
      UnitAxis::None, -1, std02);
  if (c.bigramTable)
    add("bigram_table", {c.vocab, c.vocab}, ParamKind::Bigram, UnitAxis::None,
        -1, 0.0);
  return params;
}

} // namespace circ
