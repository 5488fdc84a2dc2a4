//===- Edges.cpp - the circuit-size rule (paper §6) ------------*- C++ -*-===//
//
// One walk over the kept nodes visits every edge; counting and listing are
// two consumers of it, so the count and the drawn graph cannot disagree. The
// walk touches only kept-row x kept-column entries of each matrix, so its
// cost is the circuit's, not the model's.
//
//===----------------------------------------------------------------------===//
#include "circ/Circuits/Circuit.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace circ::circuits {

namespace {

/// Kept node indices, sorted, per [layer][location].
using KeptLists =
    std::vector<std::array<std::vector<int64_t>, kNumNodeLocations>>;

KeptLists keptLists(const Circuit &c) {
  KeptLists kept(static_cast<size_t>(c.config.nLayer));
  for (const NodeInfo &n : c.nodes)
    kept[n.id.layer][static_cast<int>(n.id.site)].push_back(n.id.index);
  for (auto &layer : kept)
    for (auto &list : layer)
      std::sort(list.begin(), list.end());
  return kept;
}

/// The weights a walk reads, checked against the model's parameter list.
struct Weights {
  std::vector<const float *> cAttn, attnProj, fc, mlpProj;
  const float *wte = nullptr, *lmHead = nullptr;
};

rt::Expected<Weights> lookupWeights(const ModelConfig &config,
                                    const WeightMap &weights) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const ParamSpec &p : modelParameters(config))
    shapes[p.name] = p.shape;
  auto get = [&](const std::string &name, const float *&out) -> rt::Error {
    auto it = weights.find(name);
    if (it == weights.end() || !it->second.data)
      return rt::Error::failure("weight '" + name + "' is missing");
    if (it->second.shape != shapes[name]) {
      auto str = [](const std::vector<int64_t> &s) {
        std::string r = "[";
        for (size_t i = 0; i < s.size(); ++i)
          r += (i ? ", " : "") + std::to_string(s[i]);
        return r + "]";
      };
      return rt::Error::failure("weight '" + name + "' has shape " +
                                str(it->second.shape) + ", the model needs " +
                                str(shapes[name]));
    }
    out = it->second.data;
    return rt::Error::success();
  };
  Weights w;
  size_t n = static_cast<size_t>(config.nLayer);
  w.cAttn.resize(n);
  w.attnProj.resize(n);
  w.fc.resize(n);
  w.mlpProj.resize(n);
  for (size_t l = 0; l < n; ++l) {
    std::string p = "h." + std::to_string(l) + ".";
    if (rt::Error e = get(p + "attn.c_attn.weight", w.cAttn[l]))
      return e;
    if (rt::Error e = get(p + "attn.c_proj.weight", w.attnProj[l]))
      return e;
    if (rt::Error e = get(p + "mlp.c_fc.weight", w.fc[l]))
      return e;
    if (rt::Error e = get(p + "mlp.c_proj.weight", w.mlpProj[l]))
      return e;
  }
  if (rt::Error e = get("wte.weight", w.wte))
    return e;
  if (rt::Error e = get("lm_head.weight", w.lmHead))
    return e;
  return w;
}

/// Order along the residual stream: a write at key k reaches reads at keys
/// greater than k.
int residualKey(const NodeId &id) {
  int phase = id.site == Site::AttnIn    ? 0
              : id.site == Site::AttnOut ? 1
              : id.site == Site::MlpIn   ? 2
                                         : 3; // MlpOut
  return id.layer * 4 + phase;
}

