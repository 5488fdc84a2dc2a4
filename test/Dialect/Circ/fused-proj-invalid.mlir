// RUN: circ-opt %s --split-input-file --verify-diagnostics

// Tests that circ.fused_proj checks the projection like circ.proj does.
func.func @in_width(%x: tensor<4x16xf32>, %w: tensor<8x32xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op weight expects 32 input features ([out, in] = [8x32]) but the input has 16}}
  %y = circ.fused_proj %x, %w {k = 2 : i64} : tensor<4x16xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @scale_width(%x: tensor<4x32xf32>, %w: tensor<8x32xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op scale has 8 entries but the weight's input width is 32}}
  %y = circ.fused_proj %x, %w scale(%g : tensor<8xf32>) : tensor<4x32xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @k_too_large(%x: tensor<4x32xf32>, %w: tensor<8x32xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op k = 9 exceeds the weight's output width 8}}
  %y = circ.fused_proj %x, %w {k = 9 : i64} : tensor<4x32xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @k_zero(%x: tensor<4x32xf32>, %w: tensor<8x32xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op k must be at least 1, got 0}}
  %y = circ.fused_proj %x, %w {k = 0 : i64} : tensor<4x32xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @mean_without_gate(%x: tensor<4x32xf32>, %w: tensor<8x32xf32>, %m: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op 'mean' needs a gate ('tau' operand)}}
  %y = circ.fused_proj %x, %w mean(%m : tensor<8xf32>) : tensor<4x32xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @tau_width(%x: tensor<4x32xf32>, %w: tensor<8x32xf32>, %t: tensor<32xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op tau has 32 entries but the weight's output width is 8}}
  %y = circ.fused_proj %x, %w gate(%t : tensor<32xf32>) : tensor<4x32xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @site_without_epilogue(%x: tensor<4x32xf32>, %w: tensor<8x32xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op 'site' and 'layer' name the node location of an AbsTopK or gate epilogue; this op has neither}}
  %y = circ.fused_proj %x, %w {gelu, site = #circ.site<mlp_out>} : tensor<4x32xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @negative_layer(%x: tensor<4x32xf32>, %w: tensor<8x32xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'circ.fused_proj' op layer must be >= 0, got -1}}
  %y = circ.fused_proj %x, %w {k = 2 : i64, layer = -1 : i64} : tensor<4x32xf32>, tensor<8x32xf32> -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
