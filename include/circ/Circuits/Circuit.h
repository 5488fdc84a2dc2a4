//===- Circuit.h - pruned circuits, their size, their files -----*- C++ -*-===//
//
// A circuit is the set of nodes pruning kept (paper §5): one node per channel
// at each of the eight AbsTopK locations of a layer. Its size is the number
// of edges: nonzero weights whose input and output nodes are both kept
// (paper §6; the exact rule is docs/circuits.md). This header holds the data
// pruning fills in, the edge rule, and the writers of the three files a
// circuit run leaves behind: circuit.json (schema in docs/circuits.md, close
// to the circuit-tracer / Neuronpedia graph JSON), circuit.dot and a
// self-contained report.html.
//
// Plain C++ (no MLIR); nothing here throws.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_CIRCUITS_CIRCUIT_H
#define CIRC_CIRCUITS_CIRCUIT_H

#include "circ_runtime/Error.h"
#include "circ_runtime/ModelConfig.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace circ::circuits {

/// Where a graph node sits: one of the eight node locations of a block, or
/// a token of the embedding (inputs) or of the unembedding (logits).
enum class Site : uint8_t {
  AttnIn,
  AttnQ,
  AttnK,
  AttnV,
  AttnOut,
  MlpIn,
  MlpNeuron,
  MlpOut,
  Embed, ///< input token `index`; layer -1
  Logit, ///< output token `index`; layer = number of layers
};
Site siteOf(NodeLocation loc);
/// "attn_in" ... "mlp_out", "embed", "logit".
const char *siteName(Site site);
std::optional<Site> parseSiteName(std::string_view name);

struct NodeId {
  int32_t layer = 0;
  Site site = Site::AttnIn;
  int64_t index = 0;
  bool operator==(const NodeId &o) const {
    return layer == o.layer && site == o.site && index == o.index;
  }
  bool operator<(const NodeId &o) const;
};

/// "{layer}.{location}.{index}", e.g. "0.mlp_neuron.388"; embedding and
/// logit nodes are "E.embed.{token}" and "U.logit.{token}".
std::string nodeName(const NodeId &id);
/// The paper's viz name, e.g. "0.mlp.post_act.388" ("E.embed.12" and
/// "U.logit.7" for tokens).
std::string vizName(const NodeId &id);
/// Parses either form; `numLayers` places "U" logit nodes.
std::optional<NodeId> parseNodeName(std::string_view name, int64_t numLayers);
/// The attention head of a q/k/v node (index / d_head), else -1.
int64_t headOf(const ModelConfig &config, const NodeId &id);

/// Activations of a node over one token sequence.
struct ActivationSample {
  std::string label; ///< e.g. "A", "B", "top 0.1%"
  std::vector<std::string> tokens;
  std::vector<float> values; ///< one per token
};

/// A kept node and what is known about it.
struct NodeInfo {
  NodeId id;
  /// Task-loss increase when this node is ablated as well (the viz's
  /// ch_interv_loss minus the circuit's loss).
  std::optional<double> importance;
  /// The value it is replaced by when pruned (its pretraining mean).
  std::optional<double> meanActivation;
  /// Mean activation at the last position of the task prompts.
  std::optional<double> taskActivation;
  std::string label; ///< the user's annotation ("clerp")
  std::vector<ActivationSample> taskSamples;
  std::vector<ActivationSample> pretrainSnippets;
};

struct CurvePoint {
  int64_t keptNodes = 0;
  double loss = 0;
};

/// One faithfulness check (sufficiency, necessity, random-init control, ...):
/// docs/circuits.md lists the standard check names.
struct AuditRow {
  std::string check;
  std::string description;
  double value = 0;
  std::optional<double> reference; ///< what `value` is compared with
  std::string verdict;             ///< "pass", "fail" or free text
};

/// A task pair shown in the report.
struct TaskExample {
  std::string promptA, promptB, completionA, completionB;
};

struct Circuit {
  std::string model; ///< model name (the .circ model block)
  std::string task;
  std::string taskDescription;
  ModelConfig config;
  double targetLoss = 0.15;
  std::string ablation = "mean"; ///< "mean" or "zero"
  std::vector<NodeInfo> nodes;   ///< the kept block nodes
  /// Embedding rows counted for embedding edges: the tokens of the task's
  /// prompts. Empty means every vocabulary row.
  std::vector<int32_t> inputTokens;
  /// Unembedding rows counted: the candidate tokens. Empty means every row.
  std::vector<int32_t> outputTokens;
  std::map<int32_t, std::string> tokenText; ///< display text of token ids
  std::map<std::string, double> losses;     ///< e.g. "full", "circuit"
  std::vector<CurvePoint> lossCurve;        ///< loss vs kept nodes
  std::vector<AuditRow> audit;
  std::vector<TaskExample> examples;
};

