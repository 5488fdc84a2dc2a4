// RUN: circ-opt %s --convert-circ-to-loops --split-input-file --verify-diagnostics

// Tests that a weight in the bsr layout, which has no CPU kernel, is rejected.
// expected-error @+1 {{argument #0 uses layout bsr, which has no CPU kernel}}
func.func @bsr(%w: tensor<8x32xf32, #circ.sparsity<density = 0.25, min_per_unit = 4, axis = rows, layout = bsr>>) {
  return
}

// -----

// Tests that ELL without a unit axis is rejected.
// expected-error @+1 {{argument #0 uses layout ell with axis none}}
func.func @ell_no_axis(%w: tensor<8x32xf32, #circ.sparsity<density = 0.25, min_per_unit = 0, axis = none, layout = ell>>) {
  return
}

// -----

// Tests that a dynamic feature width is rejected.
func.func @dynamic_width(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{result has a dynamic feature width}}
  %0 = circ.gelu %x : tensor<4x?xf32>
  return %0 : tensor<4x?xf32>
}

