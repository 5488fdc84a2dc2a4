// RUN: circ-opt %s --circ-fold-rmsnorm-gain="remarks=true" --split-input-file --verify-diagnostics

// Tests that a norm feeding an AbsTopK site keeps its gain: the selection
// is on |x·g|, which a folded weight could not reproduce.
func.func @abs_topk_reader(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  // expected-remark @+1 {{gain not folded: it feeds 'circ.abs_topk', which would select on |x·gain|}}
  %n = circ.rmsnorm %x, %g : tensor<4x8xf32>, tensor<8xf32>
  %a = circ.abs_topk %n {k = 2 : i64, layer = 0 : i64, site = #circ.site<attn_in>} : tensor<4x8xf32>
  %y = circ.proj %a, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Tests that a training step, whose weight gradient reads the normalised
// value, keeps the gain.
func.func @weight_gradient(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %w: tensor<16x8xf32>, %dy: tensor<4x16xf32>)
    -> (tensor<4x16xf32>, tensor<16x8xf32>) {
  // expected-remark @+1 {{gain not folded: it feeds 'circ.proj_grad_weight', which is not a projection}}
  %n = circ.rmsnorm %x, %g : tensor<4x8xf32>, tensor<8xf32>
  %y = circ.proj %n, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %dw = circ.proj_grad_weight %dy, %n : tensor<4x16xf32>, tensor<4x8xf32> -> tensor<16x8xf32>
  return %y, %dw : tensor<4x16xf32>, tensor<16x8xf32>
}

// -----

// Tests that a norm used as a projection's weight-side operand, or by a
// fused projection that already scales its input, or returned, is left
// alone.
func.func @already_scaled(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %h: tensor<8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  // expected-remark @+1 {{gain not folded: 'circ.fused_proj' already scales its input}}
  %n = circ.rmsnorm %x, %g : tensor<4x8xf32>, tensor<8xf32>
  %y = circ.fused_proj %n, %w scale(%h : tensor<8xf32>) : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

func.func @returned(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-remark @+1 {{gain not folded: it feeds 'func.return', which is not a projection}}
  %n = circ.rmsnorm %x, %g : tensor<4x8xf32>, tensor<8xf32>
  return %n : tensor<4x8xf32>
}

func.func @as_weight(%x: tensor<16x8xf32>, %g: tensor<8xf32>, %y: tensor<4x8xf32>) -> tensor<4x16xf32> {
  // expected-remark @+1 {{gain not folded: it is not the input of 'circ.proj'}}
  %n = circ.rmsnorm %x, %g : tensor<16x8xf32>, tensor<8xf32>
  %p = circ.proj %y, %n : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %p : tensor<4x16xf32>
}
