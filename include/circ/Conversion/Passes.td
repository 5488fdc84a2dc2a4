//===- Passes.td - circ conversion passes ------------------*- tablegen -*-===//
//
// Conversions out of the `circ` dialect. One `def` per conversion, one folder
// per conversion in lib/Conversion/, one lit test folder per conversion in
// test/Conversion/.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_CONVERSION_PASSES_TD
#define CIRC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertCircToLoops : Pass<"convert-circ-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower circ ops on tensors to scf.parallel loop nests on memrefs";
  let description = [{
    Converts every `circ` operation and the functions that hold them from
    value-semantics tensors to memrefs and explicit loops:

    * tensors become identity-layout memrefs; each op's result is a fresh
      `memref.alloc` (later passes turn returned allocations into output
      arguments and insert deallocations);
    * a weight argument whose type carries `#circ.sparsity<..., layout = L>`
      is expanded into the buffers of layout `L` (see docs/codegen.md, "calling
      convention"); each new argument keeps the `circ.param` name and gains a
      `circ.buffer` attribute naming the buffer (`dense`, `row_ptr`, ...);
    * kernels are `scf.parallel` nests over tokens (or batch × heads ×
      query blocks for attention) whose inner loops are explicit `vector` ops
      of `vector-width` lanes over a contiguous axis.

    Each op family lives in its own file in lib/Conversion/CircToLoops/ and
    registers its patterns through `populateCircToLoopsPatterns`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"
  ];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes of the vectors the kernels use (16 = AVX-512)">,
    Option<"tileTokens", "tile-tokens", "int64_t", /*default=*/"0",
           "tokens per tile of the projection kernels (0: chosen from the "
           "widths so a tile's scratch fits in L2)">
  ];
}

#endif // CIRC_CONVERSION_PASSES_TD
