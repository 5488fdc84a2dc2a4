// RUN: circ-opt %s -split-input-file -verify-diagnostics

// One case per verifier message of the circ gradient operations.

// Tests that embed_grad needs a grad of the ids' rank plus one.
func.func @embed_grad_rank(%dy: tensor<2x8xf32>, %ids: tensor<2x8xi32>) {
  // expected-error @+1 {{'circ.embed_grad' op grad (ids rank + 1) must have rank 3, got shape [2x8]}}
  %0 = circ.embed_grad %dy, %ids : tensor<2x8xf32>, tensor<2x8xi32> -> tensor<64x8xf32>
  return
}

// -----

// Tests that embed_grad checks the leading dimensions against the ids.
func.func @embed_grad_leading(%dy: tensor<2x8x16xf32>, %ids: tensor<2x4xi32>) {
  // expected-error @+1 {{'circ.embed_grad' op leading dimensions: grad [2x8x16] and ids [2x4] disagree (8 vs 4)}}
  %0 = circ.embed_grad %dy, %ids : tensor<2x8x16xf32>, tensor<2x4xi32> -> tensor<64x16xf32>
  return
}

// -----

// Tests that embed_grad's table gradient has the grad's feature width.
func.func @embed_grad_width(%dy: tensor<2x8x16xf32>, %ids: tensor<2x8xi32>) {
  // expected-error @+1 {{'circ.embed_grad' op feature width: grad [2x8x16] and result [64x8] disagree (16 vs 8)}}
  %0 = circ.embed_grad %dy, %ids : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<64x8xf32>
  return
}

// -----

// Tests that a gradient cannot carry a sparsity encoding.
func.func @embed_grad_sparse(%dy: tensor<2x8x16xf32>, %ids: tensor<2x8xi32>) {
  // expected-error @+1 {{'circ.embed_grad' op result is a dense gradient; it cannot carry the encoding #circ.sparsity}}
  %0 = circ.embed_grad %dy, %ids : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<64x16xf32, #circ.sparsity<density = 2.5e-01, min_per_unit = 0, axis = none, layout = csr>>
  return
}

// -----

// Tests that add_positions_grad rejects a table shorter than the sequence.
func.func @add_positions_grad_short(%dy: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'circ.add_positions_grad' op grad has 8 positions but the table covers only 4}}
  %0 = circ.add_positions_grad %dy : tensor<2x8x16xf32> -> tensor<4x16xf32>
  return
}

// -----

// Tests that add_positions_grad needs a [B, T, D] gradient.
func.func @add_positions_grad_rank(%dy: tensor<8x16xf32>) {
  // expected-error @+1 {{'circ.add_positions_grad' op grad must have rank 3, got shape [8x16]}}
  %0 = circ.add_positions_grad %dy : tensor<8x16xf32> -> tensor<32x16xf32>
  return
}

// -----

// Tests that proj_grad_input checks the grad against the weight's outputs.
func.func @proj_grad_input_out(%dy: tensor<2x8x32xf32>, %w: tensor<16x16xf32>) {
  // expected-error @+1 {{'circ.proj_grad_input' op output features: grad [2x8x32] and weight [out, in] [16x16] disagree (32 vs 16)}}
  %0 = circ.proj_grad_input %dy, %w : tensor<2x8x32xf32>, tensor<16x16xf32> -> tensor<2x8x16xf32>
  return
}

// -----

// Tests that proj_grad_input checks the result against the weight's inputs.
func.func @proj_grad_input_in(%dy: tensor<2x8x32xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{'circ.proj_grad_input' op input features: result [2x8x8] and weight [out, in] [32x16] disagree (8 vs 16)}}
  %0 = circ.proj_grad_input %dy, %w : tensor<2x8x32xf32>, tensor<32x16xf32> -> tensor<2x8x8xf32>
  return
}

// -----

// Tests that proj_grad_input keeps the grad's leading dimensions.
func.func @proj_grad_input_leading(%dy: tensor<2x8x32xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{'circ.proj_grad_input' op leading dimensions: grad [2x8x32] and result [2x4x16] disagree (8 vs 4)}}
  %0 = circ.proj_grad_input %dy, %w : tensor<2x8x32xf32>, tensor<32x16xf32> -> tensor<2x4x16xf32>
  return
}

// -----

// Tests that proj_grad_input needs a 2-D weight.
func.func @proj_grad_input_weight_rank(%dy: tensor<2x8x32xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'circ.proj_grad_input' op weight must have rank 2, got shape [32]}}
  %0 = circ.proj_grad_input %dy, %w : tensor<2x8x32xf32>, tensor<32xf32> -> tensor<2x8x16xf32>
  return
}

// -----

