//===- CircInterfaces.td - circ op interfaces --------------*- tablegen -*-===//
//
// Interfaces that circ operations implement. `CircDifferentiableOpInterface`
// carries each forward op's gradient rule, from which `circ-differentiate`
// builds the backward pass by reverse-mode accumulation.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_IR_CIRCINTERFACES_TD
#define CIRC_DIALECTS_CIRC_IR_CIRCINTERFACES_TD

include "mlir/IR/OpBase.td"

def Circ_DifferentiableOpInterface : OpInterface<"CircDifferentiableOpInterface"> {
  let cppNamespace = "::mlir::circ";
  let description = [{
    An operation with a reverse-mode gradient rule (a vector-Jacobian
    product). Given the gradients of the loss with respect to the op's
    results, the rule builds, at the builder's insertion point, the ops that
    compute the gradients with respect to its operands, usually `circ.*_grad`
    operations that recompute what they need from the forward operands and
    results.

    `wanted[i]` says whether the caller needs the gradient of operand `i`;
    the rule may skip the work for the others (a frozen weight's dense
    gradient is the most expensive product of the backward pass).
    `operandGrads` receives one entry per operand: the gradient, with the
    operand's shape and no encoding, or a null value for an operand that was
    not wanted or has no gradient (token ids, targets, positions).
  }];
  let methods = [
    InterfaceMethod<[{
        Builds the gradients of the operands from `resultGrads` (one per
        result, never null). Fills `operandGrads` with one value per operand
        (null where not wanted or not differentiable). Fails, after emitting
        an error at the op, if the op cannot be differentiated in this form.
      }],
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGrads,
           "::llvm::ArrayRef<bool>":$wanted,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // CIRC_DIALECTS_CIRC_IR_CIRCINTERFACES_TD
