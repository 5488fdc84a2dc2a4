//===- Passes.td - circ dialect-local passes ---------------*- tablegen -*-===//
//
// Passes that rewrite `circ` operations in place. Organisation: one `def`
// per pass, one `.cpp` per pass named after it, one lit test named after the
// flag in test/Dialect/Circ/Transforms/.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_TD
#define CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def CircDifferentiate : Pass<"circ-differentiate", "::mlir::ModuleOp"> {
  let summary = "Build a training-step function (loss and parameter gradients)";
  let description = [{
    Reverse-mode differentiation of a function that returns a scalar loss
    (`tensor<f32>`, e.g. the builder's `@loss`). Adds `@<func>_grad` with the
    same arguments, returning the loss followed by the gradient of every
    differentiated parameter, in argument order. A parameter is an argument
    of float tensor type carrying `circ.param`; each gradient result carries
    `circ.grad = "<parameter name>"`. Gradients are dense, also for sparse
    weights.

    The backward pass is built from each op's
    `CircDifferentiableOpInterface` rule (see docs/autodiff.md), in reverse
    order, only for ops that both depend on a differentiated parameter and
    reach the loss. Besides circ ops it differentiates `arith.addf` on
    tensors (the logits + bigram sum) and `tensor.extract_slice` (the q|k|v
    split), whose gradient is inserted into its slot with
    `tensor.insert_slice`. Fan-out is summed with `arith.addf`. A parameter the loss does not depend on gets
    a zero gradient. Any other op on the path is rejected:
    `circ-differentiate: cannot differentiate 'xyz.op'`.

    Example: `circ-opt --circ-differentiate="func=loss params=tau.*"` builds
    `@loss_grad` returning the loss and the gradients of the pruning
    thresholds only, skipping the weight gradients entirely.
  }];
  let options = [
    Option<"funcName", "func", "std::string", /*default=*/"\"loss\"",
           "name of the function to differentiate (it must return one "
           "tensor<f32>)">,
    ListOption<"params", "params", "std::string",
               "circ.param names to differentiate with respect to (a "
               "trailing '*' matches a prefix); default: every parameter">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::circ::CircDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def CircSelectLayouts : Pass<"circ-select-layouts", "::mlir::ModuleOp"> {
  let summary = "Choose the storage layout of every sparse weight argument";
  let description = [{
    Rewrites the `layout` of the `#circ.sparsity` encoding of every rank-2
    weight argument of every function, from its density, shape, unit axis
    and uses, so the choice is visible in the IR and fixes the buffers the
    caller passes (docs/codegen.md, calling convention):

    * `dense` when the weight is only read by lookups (`circ.embed`,
      `circ.bigram`), which gather rows of the dense values, or when
      `density >= dense-threshold` (an index would not pay for itself);
    * `ell` when the weight has a unit axis and the minimum-per-unit rule
      fills the whole budget, `min_per_unit · units >= density · N · K`:
      the top-k projection then keeps exactly `min(min_per_unit, unit
      length)` entries in every unit, so ELL has no padding and its slot
      loop a fixed trip count (at density 1/64 with d_model 256, or 1/1000
      with d_model 1024, every block matrix is in this regime);
    * `csr` otherwise.

    The pass rejects a weight argument whose uses are not all `circ` ops
    (a call or a return would see its type change).
  }];
  let options = [
    Option<"denseThreshold", "dense-threshold", "double", /*default=*/"0.5",
           "density at and above which a weight stays dense">,
    Option<"allowEll", "allow-ell", "bool", /*default=*/"true",
           "choose ell where the min-per-unit rule fills the budget">
  ];
}

def CircFoldRMSNormGain
    : Pass<"circ-fold-rmsnorm-gain", "::mlir::func::FuncOp"> {
  let summary = "Fold RMSNorm gains into the weights of the projections they feed";
  let description = [{
    `proj(rmsnorm(x, g), W, b) = proj(rmsnorm(x, 1), W · diag(g), b)`: the
    gain becomes the `scale` of a `circ.fused_proj`, whose kernel multiplies
    the weight's nonzeros by it once per call (O(nnz), e.g. 4 per output
    row at the paper's densities) instead of the normalisation multiplying
    every activation (O(tokens · d_model)); the normalisation keeps a
    constant unit gain, which its kernel does not read.

    It applies to a `circ.rmsnorm` exactly when every use of its result is
    the input of a `circ.proj`, or of a `circ.fused_proj` without a `scale`,
    and its width is static. The forward value reaching each projection is
    unchanged, and nothing else reads the normalised value, so the rewrite
    preserves every result of the function, gradients included:

    * an `abs_topk` after the norm selects on `|x̂ · g|`, so a norm feeding
      one (every `attn_in`/`mlp_in` site with AbsTopK) is left alone; so is
      one feeding a `mask_gate` (mean ablation does not commute with `g`);
    * in a training step (`@loss_grad`) the weight gradient reads the
      normalised value (`circ.proj_grad_weight`), so norms whose projections'
      weights are differentiated are left alone. Where neither the weights
      nor the gain are differentiated (pruning's `@task_loss` and its
      `@task_loss_grad` with respect to the thresholds, `@forward`,
      `@loss`), the norm is folded; a `rmsnorm_grad` still reads the
      original gain, which is unchanged.

    `ln_f` before the unembedding is the typical case. With `remarks`, every
    norm left alone gets a remark saying why.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit a remark at every rmsnorm that is not folded">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::circ::CircDialect"
  ];
}

def CircFuseProjectionEpilogue
    : Pass<"circ-fuse-projection-epilogue", "::mlir::func::FuncOp"> {
  let summary = "Fuse GELU, AbsTopK and the mask gate into the projection's kernel";
  let description = [{
    Rewrites a chain `circ.proj → [circ.gelu] → [circ.abs_topk] →
    [circ.mask_gate]` (any non-empty subset of the epilogue, in this order;
    a `circ.fused_proj` made by `circ-fold-rmsnorm-gain` may start it too)
    into one `circ.fused_proj`, whose kernel computes a tile of output rows,
    applies GELU, selects the top k and gates them without writing the
    pre-activation to memory. The bias is part of every projection kernel
    already.

    **Rule.** An op joins the chain only if the value it reads, the previous
    op's result, has no other use: the fused kernel never materialises it.
    The chain stops at the first intermediate that does. A backward that
    needs an intermediate therefore keeps it: in `@loss_grad`,
    `circ.gelu_grad` reads the pre-GELU value and `circ.mask_gate_grad` the
    pre-gate value, so there only `proj → abs_topk` fuses (the AbsTopK
    gradient reads the AbsTopK output, which is the fused result). An
    `abs_topk` needs a static `k`; a `mask_gate` after an `abs_topk` must
    name the same node location (`site`, `layer`). The fused op keeps the
    node location and a fused location of all the ops it replaces.

    Runs after `circ-differentiate` (which cannot differentiate the fused
    op) and before `convert-circ-to-loops`; `circ-cpu-pipeline` runs it.
    With `remarks`, every epilogue op left unfused next to a projection gets
    a remark saying why.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit a remark at every epilogue op that is not fused">
  ];
  let dependentDialects = ["::mlir::circ::CircDialect"];
}

#endif // CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_TD
