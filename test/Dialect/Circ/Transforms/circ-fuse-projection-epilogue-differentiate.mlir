// RUN: circ-opt %s --circ-fuse-projection-epilogue --circ-differentiate --verify-diagnostics

// Tests that fusion belongs after differentiation: circ.fused_proj has no
// gradient rule, and circ-differentiate says so at the fused op (located
// at the projection it started from).
func.func @loss(%x: tensor<2x4x8xf32>, %w: tensor<16x8xf32> {circ.param = "w"}, %t: tensor<2x4xi32>) -> tensor<f32> {
  // expected-error @+1 {{circ-differentiate: cannot differentiate 'circ.fused_proj'}}
  %p = circ.proj %x, %w : tensor<2x4x8xf32>, tensor<16x8xf32> -> tensor<2x4x16xf32>
  %a = circ.abs_topk %p {k = 4 : i64} : tensor<2x4x16xf32>
  %l = circ.next_token_loss %a, %t : tensor<2x4x16xf32>, tensor<2x4xi32>
  return %l : tensor<f32>
}
