//===- CircAttrs.td - circ attributes and enums ------------*- tablegen -*-===//
//
// The sparsity encoding carried by weight tensors, and the enums naming node
// locations, storage layouts and ablation kinds.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_IR_CIRCATTRS_TD
#define CIRC_DIALECTS_CIRC_IR_CIRCATTRS_TD

include "dialects/Circ/IR/CircBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Circ_NodeLocation : I32EnumAttr<"NodeLocation",
    "one of the eight AbsTopK node locations of a layer", [
      I32EnumAttrCase<"attn_in", 0>,
      I32EnumAttrCase<"attn_q", 1>,
      I32EnumAttrCase<"attn_k", 2>,
      I32EnumAttrCase<"attn_v", 3>,
      I32EnumAttrCase<"attn_out", 4>,
      I32EnumAttrCase<"mlp_in", 5>,
      I32EnumAttrCase<"mlp_neuron", 6>,
      I32EnumAttrCase<"mlp_out", 7>
    ]> {
  let cppNamespace = "::mlir::circ";
  let genSpecializedAttr = 0;
}

def Circ_SparseLayout : I32EnumAttr<"SparseLayout",
    "storage layout of a sparse weight's index", [
      I32EnumAttrCase<"dense", 0>,
      I32EnumAttrCase<"csr", 1>,
      I32EnumAttrCase<"ell", 2>,
      I32EnumAttrCase<"bsr", 3>
    ]> {
  let cppNamespace = "::mlir::circ";
  let genSpecializedAttr = 0;
}

def Circ_UnitAxis : I32EnumAttr<"UnitAxis",
    "axis of a weight matrix along which the minimum-nonzeros rule applies", [
      I32EnumAttrCase<"rows", 0>,
      I32EnumAttrCase<"cols", 1>,
      I32EnumAttrCase<"none", 2>
    ]> {
  let cppNamespace = "::mlir::circ";
  let genSpecializedAttr = 0;
}

def Circ_Ablation : I32EnumAttr<"Ablation",
    "value a pruned node takes", [
      I32EnumAttrCase<"mean", 0>,
      I32EnumAttrCase<"zero", 1>
    ]> {
  let cppNamespace = "::mlir::circ";
  let genSpecializedAttr = 0;
}

class Circ_EnumAttr<EnumAttrInfo info, string mnemonic>
    : EnumAttr<Circ_Dialect, info, mnemonic> {
  let assemblyFormat = "`<` $value `>`";
}

def Circ_NodeLocationAttr : Circ_EnumAttr<Circ_NodeLocation, "site">;
def Circ_SparseLayoutAttr : Circ_EnumAttr<Circ_SparseLayout, "layout">;
def Circ_UnitAxisAttr : Circ_EnumAttr<Circ_UnitAxis, "axis">;
def Circ_AblationAttr : Circ_EnumAttr<Circ_Ablation, "ablation">;

//===----------------------------------------------------------------------===//
// #circ.sparsity
//===----------------------------------------------------------------------===//

def Circ_SparsityAttr : Circ_Attr<"Sparsity", "sparsity"> {
  let summary = "L0 sparsity encoding of a weight tensor";
  let description = [{
    Attached as the encoding of a weight tensor type. It records the target
    fraction of nonzero entries (`density`, in (0, 1]), the minimum number of
    nonzeros every unit keeps (`min_per_unit`, the paper's "at least 4 per
    neuron or channel") and along which axis a unit lies (`axis`: `rows` when
    each row is one unit's inputs, `cols` when each column is one unit's
    outputs, `none` for embeddings), and the storage layout the kernels use
    for the sparse index (`layout`). The density prints with as many digits
    as it takes to read back the same value, so text round trips are exact.

    | parameter | type | meaning |
    |---|---|---|
    | density | f64 in (0, 1] | nonzero fraction after the top-k projection |
    | min_per_unit | i64 ≥ 0, 0 when axis = none | nonzeros kept per unit regardless of magnitude |
    | axis | rows / cols / none | which axis indexes units |
    | layout | dense / csr / ell / bsr | index layout chosen for the kernels |

    Example:

    ```mlir
    tensor<768x256xf32, #circ.sparsity<density = 1.5625e-02, min_per_unit = 4, axis = rows, layout = csr>>
    ```
  }];
  let parameters = (ins
    "::llvm::APFloat":$density,
    "int64_t":$min_per_unit,
    "::mlir::circ::UnitAxis":$axis,
    "::mlir::circ::SparseLayout":$layout);
  let assemblyFormat = [{
    `<` `density` `=` custom<Density>($density) `,` `min_per_unit` `=` $min_per_unit `,`
        `axis` `=` $axis `,` `layout` `=` $layout `>`
  }];
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "double":$density, "int64_t":$minPerUnit,
                     "::mlir::circ::UnitAxis":$axis,
                     "::mlir::circ::SparseLayout":$layout), [{
      return $_get($_ctxt, ::llvm::APFloat(density), minPerUnit, axis, layout);
    }]>
  ];
  let extraClassDeclaration = [{
    /// The density as a double, the form every consumer wants.
    double getDensityValue() const { return getDensity().convertToDouble(); }
  }];
}

#endif // CIRC_DIALECTS_CIRC_IR_CIRCATTRS_TD
