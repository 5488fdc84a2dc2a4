// RUN: circ-opt %s --circ-select-layouts --split-input-file | FileCheck %s
// RUN: circ-opt %s --circ-select-layouts=allow-ell=false --split-input-file | FileCheck %s --check-prefix=NOELL

#csr_rows = #circ.sparsity<density = 1.5625e-02, min_per_unit = 4, axis = rows, layout = csr>
#csr_cols = #circ.sparsity<density = 1.5625e-02, min_per_unit = 4, axis = cols, layout = csr>

// Tests that at density 1/64 with 256 inputs the min-4 rule fills the budget
// (4 · 1024 = 1024 · 256 / 64) in both unit orientations: ELL, rows or
// columns as the units.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: tensor<1024x256xf32, #circ.sparsity<density = 1.562500e-02, min_per_unit = 4, axis = rows, layout = ell>>
// CHECK-SAME: tensor<256x1024xf32, #circ.sparsity<density = 1.562500e-02, min_per_unit = 4, axis = cols, layout = ell>>
// CHECK: circ.proj {{.*}}layout = ell
// NOELL-LABEL: func.func @mlp
// NOELL-SAME: axis = rows, layout = csr
// NOELL-SAME: axis = cols, layout = csr
func.func @mlp(%x: tensor<8x256xf32>, %fc: tensor<1024x256xf32, #csr_rows>, %proj: tensor<256x1024xf32, #csr_cols>) -> tensor<8x256xf32> {
  %h = circ.proj %x, %fc : tensor<8x256xf32>, tensor<1024x256xf32, #csr_rows> -> tensor<8x1024xf32>
  %y = circ.proj %h, %proj : tensor<8x1024xf32>, tensor<256x1024xf32, #csr_cols> -> tensor<8x256xf32>
  return %y : tensor<8x256xf32>
}

// -----

#csr = #circ.sparsity<density = 1.5625e-02, min_per_unit = 4, axis = rows, layout = csr>

// Tests that with 1024 inputs at 1/64 (16 per row on average, 4 forced) the
// budget exceeds the forced entries: rows vary, CSR.
// CHECK-LABEL: func.func @wide
// CHECK-SAME: axis = rows, layout = csr
func.func @wide(%x: tensor<8x1024xf32>, %w: tensor<256x1024xf32, #csr>) -> tensor<8x256xf32> {
  %y = circ.proj %x, %w : tensor<8x1024xf32>, tensor<256x1024xf32, #csr> -> tensor<8x256xf32>
  return %y : tensor<8x256xf32>
}

// -----

#none = #circ.sparsity<density = 1.0e-03, min_per_unit = 0, axis = none, layout = csr>
#half = #circ.sparsity<density = 0.5, min_per_unit = 4, axis = rows, layout = csr>

// Tests that an embedding read only by circ.embed is dense (rows are
// gathered from the dense values), that an unembedding without unit axis
// is CSR, and that density 1/2 stays dense.
// CHECK-LABEL: func.func @embeddings
// CHECK-SAME: tensor<64x32xf32, #circ.sparsity<density = 1.000000e-03, min_per_unit = 0, axis = none, layout = dense>>
// CHECK-SAME: tensor<64x32xf32, #circ.sparsity<density = 1.000000e-03, min_per_unit = 0, axis = none, layout = csr>>
// CHECK-SAME: tensor<32x32xf32, #circ.sparsity<density = 5.000000e-01, min_per_unit = 4, axis = rows, layout = dense>>
func.func @embeddings(%ids: tensor<2x4xi32>, %wte: tensor<64x32xf32, #none>, %lm: tensor<64x32xf32, #none>, %w: tensor<32x32xf32, #half>) -> tensor<2x4x64xf32> {
  %x = circ.embed %ids, %wte : tensor<2x4xi32>, tensor<64x32xf32, #none> -> tensor<2x4x32xf32>
  %h = circ.proj %x, %w : tensor<2x4x32xf32>, tensor<32x32xf32, #half> -> tensor<2x4x32xf32>
  %l = circ.proj %h, %lm : tensor<2x4x32xf32>, tensor<64x32xf32, #none> -> tensor<2x4x64xf32>
  return %l : tensor<2x4x64xf32>
}
