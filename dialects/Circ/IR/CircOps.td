//===- CircOps.td - circ operations ------------------------*- tablegen -*-===//
//
// The operations of the `circ` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_IR_CIRCOPS_TD
#define CIRC_DIALECTS_CIRC_IR_CIRCOPS_TD

include "dialects/Circ/IR/CircBase.td"
include "dialects/Circ/IR/CircAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "dialects/Circ/IR/CircInterfaces.td"

def Circ_F32Tensor : RankedTensorOf<[F32]>;


def Circ_I32Tensor : RankedTensorOf<[I32]>;
def Circ_ScalarF32 : 0DTensorOf<[F32]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF32Type())">;

// Forward ops carry their gradient rule (CircDifferentiable.cpp).
def Circ_Differentiable
    : DeclareOpInterfaceMethods<Circ_DifferentiableOpInterface>;

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

def Circ_EmbedOp : Circ_Op<"embed", [Pure, Circ_Differentiable]> {
  let summary = "token embedding lookup";
  let description = [{
    Gathers one row of the (possibly sparse) embedding table per token id:
    `result[b, t, :] = table[ids[b, t], :]`.

    | operand | type |
    |---|---|
    | ids | `tensor<B x T x i32>` |
    | table | `tensor<V x D x f32>`, optionally `#circ.sparsity` encoded |
    | result | `tensor<B x T x D x f32>` |

    Example:

    ```mlir
    %x = circ.embed %ids, %wte : tensor<4x64xi32>, tensor<2048x128xf32> -> tensor<4x64x128xf32>
    ```
  }];
  let arguments = (ins Circ_I32Tensor:$ids, Circ_F32Tensor:$table);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` type($ids) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Circ_AddPositionsOp : Circ_Op<"add_positions",
    [Pure, Circ_Differentiable, AllTypesMatch<["input", "result"]>]> {
  let summary = "add the learned absolute positional table";
  let description = [{
    Adds the first `T` rows of the positional table to every sequence:
    `result[b, t, :] = input[b, t, :] + table[t, :]`. The table has one row
    per position of the context (the paper's optional `wpe`).

    | operand | type |
    |---|---|
    | input | `tensor<B x T x D x f32>` |
    | table | `tensor<C x D x f32>` with `T ≤ C` |
    | result | same as input |

    Example:

    ```mlir
    %y = circ.add_positions %x, %wpe : tensor<4x64x128xf32>, tensor<256x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$input, Circ_F32Tensor:$table);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $table attr-dict `:` type($input) `,` type($table)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Projections and normalisation
//===----------------------------------------------------------------------===//

