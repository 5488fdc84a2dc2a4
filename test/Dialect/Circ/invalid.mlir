// RUN: circ-opt %s -split-input-file -verify-diagnostics

// One case per verifier message of every circ operation and attribute, plus
// the ODS-generated type and attribute constraints a user is likely to hit.

//===----------------------------------------------------------------------===//
// #circ.sparsity and the enum attributes
//===----------------------------------------------------------------------===//

// Tests that a density of 0 is rejected.
// expected-error @+1 {{#circ.sparsity density must be in (0, 1], got 0}}
func.func @density_zero(%w: tensor<4x4xf32, #circ.sparsity<density = 0.0, min_per_unit = 4, axis = rows, layout = csr>>) {
  return
}

// -----

// Tests that a density above 1 is rejected.
// expected-error @+1 {{#circ.sparsity density must be in (0, 1], got 1.5}}
func.func @density_above_one(%w: tensor<4x4xf32, #circ.sparsity<density = 1.5, min_per_unit = 4, axis = rows, layout = csr>>) {
  return
}

// -----

// Tests that a negative minimum per unit is rejected.
// expected-error @+1 {{#circ.sparsity min_per_unit must be >= 0, got -1}}
func.func @min_per_unit_negative(%w: tensor<4x4xf32, #circ.sparsity<density = 0.5, min_per_unit = -1, axis = cols, layout = csr>>) {
  return
}

// -----

// Tests that a minimum per unit without units (axis = none) is rejected.
// expected-error @+1 {{#circ.sparsity min_per_unit must be 0 when axis = none (no units to keep nonzeros for), got 4}}
func.func @min_per_unit_without_axis(%w: tensor<4x4xf32, #circ.sparsity<density = 0.5, min_per_unit = 4, axis = none, layout = csr>>) {
  return
}

// -----

// Tests that an unknown layout keyword is rejected by the parser, which lists
// the valid ones.
// expected-error @+2 {{expected one of [dense, csr, ell, bsr] for storage layout of a sparse weight's index, got: coo}}
// expected-error @+1 {{failed to parse Circ_SparsityAttr parameter 'layout'}}
func.func @unknown_layout(%w: tensor<4x4xf32, #circ.sparsity<density = 0.5, min_per_unit = 4, axis = rows, layout = coo>>) {
  return
}

// -----

// Tests that an unknown node location is rejected by the parser, which lists
// the eight valid ones.
// expected-error @+2 {{expected ::mlir::circ::NodeLocation to be one of: attn_in, attn_q, attn_k, attn_v, attn_out, mlp_in, mlp_neuron, mlp_out}}
// expected-error @+1 {{failed to parse Circ_NodeLocationAttr parameter 'value'}}
func.func @unknown_site() attributes {s = #circ.site<resid_post_attn>} {
  return
}

// -----

// Tests that `circ.param` must name the parameter with a string.
// expected-error @+1 {{'circ.param' of argument 0 must be a non-empty string naming the parameter, got 3 : i64}}
func.func @param_not_string(%w: tensor<4xf32> {circ.param = 3 : i64}) {
  return
}

// -----

// Tests that `circ.param` may not be empty.
// expected-error @+1 {{'circ.param' of argument 1 must be a non-empty string naming the parameter, got ""}}
func.func @param_empty(%x: tensor<4xf32>, %w: tensor<4xf32> {circ.param = ""}) {
  return
}

// -----

// Tests that `circ.model` belongs on a module.
// expected-error @+1 {{'circ.model' belongs on a builtin.module}}
func.func @model_on_func() attributes {circ.model = {layers = 2 : i64}} {
  return
}

// -----

// Tests that `circ.model` is a dictionary.
// expected-error @+1 {{'circ.model' must be a dictionary of model settings, got [2]}}
module attributes {circ.model = [2]} {
}

//===----------------------------------------------------------------------===//
// circ.embed
//===----------------------------------------------------------------------===//

// -----

