//===- Nodes.cpp - the prunable nodes of a model ----------------*- C++ -*-===//

#include "circ/Prune/Nodes.h"

#include <algorithm>

using namespace circ;
using namespace circ::prune;

// index() maps circuit sites to node locations by their shared order.
static_assert(static_cast<int>(circuits::Site::AttnIn) ==
                      static_cast<int>(NodeLocation::AttnIn) &&
                  static_cast<int>(circuits::Site::MlpOut) ==
                      static_cast<int>(NodeLocation::MlpOut),
              "circuits::Site must list the node locations in order");

NodeSpace::NodeSpace(const ModelConfig &config, NodeLocationSet prunable)
    : cfg(config), sites(prunable) {
  for (int64_t l = 0; l < config.nLayer; ++l) {
    for (int s = 0; s < kNumNodeLocations; ++s) {
      auto site = static_cast<NodeLocation>(s);
      GateSlice g;
      g.layer = l;
      g.site = site;
      g.offset = total;
      g.width = config.siteWidth(site);
      std::string prefix =
          "h." + std::to_string(l) + "." + nodeLocationName(site);
      g.tauName = prefix + ".tau";
      g.meanName = prefix + ".mean";
      total += g.width;
      if (contains(prunable, site))
        prunableCount += g.width;
      slices.push_back(std::move(g));
    }
  }
}

const GateSlice &NodeSpace::gateOf(int64_t node) const {
  auto it = std::upper_bound(
      slices.begin(), slices.end(), node,
      [](int64_t n, const GateSlice &g) { return n < g.offset; });
  return *std::prev(it);
}

bool NodeSpace::prunable(int64_t node) const {
  return contains(sites, gateOf(node).site);
}

circuits::NodeId NodeSpace::id(int64_t node) const {
  const GateSlice &g = gateOf(node);
  circuits::NodeId id;
  id.layer = static_cast<int32_t>(g.layer);
  id.site = circuits::siteOf(g.site);
  id.index = node - g.offset;
  return id;
}

int64_t NodeSpace::index(const circuits::NodeId &id) const {
  if (id.layer < 0 || id.layer >= cfg.nLayer ||
      id.site == circuits::Site::Embed || id.site == circuits::Site::Logit)
    return -1;
  const GateSlice &g =
      slices[id.layer * kNumNodeLocations + static_cast<int>(id.site)];
  if (id.index < 0 || id.index >= g.width)
    return -1;
  return g.offset + id.index;
}

Gates prune::circuitGates(const NodeSpace &space,
                          const std::vector<float> &ablation,
                          const std::vector<char> &keep) {
  Gates gates;
  gates.ablation = ablation;
  gates.tau.assign(space.size(), 1.0f);
  for (const GateSlice &g : space.gates()) {
    if (!contains(space.prunableSites(), g.site))
      continue;
    for (int64_t i = g.offset; i < g.offset + g.width; ++i)
      gates.tau[i] = keep[i] ? 1.0f : -1.0f;
  }
  return gates;
}

Gates prune::fullModelGates(const NodeSpace &space,
                            const std::vector<float> &ablation) {
  return {std::vector<float>(space.size(), 1.0f), ablation};
}
