//===- ModelConfig.h - shape of a weight-sparse transformer -----*- C++ -*-===//
//
// The one description of a model's architecture that every part of Circ
// shares: the builder API turns it into `circ` IR, the runtime allocates its
// parameters, checkpoints name tensors after it, and the reference
// implementation in test/ computes with it. Plain C++: no MLIR or LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_MODELCONFIG_H
#define CIRC_RUNTIME_MODELCONFIG_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace circ {

/// The eight AbsTopK node locations of a layer, named as in the paper's code.
enum class NodeLocation : uint8_t {
  AttnIn,
  AttnQ,
  AttnK,
  AttnV,
  AttnOut,
  MlpIn,
  MlpNeuron,
  MlpOut,
};
constexpr int kNumNodeLocations = 8;

/// "attn_in", "attn_q", ... "mlp_out".
const char *nodeLocationName(NodeLocation loc);
std::optional<NodeLocation> parseNodeLocation(std::string_view name);

/// Bit set of node locations (bit i = NodeLocation i).
using NodeLocationSet = uint8_t;
constexpr NodeLocationSet kAllNodeLocations = 0xff;
inline bool contains(NodeLocationSet set, NodeLocation loc) {
  return set & (1u << static_cast<unsigned>(loc));
}

struct ModelConfig {
  int64_t nLayer = 2;
  int64_t dModel = 64;
  int64_t dHead = 16; ///< heads = dModel / dHead (H·dh = d_model, as in the paper)
  int64_t dMlp = 256;
  int64_t ctx = 64;
  int64_t vocab = 2048;
  /// AbsTopK keeps k = floor(activationFraction · width) entries at each site
  /// in `abstopkSites`; 1.0 disables activation sparsity.
  double activationFraction = 0.25;
  NodeLocationSet abstopkSites = kAllNodeLocations;
  /// Final nonzero fraction of the block matrices and of the embeddings
  /// (wte, lm_head); 1.0 is a dense model.
  double weightDensity = 1.0;
  double embedDensity = 1.0;
  /// Every neuron / channel keeps at least this many nonzero weights.
  int64_t minPerUnit = 4;
  bool attentionSink = false;
  bool bigramTable = true;
  bool positionalTable = false;

  int64_t nHead() const { return dHead > 0 ? dModel / dHead : 0; }
  /// AbsTopK k for a site of the given width (width itself if disabled).
  int64_t topK(NodeLocation loc, int64_t width) const;
  /// Width of the activation at a node location: d_model, H·dh or d_mlp.
  int64_t siteWidth(NodeLocation loc) const;
  /// Human-readable problems with the configuration; empty when valid.
  std::vector<std::string> validate() const;
};

/// What role a parameter plays; decides sparsity, decay and initialisation.
enum class ParamKind : uint8_t {
  TokenEmbedding,  ///< wte [vocab, d_model], sparse (embedding density)
  PositionalTable, ///< wpe [ctx, d_model]
  Matrix,          ///< block weight [out, in], sparse (weight density)
  Bias,            ///< [out], dense
  Gain,            ///< RMSNorm gain [d_model], init 1, dense
  Sink,            ///< per-head sink logit [heads], init 0, dense
  Unembedding,     ///< lm_head [vocab, d_model], sparse (embedding density)
  Bigram,          ///< bigram logit table [vocab, vocab], dense, no decay
};

/// Axis along which the minimum-nonzeros-per-unit rule applies.
enum class UnitAxis : uint8_t { Rows, Cols, None };

struct ParamSpec {
  std::string name;           ///< checkpoint name, e.g. "h.0.attn.c_attn.weight"
  std::vector<int64_t> shape; ///< row-major
  ParamKind kind;
  UnitAxis unitAxis = UnitAxis::None;
  int64_t layer = -1; ///< -1 outside the blocks
  /// Standard deviation of the N(0, σ) initialisation (0 for zero/one init).
  double initStd = 0.0;

  int64_t numel() const;
  bool isSparse() const; ///< takes part in the L0 projection
  bool decays() const;   ///< receives LR-coupled weight decay
};

/// Every parameter of the model in the fixed order used for function
/// arguments, checkpoints and the runtime's parameter store:
///   wte, [wpe], per layer l: ln_1.weight, attn.c_attn.{weight,bias},
///   [attn.sink], attn.c_proj.{weight,bias}, ln_2.weight,
///   mlp.c_fc.{weight,bias}, mlp.c_proj.{weight,bias}; then ln_f.weight,
///   lm_head.weight, [bigram_table].
std::vector<ParamSpec> modelParameters(const ModelConfig &config);

} // namespace circ

#endif // CIRC_RUNTIME_MODELCONFIG_H
