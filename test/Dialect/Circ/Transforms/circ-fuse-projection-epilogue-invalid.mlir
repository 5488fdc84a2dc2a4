// RUN: circ-opt %s --circ-fuse-projection-epilogue="remarks=true" --split-input-file --verify-diagnostics

// Tests that an epilogue op whose input has another use (here the
// backward's gelu_grad) is left alone, with a remark saying why.
func.func @shared_pre_activation(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %dy: tensor<4x16xf32>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %h = circ.proj %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  // expected-remark @+1 {{not fused into the projection: its input has 2 uses, and a fused kernel never materialises it}}
  %g = circ.gelu %h : tensor<4x16xf32>
  %dh = circ.gelu_grad %dy, %h : tensor<4x16xf32>
  return %g, %dh : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// Tests that a gate at another node location than the AbsTopK before it
// stays a separate op.
func.func @other_site(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %tau: tensor<16xf32>) -> tensor<4x16xf32> {
  %p = circ.proj %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %a = circ.abs_topk %p {k = 4 : i64, layer = 0 : i64, site = #circ.site<mlp_out>} : tensor<4x16xf32>
  // expected-remark @+1 {{not fused into the projection: it gates a different node location than the abs_topk}}
  %m = circ.mask_gate %a, %tau {ablation = #circ.ablation<zero>, layer = 1 : i64, site = #circ.site<mlp_out>} : tensor<4x16xf32>, tensor<16xf32>
  return %m : tensor<4x16xf32>
}

// -----

// Tests that GELU after AbsTopK (not the epilogue's order) is not fused.
func.func @out_of_order(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %p = circ.proj %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %a = circ.abs_topk %p {k = 4 : i64} : tensor<4x16xf32>
  // expected-remark @+1 {{not fused into the projection: the fused epilogue applies gelu, abs_topk, mask_gate in this order and already has this step or a later one}}
  %g = circ.gelu %a : tensor<4x16xf32>
  return %g : tensor<4x16xf32>
}

// -----

// Tests that an AbsTopK whose k is a fraction of a dynamic width is left
// alone.
func.func @dynamic_k(%x: tensor<4x8xf32>, %w: tensor<?x8xf32>) -> tensor<4x?xf32> {
  %p = circ.proj %x, %w : tensor<4x8xf32>, tensor<?x8xf32> -> tensor<4x?xf32>
  // expected-remark @+1 {{not fused into the projection: its k is a fraction of a dynamic width}}
  %a = circ.abs_topk %p {fraction = 2.5e-01 : f64} : tensor<4x?xf32>
  return %a : tensor<4x?xf32>
}