// Tests that proj_grad_weight needs input and grad of one rank.
func.func @proj_grad_weight_rank(%dy: tensor<2x8x32xf32>, %x: tensor<16x16xf32>) {
  // expected-error @+1 {{'circ.proj_grad_weight' op input (the grad's rank) must have rank 3, got shape [16x16]}}
  %0 = circ.proj_grad_weight %dy, %x : tensor<2x8x32xf32>, tensor<16x16xf32> -> tensor<32x16xf32>
  return
}

// -----

// Tests that proj_grad_weight checks the result's [out, in] shape.
func.func @proj_grad_weight_shape(%dy: tensor<2x8x32xf32>, %x: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'circ.proj_grad_weight' op input features: result [out, in] [32x8] and input [2x8x16] disagree (8 vs 16)}}
  %0 = circ.proj_grad_weight %dy, %x : tensor<2x8x32xf32>, tensor<2x8x16xf32> -> tensor<32x8xf32>
  return
}

// -----

// Tests that proj_grad_weight produces a dense gradient.
func.func @proj_grad_weight_sparse(%dy: tensor<2x8x32xf32>, %x: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'circ.proj_grad_weight' op result is a dense gradient; it cannot carry the encoding}}
  %0 = circ.proj_grad_weight %dy, %x : tensor<2x8x32xf32>, tensor<2x8x16xf32> -> tensor<32x16xf32, #circ.sparsity<density = 2.5e-01, min_per_unit = 4, axis = rows, layout = csr>>
  return
}

// -----

// Tests that proj_grad_bias has one entry per output feature.
func.func @proj_grad_bias_width(%dy: tensor<2x8x32xf32>) {
  // expected-error @+1 {{'circ.proj_grad_bias' op result has 16 entries but the grad's feature width is 32}}
  %0 = circ.proj_grad_bias %dy : tensor<2x8x32xf32> -> tensor<16xf32>
  return
}

// -----

// Tests that rmsnorm_grad checks the gain's width.
func.func @rmsnorm_grad_gain(%dy: tensor<2x8x16xf32>, %x: tensor<2x8x16xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'circ.rmsnorm_grad' op gain has 8 entries but the input's feature width is 16}}
  %dx, %dg = circ.rmsnorm_grad %dy, %x, %g : tensor<2x8x16xf32>, tensor<8xf32>
  return
}

// -----

// Tests that rmsnorm_grad rejects a negative epsilon.
func.func @rmsnorm_grad_eps(%dy: tensor<2x8x16xf32>, %x: tensor<2x8x16xf32>, %g: tensor<16xf32>) {
  // expected-error @+1 {{'circ.rmsnorm_grad' op epsilon must be >= 0, got -1}}
  %dx, %dg = circ.rmsnorm_grad %dy, %x, %g {epsilon = -1.0 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
  return
}

// -----

// Tests that abs_topk_grad needs k >= 1.
func.func @abs_topk_grad_k_zero(%dy: tensor<2x16xf32>, %y: tensor<2x16xf32>) {
  // expected-error @+1 {{'circ.abs_topk_grad' op k must be at least 1, got 0}}
  %0 = circ.abs_topk_grad %dy, %y {k = 0 : i64} : tensor<2x16xf32>
  return
}

// -----

// Tests that abs_topk_grad needs k within the width.
func.func @abs_topk_grad_k_wide(%dy: tensor<2x16xf32>, %y: tensor<2x16xf32>) {
  // expected-error @+1 {{'circ.abs_topk_grad' op k = 17 exceeds the width 16}}
  %0 = circ.abs_topk_grad %dy, %y {k = 17 : i64} : tensor<2x16xf32>
  return
}

// -----

// Tests that attention_grad needs num_heads to divide the width.
func.func @attention_grad_heads(%t: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'circ.attention_grad' op num_heads = 3 does not divide the query width 16}}
  %dq, %dk, %dv = circ.attention_grad %t, %t, %t, %t, %t {num_heads = 3 : i64} : tensor<2x8x16xf32>
  return
}

// -----

// Tests that attention_grad needs positive num_heads.
func.func @attention_grad_no_heads(%t: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'circ.attention_grad' op num_heads must be at least 1, got 0}}
  %dq, %dk, %dv = circ.attention_grad %t, %t, %t, %t, %t {num_heads = 0 : i64} : tensor<2x8x16xf32>
  return
}

// -----

// Tests that attention_grad needs one sink logit per head.
func.func @attention_grad_sink(%t: tensor<2x8x16xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{'circ.attention_grad' op sink has 4 entries but the number of heads is 2}}
  %dq, %dk, %dv, %ds = circ.attention_grad %t, %t, %t, %t, %t, %s {num_heads = 2 : i64} : tensor<2x8x16xf32>, tensor<4xf32>
  return
}

// -----

// Tests that attention_grad needs [B, T, W] operands.
func.func @attention_grad_rank(%t: tensor<8x16xf32>) {
  // expected-error @+1 {{'circ.attention_grad' op query must have rank 3, got shape [8x16]}}
  %dq, %dk, %dv = circ.attention_grad %t, %t, %t, %t, %t {num_heads = 2 : i64} : tensor<8x16xf32>
  return
}

