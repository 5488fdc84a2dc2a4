//===- ModelBuilder.h - C++ builder API for circ models ---------*- C++ -*-===//
//
// The embedded DSL: builds a weight-sparse GPT-2-style model (Gao et al.
// 2025, §1.1) as a verified `circ` module from a `::circ::ModelConfig`.
//
// Two levels:
//  * `buildModel(ctx, config, options)` builds the whole module: the
//    `@forward(tokens, params...) -> logits` function (optionally also
//    `@loss(tokens, targets, params...) -> tensor<f32>`, the task loss
//    `@task_loss(tokens, positions, correct, wrong, params...) -> tensor<f32>`
//    and `@activations(tokens, params...)` returning every node's output),
//    records the config
//    as the `circ.model` module attribute and verifies the result. Bad
//    configurations are reported as MLIR errors and yield failure.
//  * `ModelBuilder` / `LayerBuilder`: one method per step of the paper's
//    dataflow (`embedTokens`, `rmsnorm`, `proj`, `absTopK`, `attention`,
//    `attentionBlock`, `mlpBlock`, `residual`, `unembed`, ...). `buildModel`
//    is written with them; researchers use them to build variants.
//
// Function layout (every function built here):
//   arguments: tokens `tensor<B x T x i32>`; targets `tensor<B x T x i32>`
//   (@loss only) or positions, correct, wrong `tensor<B x i32>` (@task_loss
//   only); every parameter of `::circ::modelParameters()` in
//   that order; with mask gates, then `h.<l>.<site>.tau` and
//   `h.<l>.<site>.mean` (`tensor<W x f32>`) for every layer l and each of the
//   eight node locations in `attn_in … mlp_out` order
//   (`maskGateParameters()`). Each argument after the tokens/targets carries
//   `{circ.param = "<name>"}`. B is dynamic (`?`) when options.batch is 0.
//   Sparse parameters (density < 1) carry `#circ.sparsity`: block matrices
//   the weight density with `min_per_unit` along ParamSpec::unitAxis, wte and
//   lm_head the embedding density, wpe the weight density (axis none, min 0
//   for both); layout csr (a later pass chooses layouts).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_BUILDER_MODELBUILDER_H
#define CIRC_BUILDER_MODELBUILDER_H

#include "circ_runtime/ModelConfig.h"
#include "dialects/Circ/IR/CircOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::circ {

struct ModelBuildOptions {
  std::string funcName = "forward";
  int64_t batch = 0;      ///< 0 → dynamic batch dimension
  int64_t seqLen = 0;     ///< 0 → config.ctx
  bool withLoss = false;  ///< also emit @loss(tokens, targets, params...)
  bool withMaskGates = false; ///< circ.mask_gate at every node location
  /// Also emit @task_loss(tokens, positions, correct, wrong, params...) ->
  /// tensor<f32>: circ.contrast_loss of the forward pass's logits, the mean
  /// per-prompt binary cross-entropy of a pruning task (paper §4).
  bool withTaskLoss = false;
  /// Also emit @activations(tokens, params...): the output of every node
  /// location (after AbsTopK and, with mask gates, after the gate), one
  /// `tensor<B x T x W x f32>` per (layer, location) in maskGateParameters
  /// order; the unembedding is not computed.
  bool withActivations = false;
  /// Where diagnostics and ops point. Keys: "model" (module, functions,
  /// embeddings, unembedding, loss), "layers" (ops inside blocks), "d_model",
  /// "d_head", "d_mlp", "ctx", "vocab", "activations" (AbsTopK fraction and
  /// sites), "weights" (weight density), "min_per_unit", "embeddings"
  /// (embedding density), "positional" (the add_positions op), "bigram"
  /// (the bigram op), "batch", "seq_len", "function" (function names).
  /// Unset → `loc("<key>")`.
  std::function<Location(llvm::StringRef what)> locationFor;

  /// `locationFor(key)`, or `loc("<key>")` when unset.
  Location locate(MLIRContext *ctx, llvm::StringRef key) const;
};

/// Builds the verified model module described above. Errors (invalid config
/// or options, verifier failures) are emitted through `ctx`'s diagnostic
/// engine at `options.locationFor(<key>)`.
FailureOr<OwningOpRef<ModuleOp>> buildModel(MLIRContext &ctx,
                                            const ::circ::ModelConfig &config,
                                            const ModelBuildOptions &options);

/// Checks `config` (everything `ModelConfig::validate()` reports, plus i32
/// token ids) and `options` (batch, seq_len ≤ ctx, function names); emits one
/// error per problem at the matching key's location.
LogicalResult verifyModelConfig(MLIRContext &ctx,
                                const ::circ::ModelConfig &config,
                                const ModelBuildOptions &options);

