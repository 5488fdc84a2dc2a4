//===- CircuitDot.cpp - circuit.dot writer ---------------------*- C++ -*-===//
//
// Graphviz for a quick picture: bottom-to-top like the viewer, one cluster
// per layer with one rank per node location, node fill by importance, edges
// red (+) / blue (-) with width by |weight|, residual links dashed grey.
//
//===----------------------------------------------------------------------===//
#include "circ/Circuits/Circuit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

namespace circ::circuits {

namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

const char *shortSite(Site s) {
  switch (s) {
  case Site::AttnIn:
  case Site::MlpIn:
    return "in";
  case Site::AttnQ:
    return "q";
  case Site::AttnK:
    return "k";
  case Site::AttnV:
    return "v";
  case Site::AttnOut:
  case Site::MlpOut:
    return "out";
  case Site::MlpNeuron:
    return "n";
  case Site::Embed:
  case Site::Logit:
    return "";
  }
  return "";
}

/// White -> orange by t in [0, 1].
std::string heat(double t) {
  t = std::clamp(t, 0.0, 1.0);
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", 255,
                static_cast<int>(255 - t * (255 - 140)),
                static_cast<int>(255 - t * 255));
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

} // namespace

std::string toDot(const CircuitGraph &g) {
  const Circuit &c = g.circuit;
  std::string out = "// " + c.task + " circuit of " + c.model +
                    ", written by circ (docs/circuits.md)\n";
  out += "digraph circuit {\n";
  out +=
      "  graph [rankdir=BT, newrank=true, fontname=\"Helvetica\", "
      "labelloc=t, label=" +
      quote(c.task + " - " + c.model + ": " + std::to_string(c.nodes.size()) +
            " nodes, " + std::to_string(g.counts.blockEdges()) + " edges") +
      "];\n";
  out += "  node [shape=circle, style=filled, fontname=\"Helvetica\", "
         "fontsize=9, margin=0.02];\n  edge [arrowsize=0.4];\n";

  double maxImportance = 0;
  for (const NodeInfo &n : c.nodes)
    if (n.importance)
      maxImportance = std::max(maxImportance, std::fabs(*n.importance));
  std::set<NodeId> tokens;
  for (const Edge &e : g.links)
    for (const NodeId &id : {e.source, e.target})
      if (id.site == Site::Embed || id.site == Site::Logit)
        tokens.insert(id);
  for (int32_t t : c.outputTokens)
    tokens.insert(
        NodeId{static_cast<int32_t>(c.config.nLayer), Site::Logit, t});
  auto tokenCluster = [&](Site site, const char *name, const char *label) {
    std::string body;
    for (const NodeId &id : tokens) {
      if (id.site != site)
        continue;
      auto it = c.tokenText.find(static_cast<int32_t>(id.index));
      std::string text =
          it == c.tokenText.end() ? "#" + std::to_string(id.index) : it->second;
      body += "    " + quote(nodeName(id)) +
              " [shape=box, fillcolor=" + "\"#eeeeee\", label=" + quote(text) +
              "];\n";
    }
    if (!body.empty())
      out += std::string("  subgraph cluster_") + name +
             " {\n    label=" + quote(label) + ";\n    rank=same;\n" + body +
             "  }\n";
  };
  tokenCluster(Site::Embed, "embed", "embedding");
  // Block nodes grouped by layer, then by location (one rank each).
  std::map<int32_t, std::map<Site, std::vector<const NodeInfo *>>> layers;
  for (const NodeInfo &n : c.nodes)
    layers[n.id.layer][n.id.site].push_back(&n);
  for (const auto &[layer, sites] : layers) {
    std::string body;
    for (const auto &[site, nodes] : sites) {
      std::string rank;
      for (const NodeInfo *n : nodes) {
        std::string fill = n->importance && maxImportance > 0
                               ? heat(std::fabs(*n->importance) / maxImportance)
                               : "#ffffff";
        std::string tip = nodeName(n->id);
        if (n->importance)
          tip += " importance " + fixed(*n->importance, 4);
        if (!n->label.empty())
          tip += " - " + n->label;
        rank += " " + quote(nodeName(n->id)) + " [label=" +
                quote(std::string(shortSite(site)) + " " +
                      std::to_string(n->id.index)) +
                ", fillcolor=" + quote(fill) + ", tooltip=" + quote(tip) + "];";
      }
      body += "    { rank=same;" + rank + " }\n";
    }
    out += "  subgraph cluster_layer" + std::to_string(layer) +
           " {\n    label=" + quote("layer " + std::to_string(layer)) + ";\n" +
           body + "  }\n";
  }
  tokenCluster(Site::Logit, "logits", "logits");

  double maxWeight = 0;
  for (const Edge &e : g.links)
    if (e.kind != EdgeKind::Residual)
      maxWeight = std::max(maxWeight, static_cast<double>(std::fabs(e.weight)));
  for (const Edge &e : g.links) {
    out +=
        "  " + quote(nodeName(e.source)) + " -> " + quote(nodeName(e.target));
    if (e.kind == EdgeKind::Residual) {
      out += " [style=dashed, color=\"#bbbbbb\", tooltip=\"residual\"];\n";
      continue;
    }
    double t = maxWeight > 0 ? std::fabs(e.weight) / maxWeight : 0;
    out += std::string(" [color=") +
           (e.weight >= 0 ? "\"#d62728\"" : "\"#1f77b4\"") +
           ", penwidth=" + fixed(0.5 + 2.5 * t, 2) + ", tooltip=" +
           quote(std::string(edgeKindName(e.kind)) + " " + fixed(e.weight, 4)) +
           "];\n";
  }
  return out + "}\n";
}

} // namespace circ::circuits
