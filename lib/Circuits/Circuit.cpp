//===- Circuit.cpp - node names, validation, the geometric mean -*- C++ -*-===//
#include "circ/Circuits/Circuit.h"

#include <cmath>
#include <limits>
#include <set>

namespace circ::circuits {

namespace {

const char *const kSiteNames[] = {"attn_in",  "attn_q", "attn_k",     "attn_v",
                                  "attn_out", "mlp_in", "mlp_neuron", "mlp_out",
                                  "embed",    "logit"};
constexpr int kNumSites = 10;

/// The paper's viz names: `{L}.attn.act_in`, ... (paper §5.1).
const char *const kVizNames[] = {
    "attn.act_in",      "attn.q",     "attn.k",       "attn.v",
    "attn.resid_delta", "mlp.act_in", "mlp.post_act", "mlp.resid_delta"};

const char *const kEdgeKindNames[] = {"q",         "k",       "v",
                                      "attn_proj", "mlp_fc",  "mlp_proj",
                                      "embed",     "unembed", "residual"};
constexpr int kNumEdgeKinds = 9;

std::optional<int64_t> parseIndex(std::string_view s) {
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

} // namespace

Site siteOf(NodeLocation loc) { return static_cast<Site>(loc); }

const char *siteName(Site site) { return kSiteNames[static_cast<int>(site)]; }

std::optional<Site> parseSiteName(std::string_view name) {
  for (int i = 0; i < kNumSites; ++i)
    if (name == kSiteNames[i])
      return static_cast<Site>(i);
  return std::nullopt;
}

const char *edgeKindName(EdgeKind kind) {
  return kEdgeKindNames[static_cast<int>(kind)];
}

std::optional<EdgeKind> parseEdgeKindName(std::string_view name) {
  for (int i = 0; i < kNumEdgeKinds; ++i)
    if (name == kEdgeKindNames[i])
      return static_cast<EdgeKind>(i);
  return std::nullopt;
}

bool NodeId::operator<(const NodeId &o) const {
  if (layer != o.layer)
    return layer < o.layer;
  if (site != o.site)
    return site < o.site;
  return index < o.index;
}

std::string nodeName(const NodeId &id) {
  std::string idx = std::to_string(id.index);
  if (id.site == Site::Embed)
    return "E.embed." + idx;
  if (id.site == Site::Logit)
    return "U.logit." + idx;
  return std::to_string(id.layer) + "." + siteName(id.site) + "." + idx;
}

std::string vizName(const NodeId &id) {
  if (id.site == Site::Embed || id.site == Site::Logit)
    return nodeName(id);
  return std::to_string(id.layer) + "." + kVizNames[static_cast<int>(id.site)] +
         "." + std::to_string(id.index);
}

std::optional<NodeId> parseNodeName(std::string_view name, int64_t numLayers) {
  size_t first = name.find('.');
  size_t last = name.rfind('.');
  if (first == std::string_view::npos || first == last)
    return std::nullopt;
  std::string_view layer = name.substr(0, first);
  std::string_view loc = name.substr(first + 1, last - first - 1);
  auto index = parseIndex(name.substr(last + 1));
  if (!index)
    return std::nullopt;
  if (layer == "E" && loc == "embed")
    return NodeId{-1, Site::Embed, *index};
  if (layer == "U" && loc == "logit")
    return NodeId{static_cast<int32_t>(numLayers), Site::Logit, *index};
  auto l = parseIndex(layer);
  if (!l || *l > std::numeric_limits<int32_t>::max())
    return std::nullopt;
  NodeId id{static_cast<int32_t>(*l), Site::AttnIn, *index};
  if (auto s = parseSiteName(loc);
      s && *s != Site::Embed && *s != Site::Logit) {
    id.site = *s;
    return id;
  }
  for (int i = 0; i < kNumNodeLocations; ++i)
    if (loc == kVizNames[i]) {
      id.site = static_cast<Site>(i);
      return id;
    }
  return std::nullopt;
}

int64_t headOf(const ModelConfig &config, const NodeId &id) {
  if ((id.site == Site::AttnQ || id.site == Site::AttnK ||
       id.site == Site::AttnV) &&
      config.dHead > 0)
    return id.index / config.dHead;
  return -1;
}

rt::Error validateCircuit(const Circuit &c) {
  std::string where = "circuit '" + c.task + "': ";
  std::vector<std::string> problems = c.config.validate();
  if (!problems.empty())
    return rt::Error::failure(where + "invalid model config: " + problems[0]);
  std::set<NodeId> seen;
  for (const NodeInfo &n : c.nodes) {
    const NodeId &id = n.id;
    if (id.site == Site::Embed || id.site == Site::Logit)
      return rt::Error::failure(where + "node " + nodeName(id) +
                                " is a token, not a block node");
    if (id.layer < 0 || id.layer >= c.config.nLayer)
      return rt::Error::failure(where + "node " + nodeName(id) +
                                ": layer out of range (the model has " +
                                std::to_string(c.config.nLayer) + ")");
    int64_t width = c.config.siteWidth(
        static_cast<NodeLocation>(static_cast<int>(id.site)));
    if (id.index < 0 || id.index >= width)
      return rt::Error::failure(where + "node " + nodeName(id) +
                                ": index out of range (" + siteName(id.site) +
                                " has " + std::to_string(width) + ")");
    if (!seen.insert(id).second)
      return rt::Error::failure(where + "node " + nodeName(id) +
                                " is listed twice");
    for (const auto *samples : {&n.taskSamples, &n.pretrainSnippets})
      for (const ActivationSample &s : *samples)
        if (s.tokens.size() != s.values.size())
          return rt::Error::failure(
              where + "node " + nodeName(id) + ": sample '" + s.label +
              "' has " + std::to_string(s.tokens.size()) + " tokens but " +
              std::to_string(s.values.size()) + " values");
  }
  for (const auto *tokens : {&c.inputTokens, &c.outputTokens})
    for (int32_t t : *tokens)
      if (t < 0 || t >= c.config.vocab)
        return rt::Error::failure(where + "token id " + std::to_string(t) +
                                  " out of range (vocabulary " +
                                  std::to_string(c.config.vocab) + ")");
  return rt::Error::success();
}

double geometricMean(const std::vector<double> &sizes) {
  if (sizes.empty())
    return std::numeric_limits<double>::quiet_NaN();
  double logSum = 0;
  bool zero = false;
  for (double s : sizes) {
    if (!(s >= 0))
      return std::numeric_limits<double>::quiet_NaN();
    if (s == 0)
      zero = true;
    else
      logSum += std::log(s);
  }
  return zero ? 0.0 : std::exp(logSum / static_cast<double>(sizes.size()));
}

int64_t EdgeCounts::blockEdges() const {
  int64_t n = 0;
  for (const LayerEdgeCounts &l : layers)
    n += l.total();
  return n;
}

} // namespace circ::circuits