//===----------------------------------------------------------------------===//
// The config as IR
//===----------------------------------------------------------------------===//

/// The `circ.model` dictionary: layers, d_model, d_head, d_mlp, ctx, vocab
/// (i64), activation_fraction, weight_density, embed_density (f64),
/// abstopk_sites (array of #circ.site), min_per_unit (i64), attention_sink,
/// bigram_table, positional_table (bool).
DictionaryAttr getModelConfigAttr(MLIRContext *ctx,
                                  const ::circ::ModelConfig &config);

/// Recovers the config from a module's `circ.model` attribute; emits an error
/// at the module's location when it is missing, malformed or invalid.
FailureOr<::circ::ModelConfig> readModelConfig(ModuleOp module);

/// The `#circ.sparsity` encoding of a parameter, or null when it is dense
/// (not sparse, or density 1).
SparsityAttr getParamSparsity(MLIRContext *ctx,
                              const ::circ::ModelConfig &config,
                              const ::circ::ParamSpec &param);

/// `tensor<shape x f32[, #circ.sparsity]>` of a parameter.
RankedTensorType getParamType(MLIRContext *ctx,
                              const ::circ::ModelConfig &config,
                              const ::circ::ParamSpec &param);

/// Runtime ↔ dialect spelling of a node location.
NodeLocation toSite(::circ::NodeLocation loc);
::circ::NodeLocation fromSite(NodeLocation site);

/// One mask gate's parameters: thresholds and ablation means of the `width`
/// channels at (layer, site).
struct MaskGateParam {
  std::string tauName;  ///< "h.<l>.<site>.tau"
  std::string meanName; ///< "h.<l>.<site>.mean"
  int64_t layer;
  ::circ::NodeLocation site;
  int64_t width;
};

/// Every mask gate of the model, in argument order (layer-major, node
/// locations in enum order).
std::vector<MaskGateParam>
maskGateParameters(const ::circ::ModelConfig &config);

//===----------------------------------------------------------------------===//
// The DSL
//===----------------------------------------------------------------------===//

class LayerBuilder;

/// A non-parameter integer input of a model function, after the tokens.
struct FunctionInput {
  enum class Shape : uint8_t {
    Tokens,      ///< `tensor<B x T x i32>`, e.g. next-token targets
    PerSequence, ///< `tensor<B x i32>`, e.g. a prompt's last position
  };
  std::string name;
  Shape shape;
};

/// One node location's output inside a function under construction.
struct NodeValue {
  int64_t layer;
  ::circ::NodeLocation site;
  Value value;
};

/// One model function under construction: creates `func.func @name` at the
/// end of a module with the standard argument list and positions an
/// OpBuilder in its body. Every method creates ops and returns their result;
/// shapes are derived from the operands. Call `finish` with the results.
class ModelBuilder {
public:
  /// Validates `config`/`options` (see verifyModelConfig) and creates the
  /// function; `withTargets` adds the targets argument after the tokens.
  static FailureOr<ModelBuilder> create(ModuleOp module, StringRef funcName,
                                        const ::circ::ModelConfig &config,
                                        const ModelBuildOptions &options,
                                        bool withTargets);
  /// As above with the integer `inputs` after the tokens (in order), read
  /// back with input(name). `withTargets` is inputs = {{"targets", Tokens}}.
  static FailureOr<ModelBuilder> create(ModuleOp module, StringRef funcName,
                                        const ::circ::ModelConfig &config,
                                        const ModelBuildOptions &options,
                                        ArrayRef<FunctionInput> inputs);

  const ::circ::ModelConfig &config() const { return cfg; }
  func::FuncOp function() const { return func; }
  OpBuilder &builder() { return b; }

  // --- arguments --------------------------------------------------------

  Value tokens();
  /// The targets argument; null unless created `withTargets`.
  Value targets();
  /// The non-parameter input `name` given to create(); null when absent.
  Value input(StringRef name);
  /// The argument bound to the parameter `name` (a checkpoint name such as
  /// "h.0.attn.c_attn.weight", or a mask-gate name). Asking for a parameter
  /// the model does not have is a programming error and aborts; use
  /// lookupParam to probe.
  Value param(StringRef name);
  /// As `param`, null when absent.
  Value lookupParam(StringRef name);
  /// Appends an argument `{circ.param = name}` of `type` (for variants with
  /// extra parameters) and returns it.
  Value addParam(StringRef name, RankedTensorType type);

  // --- one op each (paper §1.1) ------------------------------------------

