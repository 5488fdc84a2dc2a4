//===- Nodes.h - the prunable nodes of a model ------------------*- C++ -*-===//
//
// Pruning (paper §5.1) has one scalar node per channel at each of the eight
// node locations of every layer. Pruning code keeps per-node values (the
// thresholds τ, the ablation means, gradients) in one flat vector whose order
// is the mask gates' argument order: layer-major, node locations in
// NodeLocation order, channels in index order. NodeSpace maps between that
// flat index, the (layer, location, channel) of a circuit node, and the gate
// parameters `h.<l>.<site>.tau` / `.mean` of the compiled model.
//
// Plain C++ (no MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_NODES_H
#define CIRC_PRUNE_NODES_H

#include "circ/Circuits/Circuit.h"
#include "circ_runtime/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace circ::prune {

/// One node location of one layer: a contiguous run of the flat order.
struct GateSlice {
  int64_t layer = 0;
  NodeLocation site = NodeLocation::AttnIn;
  int64_t offset = 0; ///< flat index of channel 0
  int64_t width = 0;
  std::string tauName;  ///< "h.<l>.<site>.tau"
  std::string meanName; ///< "h.<l>.<site>.mean"
};

class NodeSpace {
public:
  /// Every node of `config`; those at locations outside `prunable` always
  /// stay in the model (they are neither optimised nor counted).
  explicit NodeSpace(const ModelConfig &config,
                     NodeLocationSet prunable = kAllNodeLocations);

  const ModelConfig &config() const { return cfg; }
  NodeLocationSet prunableSites() const { return sites; }
  /// All nodes, prunable or not.
  int64_t size() const { return total; }
  int64_t numPrunable() const { return prunableCount; }
  const std::vector<GateSlice> &gates() const { return slices; }

  bool prunable(int64_t node) const;
  /// The gate slice holding `node`.
  const GateSlice &gateOf(int64_t node) const;
  circuits::NodeId id(int64_t node) const;
  /// The flat index of a block node; -1 for embedding/logit nodes or
  /// indices out of range.
  int64_t index(const circuits::NodeId &id) const;

private:
  ModelConfig cfg;
  NodeLocationSet sites;
  std::vector<GateSlice> slices;
  int64_t total = 0, prunableCount = 0;
};

/// Per-node gate settings, in the flat order: a node is kept when
/// tau ≥ 0, otherwise replaced by `ablation` (its pretraining mean, or 0).
struct Gates {
  std::vector<float> tau;
  std::vector<float> ablation;
};

/// Gates keeping exactly the nodes with `keep[i]` set (and every node that
/// is not prunable): tau = +1 for kept nodes, −1 for the others.
Gates circuitGates(const NodeSpace &space, const std::vector<float> &ablation,
                   const std::vector<char> &keep);
/// Every node kept: the full model.
Gates fullModelGates(const NodeSpace &space,
                     const std::vector<float> &ablation);

} // namespace circ::prune

#endif // CIRC_PRUNE_NODES_H