// Tests that the embedding table must be a matrix.
func.func @embed_table_rank(%ids: tensor<4x8xi32>, %t: tensor<64xf32>) -> tensor<4x8x64xf32> {
  // expected-error @+1 {{'circ.embed' op table must have rank 2, got shape [64]}}
  %0 = circ.embed %ids, %t : tensor<4x8xi32>, tensor<64xf32> -> tensor<4x8x64xf32>
  return %0 : tensor<4x8x64xf32>
}

// -----

// Tests that the result has one more dimension than the ids.
func.func @embed_result_rank(%ids: tensor<4x8xi32>, %t: tensor<100x64xf32>) -> tensor<32x64xf32> {
  // expected-error @+1 {{'circ.embed' op result must have rank 3 (ids rank + 1), got shape [32x64]}}
  %0 = circ.embed %ids, %t : tensor<4x8xi32>, tensor<100x64xf32> -> tensor<32x64xf32>
  return %0 : tensor<32x64xf32>
}

// -----

// Tests that the result starts with the ids' shape.
func.func @embed_result_prefix(%ids: tensor<4x8xi32>, %t: tensor<100x64xf32>) -> tensor<4x9x64xf32> {
  // expected-error @+1 {{'circ.embed' op result shape [4x9x64] does not start with the ids shape [4x8]}}
  %0 = circ.embed %ids, %t : tensor<4x8xi32>, tensor<100x64xf32> -> tensor<4x9x64xf32>
  return %0 : tensor<4x9x64xf32>
}

// -----

// Tests that the result's feature width is the table's.
func.func @embed_result_width(%ids: tensor<?x8xi32>, %t: tensor<100x64xf32>) -> tensor<?x8x32xf32> {
  // expected-error @+1 {{'circ.embed' op result feature width 32 does not match the table width 64}}
  %0 = circ.embed %ids, %t : tensor<?x8xi32>, tensor<100x64xf32> -> tensor<?x8x32xf32>
  return %0 : tensor<?x8x32xf32>
}

// -----

// Tests that a table encoding other than #circ.sparsity is rejected.
func.func @embed_table_encoding(%ids: tensor<4x8xi32>, %t: tensor<100x64xf32, #circ.layout<csr>>) -> tensor<4x8x64xf32> {
  // expected-error @+1 {{'circ.embed' op table encoding must be #circ.sparsity, got #circ.layout<csr>}}
  %0 = circ.embed %ids, %t : tensor<4x8xi32>, tensor<100x64xf32, #circ.layout<csr>> -> tensor<4x8x64xf32>
  return %0 : tensor<4x8x64xf32>
}

// -----

// Tests that token ids must be i32 (ODS constraint).
func.func @embed_ids_type(%ids: tensor<4x8xf32>, %t: tensor<100x64xf32>) -> tensor<4x8x64xf32> {
  // expected-error @+1 {{'circ.embed' op operand #0 must be ranked tensor of 32-bit signless integer values, but got 'tensor<4x8xf32>'}}
  %0 = circ.embed %ids, %t : tensor<4x8xf32>, tensor<100x64xf32> -> tensor<4x8x64xf32>
  return %0 : tensor<4x8x64xf32>
}

//===----------------------------------------------------------------------===//
// circ.add_positions
//===----------------------------------------------------------------------===//

// -----

// Tests that the input is [batch, seq, d_model].
func.func @add_positions_input_rank(%x: tensor<8x64xf32>, %wpe: tensor<16x64xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'circ.add_positions' op input must have rank 3, got shape [8x64]}}
  %0 = circ.add_positions %x, %wpe : tensor<8x64xf32>, tensor<16x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