  Value embed(Value ids, Value table);
  Value addPositions(Value x, Value table);
  Value rmsnorm(Value x, Value gain);
  /// `x · weightᵀ (+ bias)`.
  Value proj(Value x, Value weight, Value bias = {});
  Value gelu(Value x);
  /// Causal attention with config.nHead() heads (+ per-head sink).
  Value attention(Value q, Value k, Value v, Value sink = {});
  Value residual(Value x, Value delta);
  /// AbsTopK at (site, layer) with k = config.topK(site, width); returns `x`
  /// itself when the site has no activation sparsity.
  Value absTopK(Value x, ::circ::NodeLocation site, int64_t layer);
  /// AbsTopK with an explicit k (verified against the width).
  Value absTopK(Value x, int64_t k, ::circ::NodeLocation site, int64_t layer);
  /// Mean-ablation mask gate at (site, layer).
  Value maskGate(Value x, Value tau, Value mean, ::circ::NodeLocation site,
                 int64_t layer);
  /// A node location: AbsTopK (when configured) then, with mask gates, the
  /// gate bound to "h.<layer>.<site>.tau/.mean".
  Value node(Value x, ::circ::NodeLocation site, int64_t layer);
  /// Splits the last axis into `parts` equal slices (tensor.extract_slice).
  SmallVector<Value> splitLastAxis(Value x, int64_t parts);
  Value bigram(Value ids, Value table);
  /// Elementwise sum of two logit tensors (arith.addf: circ.residual_add is
  /// reserved for the residual stream).
  Value addLogits(Value a, Value b);
  Value nextTokenLoss(Value logits, Value targets);
  /// Mean two-token contrast loss at each sequence's `positions` entry.
  Value contrastLoss(Value logits, Value positions, Value correct,
                     Value wrong);

  // --- the standard model -------------------------------------------------

  /// x = wte[tokens] (+ wpe).
  Value embedTokens();
  /// The builder for block `layer`.
  LayerBuilder layer(int64_t layer);
  /// logits = RMSNorm_f(x) · lm_headᵀ (+ bigram_table[tokens]).
  Value unembed(Value x);
  /// The whole forward pass: embedTokens, every layer's attention and MLP
  /// block, unembed. Returns the logits.
  Value forward();
  /// The outputs of every node() built so far, in build order (for
  /// forward(): layer-major, node locations in enum order).
  ArrayRef<NodeValue> nodeValues() const { return nodes; }

  /// Creates `func.return results` and sets the function's result types.
  void finish(ValueRange results);

  /// Location of op `name` under diagnostic key `key` (see
  /// ModelBuildOptions::locationFor): `loc("<name>"(<key location>))`.
  Location loc(StringRef name, StringRef key = "model");

private:
  friend class LayerBuilder;

  ModelBuilder(MLIRContext *ctx, const ::circ::ModelConfig &config,
               const ModelBuildOptions &options);

  /// While alive, ops without a parameter of their own are named
  /// "<scope>.<kind>" (e.g. "h.0.attn.attention") and located at "layers".
  struct Scope {
    Scope(ModelBuilder &m, std::string name)
        : m(m), saved(std::exchange(m.scope, std::move(name))) {}
    ~Scope() { m.scope = std::move(saved); }
    ModelBuilder &m;
    std::string saved;
  };

  /// An op is named after its parameter operand ("h.0.attn.c_attn" for
  /// "h.0.attn.c_attn.weight"), else after its kind within the scope.
  std::string opName(Value paramOperand, StringRef kind);
  Location opLoc(Value paramOperand, StringRef kind, StringRef key = "model");

  func::FuncOp func;
  ::circ::ModelConfig cfg;
  ModelBuildOptions opts;
  OpBuilder b;
  llvm::StringMap<unsigned> paramIndex; ///< circ.param name → argument index
  llvm::StringMap<unsigned> inputIndex; ///< non-parameter input → argument
  SmallVector<NodeValue> nodes;
  std::string scope;
};

/// Block `l` of a ModelBuilder: parameters by their in-block name and the
/// two sublayers of the paper.
class LayerBuilder {
public:
  LayerBuilder(ModelBuilder &model, int64_t layer) : m(model), l(layer) {}

  int64_t index() const { return l; }
  /// "h.<l>.<name>", e.g. param("attn.c_attn.weight").
  Value param(StringRef name) const;
  /// `model.node(x, site, l)`.
  Value node(Value x, ::circ::NodeLocation site);
  /// x + ATK_attn_out(c_proj(Attn(ATK_q,k,v(split(c_attn(ATK_attn_in(ln_1(x))))))))
  Value attentionBlock(Value x);
  /// x + ATK_mlp_out(c_proj(ATK_mlp_neuron(GELU(c_fc(ATK_mlp_in(ln_2(x)))))))
  Value mlpBlock(Value x);

private:
  ModelBuilder &m;
  int64_t l;
};

} // namespace mlir::circ

#endif // CIRC_BUILDER_MODELBUILDER_H
