// RUN: circ-opt %s --circ-fuse-projection-epilogue --split-input-file | FileCheck %s
// RUN: circ-opt %s --circ-fuse-projection-epilogue --split-input-file | circ-opt --split-input-file | FileCheck %s

#csr = #circ.sparsity<density = 6.250000e-02, min_per_unit = 4, axis = rows, layout = csr>

// Tests that a whole MLP neuron site fuses: proj (with bias) → gelu →
// abs_topk → mask_gate becomes one fused_proj carrying GELU, k, the gate's
// thresholds and means, and the node location.
// CHECK-LABEL: func.func @mlp_neuron
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: tensor<2x8x32xf32>, %[[W:[a-z0-9_]+]]: tensor<64x32xf32, #{{.*}}>, %[[B:[a-z0-9_]+]]: tensor<64xf32>, %[[TAU:[a-z0-9_]+]]: tensor<64xf32>, %[[MU:[a-z0-9_]+]]: tensor<64xf32>)
// CHECK-NEXT: %[[Y:[a-z0-9_]+]] = circ.fused_proj %[[X]], %[[W]] bias(%[[B]] : tensor<64xf32>) gate(%[[TAU]] : tensor<64xf32>) mean(%[[MU]] : tensor<64xf32>) {gelu, k = 16 : i64, layer = 1 : i64, site = #circ.site<mlp_neuron>} : tensor<2x8x32xf32>, tensor<64x32xf32, #{{.*}}> -> tensor<2x8x64xf32>
// CHECK-NEXT: return %[[Y]]
func.func @mlp_neuron(%x: tensor<2x8x32xf32>, %w: tensor<64x32xf32, #csr>, %b: tensor<64xf32>,
                      %tau: tensor<64xf32>, %mu: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %h = circ.proj %x, %w, %b : tensor<2x8x32xf32>, tensor<64x32xf32, #csr>, tensor<64xf32> -> tensor<2x8x64xf32>
  %g = circ.gelu %h : tensor<2x8x64xf32>
  %a = circ.abs_topk %g {k = 16 : i64, layer = 1 : i64, site = #circ.site<mlp_neuron>} : tensor<2x8x64xf32>
  %m = circ.mask_gate %a, %tau, %mu {ablation = #circ.ablation<mean>, layer = 1 : i64, site = #circ.site<mlp_neuron>} : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %m : tensor<2x8x64xf32>
}

// -----

// Tests that a residual write (attn_out) fuses proj → abs_topk without a
// bias, and that the fused result keeps feeding the residual stream.
// CHECK-LABEL: func.func @attn_out
// CHECK: %[[Y:[a-z0-9_]+]] = circ.fused_proj %{{.*}}, %{{.*}} {k = 8 : i64, layer = 0 : i64, site = #circ.site<attn_out>} : tensor<8x32xf32>, tensor<32x32xf32> -> tensor<8x32xf32>
// CHECK-NEXT: circ.residual_add %{{.*}}, %[[Y]]
func.func @attn_out(%r: tensor<8x32xf32>, %x: tensor<8x32xf32>, %w: tensor<32x32xf32>) -> tensor<8x32xf32> {
  %p = circ.proj %x, %w : tensor<8x32xf32>, tensor<32x32xf32> -> tensor<8x32xf32>
  %a = circ.abs_topk %p {k = 8 : i64, layer = 0 : i64, site = #circ.site<attn_out>} : tensor<8x32xf32>
  %s = circ.residual_add %r, %a : tensor<8x32xf32>
  return %s : tensor<8x32xf32>
}

// -----

// Tests that a zero-ablation gate directly after a projection fuses (no
// `mean` operand) and that a `fraction` is resolved to k.
// CHECK-LABEL: func.func @gate_only
// CHECK: circ.fused_proj %{{.*}}, %{{.*}} gate(%{{.*}} : tensor<16xf32>) {layer = 2 : i64, site = #circ.site<mlp_out>} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
// CHECK-LABEL: func.func @fraction
// CHECK: circ.fused_proj {{.*}} {k = 4 : i64}
func.func @gate_only(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %tau: tensor<16xf32>) -> tensor<4x16xf32> {
  %p = circ.proj %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %m = circ.mask_gate %p, %tau {ablation = #circ.ablation<zero>, layer = 2 : i64, site = #circ.site<mlp_out>} : tensor<4x16xf32>, tensor<16xf32>
  return %m : tensor<4x16xf32>
}
func.func @fraction(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %p = circ.proj %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %a = circ.abs_topk %p {fraction = 2.5e-01 : f64} : tensor<4x16xf32>
  return %a : tensor<4x16xf32>
}

// -----

// Tests the rule for intermediates with other uses, as in a training step:
// the pre-GELU value is read by gelu_grad, so nothing fuses into c_fc; the
// AbsTopK output is read by abs_topk_grad, so c_proj fuses only proj →
// abs_topk and the fused result replaces the AbsTopK output in the
// backward too.
// CHECK-LABEL: func.func @training_step
// CHECK: %[[H:[a-z0-9_]+]] = circ.proj
// CHECK-NEXT: circ.gelu %[[H]]
// CHECK-NEXT: circ.gelu_grad %{{.*}}, %[[H]]
// CHECK-NEXT: %[[F:[a-z0-9_]+]] = circ.fused_proj {{.*}} {k = 4 : i64}
// CHECK-NEXT: circ.abs_topk_grad %{{.*}}, %[[F]]
// CHECK-NEXT: circ.mask_gate %[[F]]
func.func @training_step(%x: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>,
                         %dy: tensor<4x16xf32>, %dz: tensor<4x8xf32>, %tau: tensor<8xf32>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %h = circ.proj %x, %w1 : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %g = circ.gelu %h : tensor<4x16xf32>
  %dh = circ.gelu_grad %dy, %h : tensor<4x16xf32>
  %p = circ.proj %g, %w2 : tensor<4x16xf32>, tensor<8x16xf32> -> tensor<4x8xf32>
  %a = circ.abs_topk %p {k = 4 : i64} : tensor<4x8xf32>
  %da = circ.abs_topk_grad %dz, %a {k = 4 : i64} : tensor<4x8xf32>
  %m = circ.mask_gate %a, %tau {ablation = #circ.ablation<zero>} : tensor<4x8xf32>, tensor<8xf32>
  return %g, %dh, %da, %m : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Tests that a fused_proj made by circ-fold-rmsnorm-gain (a scale, no
// epilogue yet) takes the epilogue and keeps its scale.
// CHECK-LABEL: func.func @scaled
// CHECK: circ.fused_proj %{{.*}}, %{{.*}} scale(%{{.*}} : tensor<8xf32>) {gelu} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
func.func @scaled(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %g: tensor<8xf32>) -> tensor<4x16xf32> {
  %p = circ.fused_proj %x, %w scale(%g : tensor<8xf32>) : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %h = circ.gelu %p : tensor<4x16xf32>
  return %h : tensor<4x16xf32>
}

// -----

// Tests that a projection without an epilogue op stays a circ.proj.
// CHECK-LABEL: func.func @plain
// CHECK-NEXT: circ.proj
// CHECK-NOT: circ.fused_proj
func.func @plain(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  %p = circ.proj %x, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  return %p : tensor<4x16xf32>
}
