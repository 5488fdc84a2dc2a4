// RUN: circ-opt %s --circ-select-layouts --split-input-file --verify-diagnostics

#csr = #circ.sparsity<density = 1.5625e-02, min_per_unit = 4, axis = rows, layout = csr>

// Tests that a weight also used by a non-circ op (whose type would have to
// change with it) is rejected.
func.func @returned(%x: tensor<8x256xf32>, %w: tensor<1024x256xf32, #csr>) -> tensor<1024x256xf32, #csr> {
  // expected-error @+1 {{circ-select-layouts: weight argument #1 of @returned is used by 'func.return'}}
  return %w : tensor<1024x256xf32, #csr>
}
