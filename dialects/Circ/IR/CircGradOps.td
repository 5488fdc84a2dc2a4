//===- CircGradOps.td - circ gradient operations -----------*- tablegen -*-===//
//
// The backward counterparts of the circ operations, built by the ops'
// `CircDifferentiableOpInterface` rules and `circ-differentiate`. Each op
// takes the gradient of the forward result (`grad`) and the forward values it
// needs; it recomputes anything else (norms, selections, softmax statistics)
// instead of expecting it saved. Included from CircOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_IR_CIRCGRADOPS_TD
#define CIRC_DIALECTS_CIRC_IR_CIRCGRADOPS_TD

include "dialects/Circ/IR/CircBase.td"
include "dialects/Circ/IR/CircAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

def Circ_EmbedGradOp : Circ_Op<"embed_grad", [Pure]> {
  let summary = "gradient of a table lookup (embed, bigram): scatter-add rows";
  let description = [{
    The gradient of `circ.embed` and `circ.bigram` with respect to the table:
    every row of `grad` is added into the table row its token selected,
    `result[v, :] = Σ_{(b, t) : ids[b, t] = v} grad[b, t, :]`. Rows no token
    selected are zero. The result is dense even when the table is sparse
    (gradients and Adam moments stay dense so pruned weights can regrow).
    Ids outside `[0, V)` contribute nothing.

    | operand | type |
    |---|---|
    | grad | `tensor<B x T x D x f32>` |
    | ids | `tensor<B x T x i32>` |
    | result | `tensor<V x D x f32>` (dense) |

    Example:

    ```mlir
    %dwte = circ.embed_grad %dx, %ids : tensor<4x64x128xf32>, tensor<4x64xi32> -> tensor<2048x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_I32Tensor:$ids);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $grad `,` $ids attr-dict `:` type($grad) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Circ_AddPositionsGradOp : Circ_Op<"add_positions_grad", [Pure]> {
  let summary = "gradient of circ.add_positions with respect to the table";
  let description = [{
    Sums the gradient over the batch into the rows of the positional table
    that the forward pass read: `result[t, :] = Σ_b grad[b, t, :]` for
    `t < T`, and zero for the rows `T ≤ t < C` no position used. (The
    gradient with respect to the input is `grad` itself.)

    | operand | type |
    |---|---|
    | grad | `tensor<B x T x D x f32>` |
    | result | `tensor<C x D x f32>`, `T ≤ C` |

    Example:

    ```mlir
    %dwpe = circ.add_positions_grad %dx : tensor<4x64x128xf32> -> tensor<256x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $grad attr-dict `:` type($grad) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Projections and normalisation
//===----------------------------------------------------------------------===//

def Circ_ProjGradInputOp : Circ_Op<"proj_grad_input", [Pure]> {
  let summary = "gradient of circ.proj with respect to its input";
  let description = [{
    `result[..., k] = Σ_n grad[..., n] · weight[n, k]`, i.e. `grad · weight`
    for a weight stored `[out, in]`. When the weight carries a
    `#circ.sparsity` encoding the kernels run on its sparse index, as the
    forward projection does (the transposed product visits the same
    nonzeros).

    | operand | type |
    |---|---|
    | grad | `tensor<... x N x f32>` |
    | weight | `tensor<N x K x f32>`, optionally `#circ.sparsity` encoded |
    | result | `tensor<... x K x f32>` (leading dimensions of grad) |

    Example:

    ```mlir
    %dx = circ.proj_grad_input %dy, %w : tensor<4x64x512xf32>, tensor<512x128xf32> -> tensor<4x64x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_F32Tensor:$weight);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $grad `,` $weight attr-dict `:` type($grad) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Circ_ProjGradWeightOp : Circ_Op<"proj_grad_weight", [Pure]> {
  let summary = "gradient of circ.proj with respect to its weight (dense)";
  let description = [{
    `result[n, k] = Σ_r grad[r, n] · input[r, k]` over every leading index
    `r` (all tokens of the batch), i.e. `gradᵀ · input`. The result is dense:
    training keeps dense weight gradients so that pruned weights can regrow.

    Activation sparsity makes most terms zero: the input of a projection that
    follows an AbsTopK site has 1/4 of its entries nonzero per row, and so
    does the gradient of a projection whose output feeds one. The unit
    attributes `sparse_input` and `sparse_grad` record what
    `circ-differentiate` proved about the operands; kernels use them to
    choose a layout (compacting the nonzeros of each row and skipping zero
    terms) instead of a dense product. They never change the result.

    | operand | type |
    |---|---|
    | grad | `tensor<... x N x f32>` |
    | input | `tensor<... x K x f32>` (same leading dimensions) |
    | result | `tensor<N x K x f32>` (dense, no encoding) |

    | attribute | meaning |
    |---|---|
    | sparse_input | rows of `input` are mostly zero (input follows an AbsTopK site) |
    | sparse_grad | rows of `grad` are mostly zero (the output feeds an AbsTopK site) |

    Example:

    ```mlir
    %dw = circ.proj_grad_weight %dy, %x {sparse_grad, sparse_input} : tensor<4x64x512xf32>, tensor<4x64x128xf32> -> tensor<512x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_F32Tensor:$input,
                       UnitAttr:$sparse_input, UnitAttr:$sparse_grad);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $grad `,` $input attr-dict `:` type($grad) `,` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Circ_ProjGradBiasOp : Circ_Op<"proj_grad_bias", [Pure]> {
  let summary = "gradient of circ.proj with respect to its bias";
  let description = [{
    Sums the gradient over every leading index: `result[n] = Σ_r grad[r, n]`.

    | operand | type |
    |---|---|
    | grad | `tensor<... x N x f32>` |
    | result | `tensor<N x f32>` |

    Example:

    ```mlir
    %db = circ.proj_grad_bias %dy : tensor<4x64x512xf32> -> tensor<512xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $grad attr-dict `:` type($grad) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Circ_RMSNormGradOp : Circ_Op<"rmsnorm_grad",
    [Pure, AllTypesMatch<["grad", "input", "input_grad"]>,
     AllTypesMatch<["gain", "gain_grad"]>]> {
  let summary = "gradient of circ.rmsnorm with respect to input and gain";
  let description = [{
    With `r = sqrt(mean(x²) + epsilon)` recomputed per row of the forward
    input `x` (width `D`) and `g = grad`:

    - `input_grad = gain · g / r − x · Σ_d(gain_d · g_d · x_d) / (D · r³)`
    - `gain_grad[d] = Σ_rows g_d · x_d / r`

    `epsilon` must be the forward op's.

    | operand | type |
    |---|---|
    | grad, input | `tensor<... x D x f32>` |
    | gain | `tensor<D x f32>` |
    | input_grad | same as input |
    | gain_grad | same as gain |

    Example:

    ```mlir
    %dx, %dg = circ.rmsnorm_grad %dy, %x, %g : tensor<4x64x128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_F32Tensor:$input,
                       Circ_F32Tensor:$gain,
                       DefaultValuedAttr<F64Attr, "1.1920928955078125e-07">:$epsilon);
  let results = (outs Circ_F32Tensor:$input_grad, Circ_F32Tensor:$gain_grad);
  let assemblyFormat = [{
    $grad `,` $input `,` $gain attr-dict `:` type($input) `,` type($gain)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

def Circ_AbsTopKGradOp : Circ_Op<"abs_topk_grad",
    [Pure, SameOperandsAndResultType]> {
  let summary = "gradient of circ.abs_topk: pass through the kept entries";
  let description = [{
    Routes the gradient to the `k` entries of each row that the forward
    AbsTopK kept and zeroes the rest: `result = grad` on kept entries, 0
    elsewhere. The kept set is recovered from the forward *output* alone, in
    one pass per row and without a second selection:

    - if the row of `output` has `m = k` nonzeros, they are the kept entries;
    - if it has `m < k` nonzeros, the forward input had only `m` nonzeros, all
      kept, and the selection filled up with the `k − m` zero entries of
      lowest index (ties go to the lower index). Those kept exact zeros
      receive the gradient too: their derivative is 1, and reading only the
      nonzero pattern would silently drop them.

    `k` must be the forward op's `k`.

    | operand | type |
    |---|---|
    | grad, output | `tensor<... x W x f32>` |
    | result | same |

    | attribute | constraint |
    |---|---|
    | k | 1 ≤ k ≤ W |

    Example:

    ```mlir
    %dx = circ.abs_topk_grad %dy, %y {k = 32 : i64} : tensor<4x64x128xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_F32Tensor:$output,
                       I64Attr:$k);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = "$grad `,` $output attr-dict `:` type($grad)";
  let hasVerifier = 1;
}

def Circ_GeluGradOp : Circ_Op<"gelu_grad", [Pure, SameOperandsAndResultType]> {
  let summary = "gradient of circ.gelu (exact erf form)";
  let description = [{
    `result = grad · (Φ(x) + x · φ(x))` elementwise, with `Φ` the standard
    normal CDF `0.5 · (1 + erf(x / √2))` and `φ` its density
    `exp(−x²/2) / √(2π)`, recomputed from the forward input `x`.

    | operand | type |
    |---|---|
    | grad, input | `tensor<...xf32>` |
    | result | same |

    Example:

    ```mlir
    %dx = circ.gelu_grad %dy, %x : tensor<2x16x1024xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_F32Tensor:$input);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = "$grad `,` $input attr-dict `:` type($grad)";
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Circ_AttentionGradOp : Circ_Op<"attention_grad",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>,
     AllTypesMatch<["grad", "query", "key", "value", "output"]>]> {
  let summary = "gradient of causal attention with sink, recompute-based";
  let description = [{
    The gradient of `circ.attention` with respect to `q`, `k`, `v` and the
    sink logits, flash-attention style: per query row `i` of each head it
    recomputes the softmax statistics (max and normaliser, including
    `exp(sink[h])`) from `q` and `k`, never holding a `T × T` matrix, and
    takes `D_i = grad_i · output_i` from the forward output. With
    `a_ij` the attention weights, `s = 1/sqrt(d_head)` and
    `dS_ij = a_ij · (grad_i · v_j − D_i)`:

    - `query_grad_i = s · Σ_{j ≤ i} dS_ij · k_j`
    - `key_grad_j   = s · Σ_{i ≥ j} dS_ij · q_i`
    - `value_grad_j = Σ_{i ≥ j} a_ij · grad_i`
    - `sink_grad[h] = − Σ_{b, i} a_sink,i · D_i`, with
      `a_sink,i = exp(sink[h]) / (exp(sink[h]) + Σ_{j ≤ i} exp(s_ij))`
      (present exactly when `sink` is).

    | operand | type |
    |---|---|
    | grad, q, k, v, output | `tensor<B x T x W x f32>` |
    | sink (optional) | `tensor<num_heads x f32>` |
    | query_grad, key_grad, value_grad | `tensor<B x T x W x f32>` |
    | sink_grad (with sink) | `tensor<num_heads x f32>` |

    Example:

    ```mlir
    %dq, %dk, %dv, %ds = circ.attention_grad %dy, %q, %k, %v, %y, %sink {num_heads = 8 : i64} : tensor<4x64x128xf32>, tensor<8xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_F32Tensor:$query,
                       Circ_F32Tensor:$key, Circ_F32Tensor:$value,
                       Circ_F32Tensor:$output, Optional<Circ_F32Tensor>:$sink,
                       I64Attr:$num_heads);
  let results = (outs Circ_F32Tensor:$query_grad, Circ_F32Tensor:$key_grad,
                      Circ_F32Tensor:$value_grad,
                      Optional<Circ_F32Tensor>:$sink_grad);
  let assemblyFormat = [{
    $grad `,` $query `,` $key `,` $value `,` $output (`,` $sink^)? attr-dict
    `:` type($query) (`,` type($sink)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getHeadDim();
  }];
}

//===----------------------------------------------------------------------===//
// Pruning
//===----------------------------------------------------------------------===//

def Circ_MaskGateGradOp : Circ_Op<"mask_gate_grad",
    [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>,
     AllTypesMatch<["grad", "input"]>]> {
  let summary = "gradient of circ.mask_gate with the sigmoid surrogate";
  let description = [{
    With `m_i = H(tau[i])`, `ablated_i` the mean (or 0 for zero ablation),
    `T = temperature` and the straight-through surrogate
    `σ'_i = σ(tau[i]/T) · (1 − σ(tau[i]/T)) / T` in place of `∂m_i/∂tau[i]`:

    - `input_grad[..., i] = m_i · grad[..., i]`
    - `tau_grad[i] = σ'_i · Σ_rows grad[..., i] · (input[..., i] − ablated_i)`
    - `mean_grad[i] = (1 − m_i) · Σ_rows grad[..., i]` (present exactly when
      `mean` is).

    `ablation` and `temperature` must be the forward op's.

    | operand | type |
    |---|---|
    | grad, input | `tensor<... x W x f32>` |
    | tau | `tensor<W x f32>` |
    | mean | `tensor<W x f32>`, present exactly when `ablation = mean` |
    | input_grad | same as input |
    | tau_grad | `tensor<W x f32>` |
    | mean_grad (with mean) | `tensor<W x f32>` |

    Example:

    ```mlir
    %dx, %dtau, %dmu = circ.mask_gate_grad %dy, %x, %tau, %mu {ablation = #circ.ablation<mean>} : tensor<4x64x512xf32>, tensor<512xf32>, tensor<512xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$grad, Circ_F32Tensor:$input,
                       Circ_F32Tensor:$tau, Optional<Circ_F32Tensor>:$mean,
                       Circ_AblationAttr:$ablation,
                       DefaultValuedAttr<F64Attr, "1.0">:$temperature);
  let results = (outs Circ_F32Tensor:$input_grad, Circ_F32Tensor:$tau_grad,
                      Optional<Circ_F32Tensor>:$mean_grad);
  let assemblyFormat = [{
    $grad `,` $input `,` $tau (`,` $mean^)? attr-dict `:` type($input) `,`
    type($tau) (`,` type($mean)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def Circ_NextTokenLossGradOp : Circ_Op<"next_token_loss_grad",
    [Pure, AllTypesMatch<["logits", "result"]>]> {
  let summary = "gradient of the mean next-token cross-entropy";
  let description = [{
    `result[b, t, v] = grad · (softmax(logits[b, t, :])[v] − [v = targets[b, t]]) / N`,
    with the softmax recomputed from the logits (`grad` is the scalar
    gradient of the loss, 1 for a training step). A position whose target
    lies outside `[0, V)` (e.g. -1 where a sequence has no next token) is not
    part of the loss: its row is zero, and `N` counts the other positions
    (`B · T` when every target is a token).

    | operand | type |
    |---|---|
    | grad | `tensor<f32>` |
    | logits | `tensor<B x T x V x f32>` |
    | targets | `tensor<B x T x i32>` |
    | result | same as logits |

    Example:

    ```mlir
    %dl = circ.next_token_loss_grad %one, %logits, %targets : tensor<4x64x2048xf32>, tensor<4x64xi32>
    ```
  }];
  let arguments = (ins Circ_ScalarF32:$grad, Circ_F32Tensor:$logits,
                       Circ_I32Tensor:$targets);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $grad `,` $logits `,` $targets attr-dict `:` type($logits) `,` type($targets)
  }];
  let hasVerifier = 1;
}

def Circ_ContrastLossGradOp : Circ_Op<"contrast_loss_grad",
    [Pure, AllTypesMatch<["logits", "result"]>,
     AllTypesMatch<["positions", "correct", "wrong"]>]> {
  let summary = "gradient of the two-token contrast loss";
  let description = [{
    Nonzero only at the two candidate logits of every prompt's position:
    with `p_b = σ(logits[b, pos_b, correct_b] − logits[b, pos_b, wrong_b])`,
    `result[b, pos_b, correct_b] += −grad · (1 − p_b) / B` and
    `result[b, pos_b, wrong_b] += grad · (1 − p_b) / B` (the two add up to
    zero when `correct_b = wrong_b`, where the loss is the constant log 2).
    Every other entry is zero.

    | operand | type |
    |---|---|
    | grad | `tensor<f32>` |
    | logits | `tensor<B x T x V x f32>` |
    | positions, correct, wrong | `tensor<B x i32>` |
    | result | same as logits |

    Example:

    ```mlir
    %dl = circ.contrast_loss_grad %one, %logits, %pos, %yes, %no : tensor<8x32x2048xf32>, tensor<8xi32>
    ```
  }];
  let arguments = (ins Circ_ScalarF32:$grad, Circ_F32Tensor:$logits,
                       Circ_I32Tensor:$positions, Circ_I32Tensor:$correct,
                       Circ_I32Tensor:$wrong);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $grad `,` $logits `,` $positions `,` $correct `,` $wrong attr-dict `:`
    type($logits) `,` type($positions)
  }];
  let hasVerifier = 1;
}

#endif // CIRC_DIALECTS_CIRC_IR_CIRCGRADOPS_TD
