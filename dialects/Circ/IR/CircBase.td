//===- CircBase.td - circ dialect definition ---------------*- tablegen -*-===//
//
// The `circ` dialect: weight-sparse transformer layers as MLIR operations.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_IR_CIRCBASE_TD
#define CIRC_DIALECTS_CIRC_IR_CIRCBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Circ_Dialect : Dialect {
  let name = "circ";
  let cppNamespace = "::mlir::circ";
  let summary = "Weight-sparse transformer circuits (Gao et al. 2025)";
  let description = [{
    The `circ` dialect describes the weight-sparse GPT-2-style transformers of
    Gao et al. 2025, "Weight-sparse transformers have interpretable circuits":
    token and positional embeddings, projections whose weights carry a
    `#circ.sparsity` encoding, RMSNorm, AbsTopK activation sparsity, GELU,
    causal multi-head attention with an optional per-head sink, residual adds,
    the pruning mask gates, the bigram logit table and the losses.

    Values are ranked `f32` tensors with value semantics: `[batch, seq, ...]`
    activations, token ids as `i32`. A model is a `func.func` whose arguments
    are the token ids and the parameters; each parameter argument carries its
    checkpoint name in the `circ.param` argument attribute.

    Node locations (the eight AbsTopK sites of every layer, named as in the
    paper's code) are `#circ.site<...>` attributes; they name the channels that
    pruning keeps or ablates.
  }];
  let useDefaultAttributePrinterParser = 1;
  // `circ.param` (argument attribute) and `circ.model` (module attribute).
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();

    /// Argument attribute naming the parameter (checkpoint tensor) an
    /// argument of a model function binds: `{circ.param = "wte.weight"}`.
    static constexpr ::llvm::StringLiteral kParamAttrName = "circ.param";
    /// Module attribute recording the model configuration a module was built
    /// from, as a dictionary (see the builder API).
    static constexpr ::llvm::StringLiteral kModelAttrName = "circ.model";
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

class Circ_Op<string mnemonic, list<Trait> traits = []>
    : Op<Circ_Dialect, mnemonic, traits>;

class Circ_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Circ_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // CIRC_DIALECTS_CIRC_IR_CIRCBASE_TD
