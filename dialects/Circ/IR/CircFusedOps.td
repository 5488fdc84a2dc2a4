//===- CircFusedOps.td - circ fused operations -------------*- tablegen -*-===//
//
// Operations that only the circ-level rewrites before lowering create
// (circ-fold-rmsnorm-gain, circ-fuse-projection-epilogue): one kernel where
// the model is written as several ops. They run after circ-differentiate
// and are deliberately not differentiable. Included from CircOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_IR_CIRCFUSEDOPS_TD
#define CIRC_DIALECTS_CIRC_IR_CIRCFUSEDOPS_TD

include "dialects/Circ/IR/CircBase.td"
include "dialects/Circ/IR/CircAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Circ_FusedProjOp : Circ_Op<"fused_proj",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "projection with a folded input scale and a fused epilogue";
  let description = [{
    A `circ.proj` whose prologue and epilogue run in the projection's kernel,
    so the pre-activation is never written to memory and read back:

    ```
    z[..., n] = Σ_k input[..., k] · scale[k] · weight[n, k] + bias[n]
    z         = gelu(z)                    if `gelu`
    z         = abs_topk(z, k)             if `k` (ties to the lower index)
    z[..., n] = tau[n] ≥ 0 ? z[..., n] : (mean[n] or 0)   if `gate`
    ```

    Every part but the product is optional; each has exactly the forward
    semantics of the op it replaces (`circ.rmsnorm`'s gain, `circ.gelu`,
    `circ.abs_topk`, `circ.mask_gate`), in this order. `scale` is an
    RMSNorm gain folded into the weight: the kernel multiplies the weight's
    nonzeros by it once per call, O(nnz), instead of the normalisation
    multiplying every activation. `site` and `layer` keep the node location
    of the absorbed `abs_topk`/`mask_gate` for provenance.

    Why an op of its own rather than epilogue attributes on `circ.proj`:
    `circ.proj` is what the builder, `circ-differentiate`, pruning and the
    circuit tools read; it stays the one simple projection they match on.
    The fused form exists only between the fusion passes and
    `convert-circ-to-loops`, after differentiation, and has no gradient
    rule: `circ-differentiate` rejects it (`cannot differentiate
    'circ.fused_proj'`). The fusion passes only absorb intermediates that
    have no other use, so a backward that needs one keeps it unfused.

    | operand | type |
    |---|---|
    | input | `tensor<... x K x f32>` |
    | weight | `tensor<N x K x f32>`, optionally `#circ.sparsity` encoded |
    | bias (optional) | `tensor<N x f32>` |
    | scale (optional) | `tensor<K x f32>` |
    | gate (optional) | `tensor<N x f32>`: the thresholds `tau` |
    | mean (optional, only with gate) | `tensor<N x f32>`: mean ablation; zero ablation without it |
    | result | `tensor<... x N x f32>` |

    | attribute | constraint |
    |---|---|
    | gelu | unit attribute |
    | k | 1 ≤ k ≤ N |

    Example: `mlp.c_fc` of layer 0 with GELU, AbsTopK and a mean-ablation
    gate at `mlp_neuron`:

    ```mlir
    %h = circ.fused_proj %x, %w bias(%b : tensor<512xf32>)
           gate(%tau : tensor<512xf32>) mean(%mu : tensor<512xf32>)
           {gelu, k = 128 : i64, layer = 0 : i64, site = #circ.site<mlp_neuron>}
           : tensor<4x64x128xf32>, tensor<512x128xf32> -> tensor<4x64x512xf32>
    ```
  }];
  let arguments = (ins Circ_F32Tensor:$input, Circ_F32Tensor:$weight,
                       Optional<Circ_F32Tensor>:$bias,
                       Optional<Circ_F32Tensor>:$scale,
                       Optional<Circ_F32Tensor>:$tau,
                       Optional<Circ_F32Tensor>:$mean,
                       UnitAttr:$gelu,
                       OptionalAttr<I64Attr>:$k,
                       OptionalAttr<Circ_NodeLocationAttr>:$site,
                       OptionalAttr<I64Attr>:$layer);
  let results = (outs Circ_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`scale` `(` $scale^ `:` type($scale) `)`)?
    (`gate` `(` $tau^ `:` type($tau) `)`)?
    (`mean` `(` $mean^ `:` type($mean) `)`)?
    attr-dict `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // CIRC_DIALECTS_CIRC_IR_CIRCFUSEDOPS_TD