/// Calls visit(kind, source, target, weight, newWeight) for every edge;
/// `newWeight` is false for the repeated links of one embedding or
/// unembedding weight to its channel's other readers or writers.
template <typename Visit>
rt::Error walk(const Circuit &c, const WeightMap &weightMap, bool residual,
               Visit visit) {
  if (rt::Error e = validateCircuit(c))
    return e;
  const ModelConfig &cfg = c.config;
  auto w = lookupWeights(cfg, weightMap);
  if (!w)
    return w.takeError();
  KeptLists kept = keptLists(c);
  const int64_t D = cfg.dModel, HD = cfg.nHead() * cfg.dHead, M = cfg.dMlp;
  auto node = [](int64_t l, NodeLocation loc, int64_t i) {
    return NodeId{static_cast<int32_t>(l), siteOf(loc), i};
  };
  // Dense W[out, in] restricted to kept outputs x kept inputs.
  auto matrix = [&](EdgeKind kind, int64_t l, const float *W, int64_t cols,
                    int64_t rowOffset, NodeLocation in, NodeLocation out) {
    for (int64_t o : kept[l][static_cast<int>(out)]) {
      const float *row = W + (rowOffset + o) * cols;
      for (int64_t i : kept[l][static_cast<int>(in)])
        if (row[i] != 0.0f)
          visit(kind, node(l, in, i), node(l, out, o), row[i], true);
    }
  };
  using L = NodeLocation;
  for (int64_t l = 0; l < cfg.nLayer; ++l) {
    matrix(EdgeKind::Q, l, w->cAttn[l], D, 0, L::AttnIn, L::AttnQ);
    matrix(EdgeKind::K, l, w->cAttn[l], D, HD, L::AttnIn, L::AttnK);
    matrix(EdgeKind::V, l, w->cAttn[l], D, 2 * HD, L::AttnIn, L::AttnV);
    matrix(EdgeKind::AttnProj, l, w->attnProj[l], HD, 0, L::AttnV, L::AttnOut);
    matrix(EdgeKind::MlpFc, l, w->fc[l], D, 0, L::MlpIn, L::MlpNeuron);
    matrix(EdgeKind::MlpProj, l, w->mlpProj[l], M, 0, L::MlpNeuron, L::MlpOut);
  }
  // Residual readers and writers of each channel, in stream order.
  std::vector<std::vector<NodeId>> readers(D), writers(D);
  for (int64_t l = 0; l < cfg.nLayer; ++l)
    for (L loc : {L::AttnIn, L::AttnOut, L::MlpIn, L::MlpOut})
      for (int64_t d : kept[l][static_cast<int>(loc)])
        (loc == L::AttnIn || loc == L::MlpIn ? readers : writers)[d].push_back(
            node(l, loc, d));
  auto rows = [&](const std::vector<int32_t> &tokens) {
    std::vector<int32_t> r = tokens;
    if (r.empty())
      for (int32_t t = 0; t < cfg.vocab; ++t)
        r.push_back(t);
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    return r;
  };
  for (int32_t t : rows(c.inputTokens))
    for (int64_t d = 0; d < D; ++d) {
      float x = w->wte[t * D + d];
      if (x == 0.0f)
        continue;
      bool first = true;
      for (const NodeId &r : readers[d]) {
        visit(EdgeKind::Embed, NodeId{-1, Site::Embed, t}, r, x, first);
        first = false;
      }
    }
  NodeId logit{static_cast<int32_t>(cfg.nLayer), Site::Logit, 0};
  for (int32_t t : rows(c.outputTokens))
    for (int64_t d = 0; d < D; ++d) {
      float x = w->lmHead[t * D + d];
      if (x == 0.0f)
        continue;
      logit.index = t;
      bool first = true;
      for (const NodeId &wr : writers[d]) {
        visit(EdgeKind::Unembed, wr, logit, x, first);
        first = false;
      }
    }
  if (residual)
    for (int64_t d = 0; d < D; ++d)
      for (const NodeId &wr : writers[d])
        for (const NodeId &r : readers[d])
          if (residualKey(wr) < residualKey(r))
            visit(EdgeKind::Residual, wr, r, 1.0f, true);
  return rt::Error::success();
}

} // namespace