/// Checks node ranges against the config, duplicates, token ids.
rt::Error validateCircuit(const Circuit &circuit);

//===----------------------------------------------------------------------===//
// Edges
//===----------------------------------------------------------------------===//

/// A dense row-major float tensor owned by the caller.
struct TensorView {
  const float *data = nullptr;
  std::vector<int64_t> shape;
};
/// Parameter name (as in modelParameters) -> tensor.
using WeightMap = std::map<std::string, TensorView>;

/// Which weight (or identity) an edge is.
enum class EdgeKind : uint8_t {
  Q,        ///< c_attn q rows: attn_in -> attn_q
  K,        ///< c_attn k rows: attn_in -> attn_k
  V,        ///< c_attn v rows: attn_in -> attn_v
  AttnProj, ///< attn c_proj: attn_v -> attn_out
  MlpFc,    ///< c_fc: mlp_in -> mlp_neuron
  MlpProj,  ///< mlp c_proj: mlp_neuron -> mlp_out
  Embed,    ///< wte: token -> a kept residual read (attn_in / mlp_in)
  Unembed,  ///< lm_head: a kept residual write (attn_out / mlp_out) -> token
  Residual, ///< identity through the residual stream (not a weight)
};
const char *edgeKindName(EdgeKind kind);
std::optional<EdgeKind> parseEdgeKindName(std::string_view name);

struct Edge {
  EdgeKind kind;
  NodeId source, target;
  float weight = 0;
};

struct LayerEdgeCounts {
  int64_t q = 0, k = 0, v = 0, attnProj = 0, mlpFc = 0, mlpProj = 0;
  int64_t total() const { return q + k + v + attnProj + mlpFc + mlpProj; }
};

struct EdgeCounts {
  std::vector<LayerEdgeCounts> layers;
  /// Nonzero wte[t, d] with t an input token and d a residual channel that a
  /// kept attn_in or mlp_in node reads (each (t, d) once).
  int64_t embed = 0;
  /// Nonzero lm_head[t, d] with t an output token and d a channel a kept
  /// attn_out or mlp_out node writes (each (t, d) once).
  int64_t unembed = 0;
  /// Identity links from kept writes to later kept reads of the same
  /// channel: shown in the graph, never counted as edges.
  int64_t residualLinks = 0;
  /// The circuit size: edges of the block matrices (paper §6).
  int64_t blockEdges() const;
};

/// Counts the circuit's edges by the rule above. Fails when a needed weight
/// is missing or has the wrong shape.
rt::Expected<EdgeCounts> countEdges(const ModelConfig &config,
                                    const WeightMap &weights,
                                    const Circuit &circuit);

/// Every edge of the circuit (block, embedding, unembedding and, when
/// `residual`, the residual identity links); embedding and unembedding
/// weights appear once per kept reader / writer node of their channel.
rt::Expected<std::vector<Edge>> circuitEdges(const ModelConfig &config,
                                             const WeightMap &weights,
                                             const Circuit &circuit,
                                             bool residual = true);

/// The headline metric over tasks: exp(mean(log size)); 0 if any size is 0;
/// NaN for an empty list or a negative size.
double geometricMean(const std::vector<double> &sizes);

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

/// What the writers render: the circuit, its exact edge counts and the
/// links drawn (possibly truncated to the strongest).
struct CircuitGraph {
  Circuit circuit;
  EdgeCounts counts;
  std::vector<Edge> links;
  bool linksTruncated = false;
};

/// Counts and enumerates the edges; keeps at most `maxLinks` links (those of
/// largest |weight|; residual links last) so that the viewer stays fast.
rt::Expected<CircuitGraph> buildCircuitGraph(const Circuit &circuit,
                                             const WeightMap &weights,
                                             size_t maxLinks = 20000);

/// circuit.json (schema_version 1, docs/circuits.md), pretty-printed.
std::string toJson(const CircuitGraph &graph);
/// Reads circuit.json back; `name` stands for the file in messages.
rt::Expected<CircuitGraph> fromJson(std::string_view text,
                                    const std::string &name);
/// circuit.dot: Graphviz, one cluster per layer, edges coloured by sign.
std::string toDot(const CircuitGraph &graph);
/// report.html: one self-contained page (data, script and style inlined;
/// no network access) that draws the graph and the audit.
std::string toHtml(const CircuitGraph &graph);

/// Writes dir/circuit.json, dir/circuit.dot and dir/report.html, each to a
/// temporary file renamed into place. `dir` must exist.
rt::Error writeCircuitFiles(const CircuitGraph &graph, const std::string &dir);

} // namespace circ::circuits

#endif // CIRC_CIRCUITS_CIRCUIT_H
