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

#endif // CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_TD