// Tests that the positional table is a matrix.
func.func @add_positions_table_rank(%x: tensor<2x8x64xf32>, %wpe: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.add_positions' op table must have rank 2, got shape [64]}}
  %0 = circ.add_positions %x, %wpe : tensor<2x8x64xf32>, tensor<64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the table's width is the input's.
func.func @add_positions_width(%x: tensor<2x8x64xf32>, %wpe: tensor<16x32xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.add_positions' op table width 32 does not match the input width 64}}
  %0 = circ.add_positions %x, %wpe : tensor<2x8x64xf32>, tensor<16x32xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the table covers every position of the input.
func.func @add_positions_too_long(%x: tensor<2x32x64xf32>, %wpe: tensor<16x64xf32>) -> tensor<2x32x64xf32> {
  // expected-error @+1 {{'circ.add_positions' op input has 32 positions but the table covers only 16}}
  %0 = circ.add_positions %x, %wpe : tensor<2x32x64xf32>, tensor<16x64xf32>
  return %0 : tensor<2x32x64xf32>
}

// -----

// Tests that a table encoding other than #circ.sparsity is rejected.
func.func @add_positions_encoding(%x: tensor<2x8x64xf32>, %wpe: tensor<16x64xf32, #circ.axis<rows>>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.add_positions' op table encoding must be #circ.sparsity, got #circ.axis<rows>}}
  %0 = circ.add_positions %x, %wpe : tensor<2x8x64xf32>, tensor<16x64xf32, #circ.axis<rows>>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the result type is the input type (ODS constraint).
func.func @add_positions_result_type(%x: tensor<2x8x64xf32>, %wpe: tensor<16x64xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+1 {{'circ.add_positions' op failed to verify that all of {input, result} have same type}}
  %0 = "circ.add_positions"(%x, %wpe) : (tensor<2x8x64xf32>, tensor<16x64xf32>) -> tensor<2x8x32xf32>
  return %0 : tensor<2x8x32xf32>
}

//===----------------------------------------------------------------------===//
// circ.proj
//===----------------------------------------------------------------------===//

// -----

// Tests that the weight is a matrix.
func.func @proj_weight_rank(%x: tensor<2x8x64xf32>, %w: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.proj' op weight must have rank 2, got shape [64]}}
  %0 = circ.proj %x, %w : tensor<2x8x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that a 0-d input is rejected.
func.func @proj_input_rank(%x: tensor<f32>, %w: tensor<4x4xf32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.proj' op input must have at least one dimension}}
  %0 = circ.proj %x, %w : tensor<f32>, tensor<4x4xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// Tests that the result keeps the input's rank.
func.func @proj_result_rank(%x: tensor<2x8x64xf32>, %w: tensor<32x64xf32>) -> tensor<16x32xf32> {
  // expected-error @+1 {{'circ.proj' op result rank 2 differs from the input rank 3}}
  %0 = circ.proj %x, %w : tensor<2x8x64xf32>, tensor<32x64xf32> -> tensor<16x32xf32>
  return %0 : tensor<16x32xf32>
}

// -----

// Tests that the weight's input width matches the input's features; the
// message spells the [out, in] convention.
func.func @proj_in_features(%x: tensor<2x8x64xf32>, %w: tensor<64x32xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.proj' op weight expects 32 input features ([out, in] = [64x32]) but the input has 64}}
  %0 = circ.proj %x, %w : tensor<2x8x64xf32>, tensor<64x32xf32> -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the result has the weight's output width.
func.func @proj_out_features(%x: tensor<2x8x64xf32>, %w: tensor<32x64xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{'circ.proj' op result has 16 features but the weight produces 32}}
  %0 = circ.proj %x, %w : tensor<2x8x64xf32>, tensor<32x64xf32> -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// Tests that the leading (batch, sequence) dimensions pass through.
func.func @proj_leading_dims(%x: tensor<2x8x64xf32>, %w: tensor<32x64xf32>) -> tensor<2x4x32xf32> {
  // expected-error @+1 {{'circ.proj' op result shape [2x4x32] does not keep the input's leading dimensions [2x8x64]}}
  %0 = circ.proj %x, %w : tensor<2x8x64xf32>, tensor<32x64xf32> -> tensor<2x4x32xf32>
  return %0 : tensor<2x4x32xf32>
}

// -----

// Tests that the bias is a vector.
func.func @proj_bias_rank(%x: tensor<2x8x64xf32>, %w: tensor<32x64xf32>, %b: tensor<1x32xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+1 {{'circ.proj' op bias must have rank 1, got shape [1x32]}}
  %0 = circ.proj %x, %w, %b : tensor<2x8x64xf32>, tensor<32x64xf32>, tensor<1x32xf32> -> tensor<2x8x32xf32>
  return %0 : tensor<2x8x32xf32>
}

// -----

// Tests that the bias has one entry per output feature.
func.func @proj_bias_width(%x: tensor<2x8x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+1 {{'circ.proj' op bias has 64 entries but the weight's output width is 32}}
  %0 = circ.proj %x, %w, %b : tensor<2x8x64xf32>, tensor<32x64xf32>, tensor<64xf32> -> tensor<2x8x32xf32>
  return %0 : tensor<2x8x32xf32>
}

// -----

// Tests that a weight encoding other than #circ.sparsity is rejected.
func.func @proj_weight_encoding(%x: tensor<2x8x64xf32>, %w: tensor<32x64xf32, #circ.layout<ell>>) -> tensor<2x8x32xf32> {
  // expected-error @+1 {{'circ.proj' op weight encoding must be #circ.sparsity, got #circ.layout<ell>}}
  %0 = circ.proj %x, %w : tensor<2x8x64xf32>, tensor<32x64xf32, #circ.layout<ell>> -> tensor<2x8x32xf32>
  return %0 : tensor<2x8x32xf32>
}

// -----

// Tests that activations must be f32 (ODS constraint).
func.func @proj_element_type(%x: tensor<2x8x64xf16>, %w: tensor<32x64xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+1 {{'circ.proj' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<2x8x64xf16>'}}
  %0 = circ.proj %x, %w : tensor<2x8x64xf16>, tensor<32x64xf32> -> tensor<2x8x32xf32>
  return %0 : tensor<2x8x32xf32>
}

//===----------------------------------------------------------------------===//
// circ.rmsnorm
//===----------------------------------------------------------------------===//

// -----

// Tests that a 0-d input is rejected.
func.func @rmsnorm_input_rank(%x: tensor<f32>, %g: tensor<1xf32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.rmsnorm' op input must have at least one dimension}}
  %0 = circ.rmsnorm %x, %g : tensor<f32>, tensor<1xf32>
  return %0 : tensor<f32>
}

// -----

// Tests that a negative epsilon is rejected.
func.func @rmsnorm_epsilon(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.rmsnorm' op epsilon must be >= 0, got -1}}
  %0 = circ.rmsnorm %x, %g {epsilon = -1.0 : f64} : tensor<2x8x64xf32>, tensor<64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the gain is a vector.
func.func @rmsnorm_gain_rank(%x: tensor<2x8x64xf32>, %g: tensor<8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.rmsnorm' op gain must have rank 1, got shape [8x64]}}
  %0 = circ.rmsnorm %x, %g : tensor<2x8x64xf32>, tensor<8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the gain has one entry per feature.
func.func @rmsnorm_gain_width(%x: tensor<2x8x64xf32>, %g: tensor<32xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.rmsnorm' op gain has 32 entries but the input's feature width is 64}}
  %0 = circ.rmsnorm %x, %g : tensor<2x8x64xf32>, tensor<32xf32>
  return %0 : tensor<2x8x64xf32>
}

//===----------------------------------------------------------------------===//
// circ.abs_topk
//===----------------------------------------------------------------------===//

// -----

// Tests that a 0-d input is rejected.
func.func @abs_topk_rank(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.abs_topk' op input must have at least one dimension}}
  %0 = circ.abs_topk %x {k = 1 : i64} : tensor<f32>
  return %0 : tensor<f32>
}

// -----

// Tests that one of k and fraction is required.
func.func @abs_topk_neither(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op needs exactly one of 'k' and 'fraction'}}
  %0 = circ.abs_topk %x : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Tests that k and fraction together are rejected.
func.func @abs_topk_both(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op needs exactly one of 'k' and 'fraction'}}
  %0 = circ.abs_topk %x {k = 16 : i64, fraction = 0.25 : f64} : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Tests that k = 0 is rejected.
func.func @abs_topk_k_zero(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op k must be at least 1, got 0}}
  %0 = circ.abs_topk %x {k = 0 : i64} : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Tests that k above the width is rejected.
func.func @abs_topk_k_too_large(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op k = 65 exceeds the input width 64}}
  %0 = circ.abs_topk %x {k = 65 : i64} : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Tests that a fraction of 0 is rejected.
func.func @abs_topk_fraction_zero(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op fraction must be in (0, 1], got 0}}
  %0 = circ.abs_topk %x {fraction = 0.0 : f64} : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Tests that a fraction above 1 is rejected.
func.func @abs_topk_fraction_above_one(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op fraction must be in (0, 1], got 1.25}}
  %0 = circ.abs_topk %x {fraction = 1.25 : f64} : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Tests that a negative layer is rejected.
func.func @abs_topk_layer(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op layer must be >= 0, got -1}}
  %0 = circ.abs_topk %x {k = 16 : i64, layer = -1 : i64, site = #circ.site<attn_in>} : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

// Tests that `site` must be a node location (ODS constraint).
func.func @abs_topk_site_type(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'circ.abs_topk' op attribute 'site' failed to satisfy constraint: one of the eight AbsTopK node locations of a layer}}
  %0 = circ.abs_topk %x {k = 16 : i64, site = 3 : i64} : tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

//===----------------------------------------------------------------------===//
// circ.attention
//===----------------------------------------------------------------------===//

// -----

// Tests that attention inputs are [batch, seq, width].
func.func @attention_rank(%q: tensor<8x64xf32>) -> tensor<8x64xf32> {
  // expected-error @+1 {{'circ.attention' op query must have rank 3, got shape [8x64]}}
  %0 = circ.attention %q, %q, %q {num_heads = 4 : i64} : tensor<8x64xf32>
  return %0 : tensor<8x64xf32>
}

// -----

// Tests that at least one head is required.
func.func @attention_no_heads(%q: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.attention' op num_heads must be at least 1, got 0}}
  %0 = circ.attention %q, %q, %q {num_heads = 0 : i64} : tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the heads divide the width.
func.func @attention_head_divisibility(%q: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.attention' op num_heads = 5 does not divide the query width 64}}
  %0 = circ.attention %q, %q, %q {num_heads = 5 : i64} : tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the sink is a vector.
func.func @attention_sink_rank(%q: tensor<2x8x64xf32>, %s: tensor<4x1xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.attention' op sink must have rank 1, got shape [4x1]}}
  %0 = circ.attention %q, %q, %q, %s {num_heads = 4 : i64} : tensor<2x8x64xf32>, tensor<4x1xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the sink has one logit per head.
func.func @attention_sink_width(%q: tensor<2x8x64xf32>, %s: tensor<8xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.attention' op sink has 8 entries but the number of heads is 4}}
  %0 = circ.attention %q, %q, %q, %s {num_heads = 4 : i64} : tensor<2x8x64xf32>, tensor<8xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that q, k and v share one type (ODS constraint).
func.func @attention_types(%q: tensor<2x8x64xf32>, %k: tensor<2x4x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.attention' op failed to verify that all of {query, key, value, result} have same type}}
  %0 = "circ.attention"(%q, %k, %q) {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x4x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that num_heads is required (ODS constraint).
func.func @attention_missing_heads(%q: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.attention' op requires attribute 'num_heads'}}
  %0 = circ.attention %q, %q, %q : tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

//===----------------------------------------------------------------------===//
// circ.residual_add, circ.gelu
//===----------------------------------------------------------------------===//

// -----

// Tests that the residual and the delta share one type (ODS constraint).
func.func @residual_add_types(%x: tensor<2x8x64xf32>, %d: tensor<2x8x32xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.residual_add' op requires the same type for all operands and results}}
  %0 = "circ.residual_add"(%x, %d) : (tensor<2x8x64xf32>, tensor<2x8x32xf32>) -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that gelu keeps its input type (ODS constraint).
func.func @gelu_types(%x: tensor<2x8x64xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+1 {{'circ.gelu' op requires the same type for all operands and results}}
  %0 = "circ.gelu"(%x) : (tensor<2x8x64xf32>) -> tensor<2x8x32xf32>
  return %0 : tensor<2x8x32xf32>
}

//===----------------------------------------------------------------------===//
// circ.mask_gate
//===----------------------------------------------------------------------===//

// -----

// Tests that a 0-d input is rejected.
func.func @mask_gate_rank(%x: tensor<f32>, %tau: tensor<1xf32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.mask_gate' op input must have at least one dimension}}
  %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<zero>} : tensor<f32>, tensor<1xf32>
  return %0 : tensor<f32>
}

// -----

// Tests that tau is a vector.
func.func @mask_gate_tau_rank(%x: tensor<2x8x64xf32>, %tau: tensor<8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op tau must have rank 1, got shape [8x64]}}
  %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<zero>} : tensor<2x8x64xf32>, tensor<8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that tau has one threshold per channel.
func.func @mask_gate_tau_width(%x: tensor<2x8x64xf32>, %tau: tensor<32xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op tau has 32 entries but the input's channel count is 64}}
  %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<zero>} : tensor<2x8x64xf32>, tensor<32xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that mean ablation needs the means.
func.func @mask_gate_missing_mean(%x: tensor<2x8x64xf32>, %tau: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op mean ablation needs a 'mean' operand}}
  %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<mean>} : tensor<2x8x64xf32>, tensor<64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that zero ablation takes no means.
func.func @mask_gate_extra_mean(%x: tensor<2x8x64xf32>, %tau: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op zero ablation takes no 'mean' operand}}
  %0 = circ.mask_gate %x, %tau, %tau {ablation = #circ.ablation<zero>} : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the means have one entry per channel.
func.func @mask_gate_mean_width(%x: tensor<2x8x64xf32>, %tau: tensor<64xf32>, %mu: tensor<16xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op mean has 16 entries but the input's channel count is 64}}
  %0 = circ.mask_gate %x, %tau, %mu {ablation = #circ.ablation<mean>} : tensor<2x8x64xf32>, tensor<64xf32>, tensor<16xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the surrogate temperature is positive.
func.func @mask_gate_temperature(%x: tensor<2x8x64xf32>, %tau: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op temperature must be > 0, got 0}}
  %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<zero>, temperature = 0.0 : f64} : tensor<2x8x64xf32>, tensor<64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that a negative layer is rejected.
func.func @mask_gate_layer(%x: tensor<2x8x64xf32>, %tau: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op layer must be >= 0, got -2}}
  %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<zero>, layer = -2 : i64, site = #circ.site<mlp_out>} : tensor<2x8x64xf32>, tensor<64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the ablation kind is required (ODS constraint).
func.func @mask_gate_missing_ablation(%x: tensor<2x8x64xf32>, %tau: tensor<64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.mask_gate' op requires attribute 'ablation'}}
  %0 = circ.mask_gate %x, %tau : tensor<2x8x64xf32>, tensor<64xf32>
  return %0 : tensor<2x8x64xf32>
}

//===----------------------------------------------------------------------===//
// circ.bigram
//===----------------------------------------------------------------------===//

// -----

// Tests that the lookup checks apply to the bigram table too.
func.func @bigram_result_width(%ids: tensor<2x8xi32>, %t: tensor<100x100xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.bigram' op result feature width 64 does not match the table width 100}}
  %0 = circ.bigram %ids, %t : tensor<2x8xi32>, tensor<100x100xf32> -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the bigram table is vocab x vocab.
func.func @bigram_square(%ids: tensor<2x8xi32>, %t: tensor<100x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.bigram' op bigram table must be square (vocab x vocab), got [100x64]}}
  %0 = circ.bigram %ids, %t : tensor<2x8xi32>, tensor<100x64xf32> -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that the bigram table stays dense.
func.func @bigram_sparse(%ids: tensor<2x8xi32>, %t: tensor<64x64xf32, #circ.sparsity<density = 0.5, min_per_unit = 0, axis = none, layout = csr>>) -> tensor<2x8x64xf32> {
  // expected-error @+1 {{'circ.bigram' op bigram table is dense; it cannot carry a sparsity encoding}}
  %0 = circ.bigram %ids, %t : tensor<2x8xi32>, tensor<64x64xf32, #circ.sparsity<density = 0.5, min_per_unit = 0, axis = none, layout = csr>> -> tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

//===----------------------------------------------------------------------===//
// circ.next_token_loss, circ.contrast_loss
//===----------------------------------------------------------------------===//

// -----

// Tests that logits are [batch, seq, vocab].
func.func @next_token_loss_logits_rank(%l: tensor<8x64xf32>, %t: tensor<8x64xi32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.next_token_loss' op logits must have rank 3, got shape [8x64]}}
  %0 = circ.next_token_loss %l, %t : tensor<8x64xf32>, tensor<8x64xi32>
  return %0 : tensor<f32>
}

// -----

// Tests that targets are [batch, seq].
func.func @next_token_loss_targets_rank(%l: tensor<2x8x64xf32>, %t: tensor<16xi32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.next_token_loss' op targets must have rank 2, got shape [16]}}
  %0 = circ.next_token_loss %l, %t : tensor<2x8x64xf32>, tensor<16xi32>
  return %0 : tensor<f32>
}

// -----

// Tests that targets match the logits' batch and sequence.
func.func @next_token_loss_targets_shape(%l: tensor<2x8x64xf32>, %t: tensor<2x7xi32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.next_token_loss' op targets shape [2x7] does not match the logits' [batch, seq] [2x8]}}
  %0 = circ.next_token_loss %l, %t : tensor<2x8x64xf32>, tensor<2x7xi32>
  return %0 : tensor<f32>
}

// -----

// Tests that a loss is a 0-d f32 tensor (ODS constraint).
func.func @next_token_loss_result(%l: tensor<2x8x64xf32>, %t: tensor<2x8xi32>) -> tensor<1xf32> {
  // expected-error @+1 {{'circ.next_token_loss' op result #0 must be 0D tensor of 32-bit float values, but got 'tensor<1xf32>'}}
  %0 = "circ.next_token_loss"(%l, %t) : (tensor<2x8x64xf32>, tensor<2x8xi32>) -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

// Tests that contrast logits are [batch, seq, vocab].
func.func @contrast_loss_logits_rank(%l: tensor<8x64xf32>, %p: tensor<8xi32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.contrast_loss' op logits must have rank 3, got shape [8x64]}}
  %0 = circ.contrast_loss %l, %p, %p, %p : tensor<8x64xf32>, tensor<8xi32>
  return %0 : tensor<f32>
}

// -----

// Tests that positions are one index per prompt.
func.func @contrast_loss_positions_rank(%l: tensor<8x4x64xf32>, %p: tensor<8x1xi32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.contrast_loss' op positions must have rank 1, got shape [8x1]}}
  %0 = circ.contrast_loss %l, %p, %p, %p : tensor<8x4x64xf32>, tensor<8x1xi32>
  return %0 : tensor<f32>
}

// -----

// Tests that positions cover every prompt.
func.func @contrast_loss_prompts(%l: tensor<8x4x64xf32>, %p: tensor<6xi32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.contrast_loss' op positions has 6 entries but the logits hold 8 prompts}}
  %0 = circ.contrast_loss %l, %p, %p, %p : tensor<8x4x64xf32>, tensor<6xi32>
  return %0 : tensor<f32>
}

// -----

// Tests that positions, correct and wrong share one type (ODS constraint).
func.func @contrast_loss_types(%l: tensor<8x4x64xf32>, %p: tensor<8xi32>, %c: tensor<4xi32>) -> tensor<f32> {
  // expected-error @+1 {{'circ.contrast_loss' op failed to verify that all of {positions, correct, wrong} have same type}}
  %0 = "circ.contrast_loss"(%l, %p, %c, %p) : (tensor<8x4x64xf32>, tensor<8xi32>, tensor<4xi32>, tensor<8xi32>) -> tensor<f32>
  return %0 : tensor<f32>
}