def Circ_ProjOp : Circ_Op<"proj", [Pure, Circ_Differentiable]> {
  let summary = "sparse-weight projection with optional bias";
  let description = [{
    Computes `result[..., n] = Σ_k input[..., k] · weight[n, k] + bias[n]`,
    i.e. `input · weightᵀ + bias` with the weight stored `[out, in]` as in
    `torch.nn.Linear`. The weight's type may carry a `#circ.sparsity`
    encoding: the kernels then run on its sparse index. The unembedding is a
    projection without bias.

    | operand | type |
    |---|---|
    | input | `tensor<... x K x f32>` |
    | weight | `tensor<N x K x f32>`, optionally `#circ.sparsity` encoded |
    | bias (optional) | `tensor<N x f32>` |
    | result | `tensor<... x N x f32>` (leading dimensions of input) |

    Example:

    ```mlir
    %y = circ.proj %x, %w, %b : tensor<4x64x128xf32>,
           tensor<512x128xf32, #circ.sparsity<density = 1.562500e-02, min_per_unit = 4, axis = rows, layout = csr>>,
           tensor<512xf32> -> tensor<4x64x512xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$input, Circ_F32Tensor:$weight,
                       Optional<Circ_F32Tensor>:$bias);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The weight's sparsity encoding, or null for a dense weight.
    ::mlir::circ::SparsityAttr getSparsity();
  }];
}

def Circ_RMSNormOp : Circ_Op<"rmsnorm",
    [Pure, Circ_Differentiable, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation with a learned gain";
  let description = [{
    Normalises every feature vector by its root mean square and scales it by
    the gain: `result = input / sqrt(mean(input²) + epsilon) · gain`, over the
    last axis. RMSNorm does not subtract the mean, so zero keeps its privileged
    meaning in the residual stream. `epsilon` defaults to the f32 machine
    epsilon, PyTorch's default for `nn.RMSNorm(eps=None)`.

    | operand | type |
    |---|---|
    | input | `tensor<... x D x f32>` |
    | gain | `tensor<D x f32>` |
    | result | same as input |

    Example:

    ```mlir
    %n = circ.rmsnorm %x, %g : tensor<4x64x128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$input, Circ_F32Tensor:$gain,
                       DefaultValuedAttr<F64Attr, "1.1920928955078125e-07">:$epsilon);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $gain attr-dict `:` type($input) `,` type($gain)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

def Circ_AbsTopKOp : Circ_Op<"abs_topk",
    [Pure, Circ_Differentiable, SameOperandsAndResultType]> {
  let summary = "keep the k entries of largest magnitude along the last axis";
  let description = [{
    AbsTopK activation sparsity: along the last axis, keeps the `k` entries
    of largest `|x|` with their sign and sets the rest to zero; ties go to the
    lower index. The gradient flows only through the kept entries. Give either
    `k` or `fraction` (then `k = floor(fraction · width)`, at least 1); the
    canonical form spells `k`. `site` and `layer` name the node location
    (one of the eight of the paper) whose channels pruning keeps or ablates.

    | operand | type |
    |---|---|
    | input | `tensor<... x W x f32>` |
    | result | same as input |

    | attribute | constraint |
    |---|---|
    | k | 1 ≤ k ≤ W |
    | fraction | in (0, 1] |

    Example:

    ```mlir
    %a = circ.abs_topk %x {k = 32 : i64, layer = 0 : i64, site = #circ.site<attn_in>} : tensor<4x64x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$input,
                       OptionalAttr<I64Attr>:$k,
                       OptionalAttr<F64Attr>:$fraction,
                       OptionalAttr<Circ_NodeLocationAttr>:$site,
                       OptionalAttr<I64Attr>:$layer);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// Width of the last axis.
    int64_t getWidth();
    /// k after resolving `fraction` against the width.
    int64_t getEffectiveK();
  }];
}

def Circ_GeluOp : Circ_Op<"gelu",
    [Pure, Circ_Differentiable, SameOperandsAndResultType]> {
  let summary = "GELU activation, exact erf form";
  let description = [{
    Applies `0.5 · x · (1 + erf(x / √2))` elementwise (PyTorch's default
    `nn.GELU()`), the MLP activation of the paper's models.

    | operand | type |
    |---|---|
    | input | `tensor<...xf32>` |
    | result | same as input |

    Example:

    ```mlir
    %h = circ.gelu %x : tensor<2x16x1024xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$input);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}


//===----------------------------------------------------------------------===//
// Attention and the residual stream
//===----------------------------------------------------------------------===//

def Circ_AttentionOp : Circ_Op<"attention",
    [Pure, Circ_Differentiable,
     AllTypesMatch<["query", "key", "value", "result"]>]> {
  let summary = "causal multi-head attention with an optional per-head sink";
  let description = [{
    Splits the last axis of `q`, `k` and `v` into `num_heads` heads of
    `d_head = W / num_heads` channels and computes, per head `h`,
    `result[b, i, h] = Σ_{j ≤ i} a_ij · v[b, j, h]` with
    `a_ij = exp(s_ij) / (exp(sink[h]) + Σ_{j' ≤ i} exp(s_ij'))` and
    `s_ij = q_i · k_j / sqrt(d_head)`. Without `sink` the `exp(sink[h])` term
    is absent (ordinary softmax). A sink is a key every query sees whose value
    is zero, so a row of attention may sum to less than one.

    | operand | type |
    |---|---|
    | q, k, v | `tensor<B x T x W x f32>`, `W = num_heads · d_head` |
    | sink (optional) | `tensor<num_heads x f32>` |
    | result | `tensor<B x T x W x f32>` |

    Example:

    ```mlir
    %y = circ.attention %q, %k, %v, %sink {num_heads = 8 : i64} : tensor<4x64x128xf32>, tensor<8xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$query, Circ_F32Tensor:$key,
                       Circ_F32Tensor:$value, Optional<Circ_F32Tensor>:$sink,
                       I64Attr:$num_heads);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` $sink^)? attr-dict `:` type($query)
    (`,` type($sink)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getHeadDim();
  }];
}

def Circ_ResidualAddOp : Circ_Op<"residual_add",
    [Pure, Circ_Differentiable, Commutative, SameOperandsAndResultType]> {
  let summary = "add a sublayer's output to the residual stream";
  let description = [{
    `result = residual + delta`, elementwise. Kept as its own op (rather than
    `arith.addf`) so passes can find the residual stream: the reads and writes
    that circuits are made of.

    | operand | type |
    |---|---|
    | residual, delta | `tensor<B x T x D x f32>` |
    | result | same |

    Example:

    ```mlir
    %x1 = circ.residual_add %x0, %a : tensor<4x64x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$residual, Circ_F32Tensor:$delta);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = "$residual `,` $delta attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Pruning
//===----------------------------------------------------------------------===//

def Circ_MaskGateOp : Circ_Op<"mask_gate",
    [Pure, Circ_Differentiable, AllTypesMatch<["input", "result"]>]> {
  let summary = "per-node pruning mask with a straight-through surrogate";
  let description = [{
    The pruning gate of Gao et al. §5.2 at one node location: every channel
    `i` of the last axis has a learned threshold `tau[i]`;
    `m_i = H(tau[i])` (1 when `tau[i] ≥ 0`) and
    `result[..., i] = m_i · input[..., i] + (1 − m_i) · ablated_i`, where
    `ablated_i` is `mean[i]` (mean ablation, over pretraining data) or 0
    (`ablation = zero`). Backward, `∂m/∂tau` is replaced by the sigmoid
    derivative `σ(tau/T)(1 − σ(tau/T))/T` with `T = temperature`.

    | operand | type |
    |---|---|
    | input | `tensor<... x W x f32>` |
    | tau | `tensor<W x f32>` |
    | mean | `tensor<W x f32>`, present exactly when `ablation = mean` |
    | result | same as input |

    Example:

    ```mlir
    %g = circ.mask_gate %x, %tau, %mu {ablation = #circ.ablation<mean>, layer = 1 : i64, site = #circ.site<mlp_neuron>} : tensor<4x64x512xf32>, tensor<512xf32>, tensor<512xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$input, Circ_F32Tensor:$tau,
                       Optional<Circ_F32Tensor>:$mean,
                       Circ_AblationAttr:$ablation,
                       DefaultValuedAttr<F64Attr, "1.0">:$temperature,
                       OptionalAttr<Circ_NodeLocationAttr>:$site,
                       OptionalAttr<I64Attr>:$layer);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $tau (`,` $mean^)? attr-dict `:` type($input) `,` type($tau)
    (`,` type($mean)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Logits and losses
//===----------------------------------------------------------------------===//

def Circ_BigramOp : Circ_Op<"bigram", [Pure, Circ_Differentiable]> {
  let summary = "bigram logit table lookup";
  let description = [{
    Returns the row of the dense bigram logit table for each current token:
    `result[b, t, :] = table[ids[b, t], :]`, added to the unembedding's
    logits so sparse weights need not spend capacity on bigram statistics.

    | operand | type |
    |---|---|
    | ids | `tensor<B x T x i32>` |
    | table | `tensor<V x V x f32>` (dense) |
    | result | `tensor<B x T x V x f32>` |

    Example:

    ```mlir
    %l = circ.bigram %ids, %table : tensor<4x64xi32>, tensor<2048x2048xf32> -> tensor<4x64x2048xf32>
    ```
  }];
  let arguments = (ins Circ_I32Tensor:$ids, Circ_F32Tensor:$table);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` type($ids) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Circ_NextTokenLossOp : Circ_Op<"next_token_loss",
    [Pure, Circ_Differentiable]> {
  let summary = "mean next-token cross-entropy";
  let description = [{
    `result = mean_{b,t} −log softmax(logits[b, t, :])[targets[b, t]]`, where
    `targets` are the input tokens shifted by one (the next token at every
    position), so the loss covers positions `0 … T−1` of a `T + 1`-token
    window.

    | operand | type |
    |---|---|
    | logits | `tensor<B x T x V x f32>` |
    | targets | `tensor<B x T x i32>` |
    | result | `tensor<f32>` |

    Example:

    ```mlir
    %loss = circ.next_token_loss %logits, %targets : tensor<4x64x2048xf32>, tensor<4x64xi32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$logits, Circ_I32Tensor:$targets);
  let results = (outs Circ_ScalarF32:$result);
  let assemblyFormat = [{
    $logits `,` $targets attr-dict `:` type($logits) `,` type($targets)
  }];
  let hasVerifier = 1;
}

def Circ_ContrastLossOp : Circ_Op<"contrast_loss",
    [Pure, Circ_Differentiable,
     AllTypesMatch<["positions", "correct", "wrong"]>]> {
  let summary = "two-token contrast loss of a binary task";
  let description = [{
    The task loss of Gao et al. §4: for every prompt `b`, at its last real
    position `positions[b]`, takes the log-softmax over the two candidate
    logits `[logits[correct[b]], logits[wrong[b]]]` only and returns the mean
    over prompts of `−log p(correct)` (the per-prompt binary cross-entropy;
    the paper's stored numbers are twice this, summed over a pair).

    | operand | type |
    |---|---|
    | logits | `tensor<B x T x V x f32>` |
    | positions, correct, wrong | `tensor<B x i32>` |
    | result | `tensor<f32>` |

    Example:

    ```mlir
    %l = circ.contrast_loss %logits, %pos, %yes, %no : tensor<8x32x2048xf32>, tensor<8xi32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$logits, Circ_I32Tensor:$positions,
                       Circ_I32Tensor:$correct, Circ_I32Tensor:$wrong);
  let results = (outs Circ_ScalarF32:$result);
  let assemblyFormat = [{
    $logits `,` $positions `,` $correct `,` $wrong attr-dict `:`
    type($logits) `,` type($positions)
  }];
  let hasVerifier = 1;
}

include "dialects/Circ/IR/CircGradOps.td"
include "dialects/Circ/IR/CircFusedOps.td"

#endif // CIRC_DIALECTS_CIRC_IR_CIRCOPS_TD