/// The weights' model must be the circuit's.
rt::Error checkSameShape(const ModelConfig &config, const Circuit &circuit) {
  if (config.nLayer != circuit.config.nLayer ||
      config.dModel != circuit.config.dModel ||
      config.dMlp != circuit.config.dMlp ||
      config.dHead != circuit.config.dHead ||
      config.vocab != circuit.config.vocab)
    return rt::Error::failure("circuit '" + circuit.task +
                              "' was pruned from a model of another shape");
  return rt::Error::success();
}

rt::Expected<EdgeCounts> countEdges(const ModelConfig &config,
                                    const WeightMap &weights,
                                    const Circuit &circuit) {
  if (rt::Error e = checkSameShape(config, circuit))
    return e;
  EdgeCounts counts;
  counts.layers.resize(static_cast<size_t>(config.nLayer));
  rt::Error e = walk(circuit, weights, true,
                     [&](EdgeKind kind, const NodeId &s, const NodeId &t, float,
                         bool newWeight) {
                       int32_t l = s.layer;
                       switch (kind) {
                       case EdgeKind::Q:
                         ++counts.layers[l].q;
                         break;
                       case EdgeKind::K:
                         ++counts.layers[l].k;
                         break;
                       case EdgeKind::V:
                         ++counts.layers[l].v;
                         break;
                       case EdgeKind::AttnProj:
                         ++counts.layers[l].attnProj;
                         break;
                       case EdgeKind::MlpFc:
                         ++counts.layers[l].mlpFc;
                         break;
                       case EdgeKind::MlpProj:
                         ++counts.layers[l].mlpProj;
                         break;
                       case EdgeKind::Embed:
                         counts.embed += newWeight;
                         break;
                       case EdgeKind::Unembed:
                         counts.unembed += newWeight;
                         break;
                       case EdgeKind::Residual:
                         ++counts.residualLinks;
                         break;
                       }
                       (void)t;
                     });
  if (e)
    return e;
  return counts;
}

rt::Expected<std::vector<Edge>> circuitEdges(const ModelConfig &config,
                                             const WeightMap &weights,
                                             const Circuit &circuit,
                                             bool residual) {
  if (rt::Error e = checkSameShape(config, circuit))
    return e;
  std::vector<Edge> edges;
  rt::Error e =
      walk(circuit, weights, residual,
           [&](EdgeKind kind, const NodeId &s, const NodeId &t, float w, bool) {
             edges.push_back({kind, s, t, w});
           });
  if (e)
    return e;
  return edges;
}

rt::Expected<CircuitGraph> buildCircuitGraph(const Circuit &circuit,
                                             const WeightMap &weights,
                                             size_t maxLinks) {
  CircuitGraph g;
  g.circuit = circuit;
  auto counts = countEdges(circuit.config, weights, circuit);
  if (!counts)
    return counts.takeError();
  g.counts = std::move(*counts);
  auto edges = circuitEdges(circuit.config, weights, circuit, true);
  if (!edges)
    return edges.takeError();
  g.links = std::move(*edges);
  if (g.links.size() > maxLinks) {
    // Keep weights before identities, strongest first; ties by position,
    // so the choice is deterministic.
    auto before = [](const Edge &a, const Edge &b) {
      bool ra = a.kind == EdgeKind::Residual, rb = b.kind == EdgeKind::Residual;
      if (ra != rb)
        return rb;
      if (std::fabs(a.weight) != std::fabs(b.weight))
        return std::fabs(a.weight) > std::fabs(b.weight);
      if (!(a.source == b.source))
        return a.source < b.source;
      if (!(a.target == b.target))
        return a.target < b.target;
      return a.kind < b.kind;
    };
    std::nth_element(g.links.begin(), g.links.begin() + maxLinks, g.links.end(),
                     before);
    g.links.resize(maxLinks);
    g.linksTruncated = true;
  }
  std::sort(g.links.begin(), g.links.end(), [](const Edge &a, const Edge &b) {
    if (!(a.source == b.source))
      return a.source < b.source;
    if (!(a.target == b.target))
      return a.target < b.target;
    return a.kind < b.kind;
  });
  return g;
}

} // namespace circ::circuits
