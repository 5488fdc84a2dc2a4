//===- Reference.h - naive double-precision model (test oracle) -*- C++ -*-===//
//
// The weight-sparse transformer of paper §1.1, forward and hand-written
// reverse mode, in plain loops over std::vector<double>: no blocking, no
// sparsity exploitation, no shared code with the compiler or its kernels.
// It exists to be obviously correct; tests compare everything else to it.
//
// Conventions:
//  * Parameters are keyed by their checkpoint names (circ::modelParameters);
//    every tensor is row-major; a linear layer y = x W^T + b uses W [out, in].
//  * Activations are [N, W] with row n = b * T + t for a batch of B
//    sequences of T tokens.
//  * A node (layer l, location s) is gate(AbsTopK(x)): AbsTopK keeps
//    config.topK(s, W) entries of largest |x| per row (ties: lower index),
//    then the optional pruning gate x~ = m x + (1 - m) mu with m = H(tau)
//    (1 when tau >= 0). Backward, dm/dtau is the surrogate
//    sigma(tau/T)(1 - sigma(tau/T))/T. Gates are named "h.<l>.<site>" like
//    the builder's "h.<l>.<site>.tau" / ".mean" parameters.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TEST_REFERENCE_REFERENCE_H
#define CIRC_TEST_REFERENCE_REFERENCE_H

#include "circ_runtime/ModelConfig.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace circ::reference {

using Tensor = std::vector<double>;
/// Parameter name -> values (row-major).
using Params = std::map<std::string, Tensor>;

/// torch.nn.RMSNorm's default epsilon for fp32: FLT_EPSILON.
constexpr double kRmsNormEps = 1.1920928955078125e-07;

//===----------------------------------------------------------------------===//
// Model inputs
//===----------------------------------------------------------------------===//

/// The pruning gate of one node location.
struct Gate {
  Tensor tau;  ///< [W] thresholds; the node is kept when tau >= 0
  Tensor mean; ///< [W] ablation values (pretraining means, or zeros)
  /// [W] or empty. When set, m = relaxed instead of H(tau): a continuous
  /// mask, so that finite differences can measure dL/dm, which the
  /// surrogate gradient of tau multiplies.
  Tensor relaxed;

  double maskAt(int64_t i) const {
    return relaxed.empty() ? (tau[i] >= 0.0 ? 1.0 : 0.0) : relaxed[i];
  }
};

struct Gates {
  /// "h.<l>.<site>" -> gate; sites without an entry are not gated.
  std::map<std::string, Gate> sites;
  double temperature = 1.0;
};

/// "h.<layer>.<site>", e.g. "h.0.attn_q".
std::string nodeName(int64_t layer, NodeLocation loc);

/// Random parameters with every entry nonzero and every kind exercised:
/// matrices and embeddings N(0, `scale`), gains 1 + N(0, 0.1), biases,
/// sink, positional and bigram tables N(0, 0.1). Deterministic in `seed`.
Params randomParams(const ModelConfig &config, uint64_t seed,
                    double scale = 0.5);

/// Projects the sparse parameters onto their final budgets by sorting
/// (paper §2.1): block matrices and wpe at config.weightDensity, wte and
/// lm_head at config.embedDensity, min-per-unit on ParamSpec::unitAxis,
/// ties to the lower flat index. Returns the kept count per parameter.
std::map<std::string, int64_t> sparsify(const ModelConfig &config,
                                        Params &params);

/// Random gates at every node location: tau uniform in [-1, 1] (so some
/// nodes are pruned) and mean N(0, 0.3).
Gates randomGates(const ModelConfig &config, uint64_t seed);

//===----------------------------------------------------------------------===//
// Forward and backward
//===----------------------------------------------------------------------===//

/// One node's forward state: its input, which entries AbsTopK kept, and its
/// output (after the gate, if any).
struct NodeState {
  Tensor in, out;
  std::vector<char> kept;
  int64_t width = 0;
};

/// Everything a layer's backward needs.
struct LayerState {
  Tensor xIn, rms1, norm1;   // residual in, RMSNorm_1 (rms per row)
  NodeState attnIn, q, k, v; //
  Tensor probs;              // [B, H, T, T] attention weights (j <= i)
  Tensor sinkProb;           // [B, H, T] weight of the sink slot
  Tensor y;                  // attention output [N, H*dh]
  NodeState attnOut;         //
  Tensor xMid, rms2, norm2;  // residual after attention, RMSNorm_2
  NodeState mlpIn;           //
  Tensor fc;                 // c_fc pre-activation [N, d_mlp]
  NodeState neuron, mlpOut;  //
};

