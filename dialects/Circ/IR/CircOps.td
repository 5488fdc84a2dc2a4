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

def Circ_F32Tensor : RankedTensorOf<[F32]>;

def Circ_GeluOp : Circ_Op<"gelu", [Pure, SameOperandsAndResultType]> {
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

#endif // CIRC_DIALECTS_CIRC_IR_CIRCOPS_TD
