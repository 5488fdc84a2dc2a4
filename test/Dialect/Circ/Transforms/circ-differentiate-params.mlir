// RUN: circ-opt %s --circ-differentiate="func=task params=gate0.tau,gate1.*" | FileCheck %s

// Tests that `params` restricts the step to the selected parameters (exact
// names and a '*' prefix): only the gates' thresholds and the selected mean
// get gradients, no weight gradient is built, and nothing flows below the
// first gate. The function name comes from `func`.
// CHECK-LABEL: func.func @task_grad(
// CHECK-SAME: -> (tensor<f32>, tensor<8xf32> {circ.grad = "gate0.tau"}, tensor<8xf32> {circ.grad = "gate1.tau"}, tensor<8xf32> {circ.grad = "gate1.mean"})
// CHECK-NOT: circ.proj_grad_weight
// CHECK-NOT: circ.rmsnorm_grad
// CHECK: circ.contrast_loss_grad
// CHECK: %[[DX1:[a-z_0-9]+]], %[[DT1:[a-z_0-9]+]], %[[DM1:[a-z_0-9]+]] = circ.mask_gate_grad
// CHECK: circ.abs_topk_grad
// CHECK: circ.proj_grad_input
// CHECK: %[[DX0:[a-z_0-9]+]], %[[DT0:[a-z_0-9]+]], %{{[a-z_0-9]+}} = circ.mask_gate_grad
// CHECK-NOT: circ.proj_grad
// CHECK-NOT: circ.rmsnorm_grad
// CHECK: return %{{.*}}, %[[DT0]], %[[DT1]], %[[DM1]] :
func.func @task(%x: tensor<2x4x8xf32>, %pos: tensor<2xi32>, %yes: tensor<2xi32>, %no: tensor<2xi32>,
    %g: tensor<8xf32> {circ.param = "ln.weight"},
    %w: tensor<8x8xf32> {circ.param = "w"},
    %tau0: tensor<8xf32> {circ.param = "gate0.tau"},
    %mu0: tensor<8xf32> {circ.param = "gate0.mean"},
    %tau1: tensor<8xf32> {circ.param = "gate1.tau"},
    %mu1: tensor<8xf32> {circ.param = "gate1.mean"}) -> tensor<f32> {
  %n = circ.rmsnorm %x, %g : tensor<2x4x8xf32>, tensor<8xf32>
  %a = circ.abs_topk %n {k = 2 : i64, layer = 0 : i64, site = #circ.site<mlp_in>} : tensor<2x4x8xf32>
  %m = circ.mask_gate %a, %tau0, %mu0 {ablation = #circ.ablation<mean>, layer = 0 : i64, site = #circ.site<mlp_in>} : tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>
  %y = circ.proj %m, %w : tensor<2x4x8xf32>, tensor<8x8xf32> -> tensor<2x4x8xf32>
  %b = circ.abs_topk %y {k = 2 : i64, layer = 0 : i64, site = #circ.site<mlp_out>} : tensor<2x4x8xf32>
  %l = circ.mask_gate %b, %tau1, %mu1 {ablation = #circ.ablation<mean>, layer = 0 : i64, site = #circ.site<mlp_out>} : tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>
  %loss = circ.contrast_loss %l, %pos, %yes, %no : tensor<2x4x8xf32>, tensor<2xi32>
  return %loss : tensor<f32>
}