// -----

// Tests that mask_gate_grad checks tau's width.
func.func @mask_gate_grad_tau(%x: tensor<2x8x16xf32>, %tau: tensor<8xf32>) {
  // expected-error @+1 {{'circ.mask_gate_grad' op tau has 8 entries but the input's channel count is 16}}
  %dx, %dtau = circ.mask_gate_grad %x, %x, %tau {ablation = #circ.ablation<zero>} : tensor<2x8x16xf32>, tensor<8xf32>
  return
}

// -----

// Tests that mean ablation needs the mean.
func.func @mask_gate_grad_no_mean(%x: tensor<2x8x16xf32>, %tau: tensor<16xf32>) {
  // expected-error @+1 {{'circ.mask_gate_grad' op mean ablation needs a 'mean' operand}}
  %dx, %dtau = circ.mask_gate_grad %x, %x, %tau {ablation = #circ.ablation<mean>} : tensor<2x8x16xf32>, tensor<16xf32>
  return
}

// -----

// Tests that zero ablation takes no mean.
func.func @mask_gate_grad_extra_mean(%x: tensor<2x8x16xf32>, %tau: tensor<16xf32>) {
  // expected-error @+1 {{'circ.mask_gate_grad' op zero ablation takes no 'mean' operand}}
  %dx, %dtau, %dmu = circ.mask_gate_grad %x, %x, %tau, %tau {ablation = #circ.ablation<zero>} : tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>
  return
}

// -----

// Tests that the mean has one entry per channel.
func.func @mask_gate_grad_mean_width(%x: tensor<2x8x16xf32>, %tau: tensor<16xf32>, %mu: tensor<4xf32>) {
  // expected-error @+1 {{'circ.mask_gate_grad' op mean has 4 entries but the input's channel count is 16}}
  %dx, %dtau, %dmu = circ.mask_gate_grad %x, %x, %tau, %mu {ablation = #circ.ablation<mean>} : tensor<2x8x16xf32>, tensor<16xf32>, tensor<4xf32>
  return
}

// -----

// Tests that the surrogate's temperature is positive.
func.func @mask_gate_grad_temperature(%x: tensor<2x8x16xf32>, %tau: tensor<16xf32>) {
  // expected-error @+1 {{'circ.mask_gate_grad' op temperature must be > 0, got 0}}
  %dx, %dtau = circ.mask_gate_grad %x, %x, %tau {ablation = #circ.ablation<zero>, temperature = 0.0 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
  return
}

// -----

// Tests that next_token_loss_grad checks targets against the logits.
func.func @next_token_loss_grad_targets(%g: tensor<f32>, %l: tensor<2x8x64xf32>, %t: tensor<2x4xi32>) {
  // expected-error @+1 {{'circ.next_token_loss_grad' op leading dimensions: logits [2x8x64] and targets [2x4] disagree (8 vs 4)}}
  %0 = circ.next_token_loss_grad %g, %l, %t : tensor<2x8x64xf32>, tensor<2x4xi32>
  return
}

// -----

// Tests that next_token_loss_grad needs [B, T, V] logits.
func.func @next_token_loss_grad_rank(%g: tensor<f32>, %l: tensor<8x64xf32>, %t: tensor<2x8xi32>) {
  // expected-error @+1 {{'circ.next_token_loss_grad' op logits must have rank 3, got shape [8x64]}}
  %0 = circ.next_token_loss_grad %g, %l, %t : tensor<8x64xf32>, tensor<2x8xi32>
  return
}

// -----

// Tests that contrast_loss_grad has one position per prompt.
func.func @contrast_loss_grad_prompts(%g: tensor<f32>, %l: tensor<2x8x64xf32>, %p: tensor<3xi32>) {
  // expected-error @+1 {{'circ.contrast_loss_grad' op number of prompts: logits [2x8x64] and positions [3] disagree (2 vs 3)}}
  %0 = circ.contrast_loss_grad %g, %l, %p, %p, %p : tensor<2x8x64xf32>, tensor<3xi32>
  return
}

// -----

// Tests that contrast_loss_grad needs a scalar incoming gradient.
func.func @contrast_loss_grad_scalar(%g: tensor<2xf32>, %l: tensor<2x8x64xf32>, %p: tensor<2xi32>) {
  // expected-error @+1 {{'circ.contrast_loss_grad' op operand #0 must be 0D tensor of 32-bit float values}}
  %0 = "circ.contrast_loss_grad"(%g, %l, %p, %p, %p) : (tensor<2xf32>, tensor<2x8x64xf32>, tensor<2xi32>, tensor<2xi32>, tensor<2xi32>) -> tensor<2x8x64xf32>
  return
}