struct ForwardResult {
  int64_t batch = 0, seqLen = 0;
  std::vector<int64_t> tokens;
  Tensor logits; ///< [B, T, V]
  /// Node outputs by nodeName(), [B*T, W] each: what a JIT's hooks report.
  std::map<std::string, Tensor> nodes;
  // Saved for backward.
  Tensor embedded;
  std::vector<LayerState> layers;
  Tensor xFinal, rmsF, normF;
};

/// The model on `tokens` ([batch, seqLen], ids < vocab, seqLen <= ctx).
/// `gates` may be null (no pruning gates).
ForwardResult forward(const ModelConfig &config, const Params &params,
                      const std::vector<int64_t> &tokens, int64_t batch,
                      int64_t seqLen, const Gates *gates = nullptr);

struct Gradients {
  Params params;                      ///< every parameter, dense
  std::map<std::string, Tensor> tau;  ///< per gated node (surrogate)
  std::map<std::string, Tensor> mean; ///< per gated node
};

/// Reverse mode of `forward` for the loss whose gradient w.r.t. the logits
/// is `dLogits` ([B, T, V]).
Gradients backward(const ModelConfig &config, const Params &params,
                   const ForwardResult &fwd, const Tensor &dLogits,
                   const Gates *gates = nullptr);

//===----------------------------------------------------------------------===//
// Losses (each returns the loss and, if dLogits is non-null, its gradient)
//===----------------------------------------------------------------------===//

/// targets[n] = tokens[n + 1] within each sequence, -1 at the last position
/// (the paper's loss covers positions 0 .. T-2).
std::vector<int64_t> nextTokenTargets(const std::vector<int64_t> &tokens,
                                      int64_t batch, int64_t seqLen);

/// Mean over positions with target >= 0 of -log softmax(logits[n])[target].
double crossEntropy(const Tensor &logits, int64_t vocab,
                    const std::vector<int64_t> &targets, Tensor *dLogits);

/// One prompt of a binary task: at (row, position) the model should prefer
/// token `correct` over `wrong`.
struct ContrastPrompt {
  int64_t row, position, correct, wrong;
};

/// Paper §4: per prompt, -log of the two-way softmax of
/// [logit(correct), logit(wrong)]; mean over prompts.
double contrastLoss(const Tensor &logits, int64_t seqLen, int64_t vocab,
                    const std::vector<ContrastPrompt> &prompts,
                    Tensor *dLogits);

//===----------------------------------------------------------------------===//
// Single operations (exposed so tests can check them by hand)
//===----------------------------------------------------------------------===//

/// y = x W^T + b over rows; b may be empty.
Tensor linear(const Tensor &x, int64_t rows, const Tensor &w, int64_t out,
              int64_t in, const Tensor &b);
/// RMSNorm per row; writes each row's rms to `rms` if non-null.
Tensor rmsNorm(const Tensor &x, int64_t rows, int64_t width, const Tensor &gain,
               Tensor *rms = nullptr);
/// AbsTopK per row; writes the kept mask to `kept` if non-null.
Tensor absTopK(const Tensor &x, int64_t rows, int64_t width, int64_t k,
               std::vector<char> *kept = nullptr);
double gelu(double x);     ///< exact: x Phi(x)
double geluGrad(double x); ///< Phi(x) + x phi(x)
/// Causal attention of q, k, v ([B*T, H*dh]) with an optional sink ([H],
/// empty for none). Writes probabilities [B, H, T, T] and sink weights
/// [B, H, T] if the pointers are non-null.
Tensor attention(const Tensor &q, const Tensor &k, const Tensor &v,
                 int64_t batch, int64_t seqLen, int64_t heads, int64_t dHead,
                 const Tensor &sink, Tensor *probs = nullptr,
                 Tensor *sinkProb = nullptr);
/// The gate's forward on rows of width W.
Tensor applyGate(const Tensor &x, int64_t rows, int64_t width,
                 const Gate &gate);
/// dm/dtau of the surrogate at temperature T.
double gateSurrogate(double tau, double temperature);

} // namespace circ::reference

#endif // CIRC_TEST_REFERENCE_REFERENCE_H
