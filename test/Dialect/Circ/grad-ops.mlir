// RUN: circ-opt %s | circ-opt | FileCheck %s
// RUN: circ-opt %s --mlir-print-op-generic | circ-opt | FileCheck %s

// Tests that the lookup gradients round-trip, including a sparse table's
// dense gradient.
// CHECK-LABEL: func.func @lookups
// CHECK: circ.embed_grad %{{.*}}, %{{.*}} : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<64x16xf32>
// CHECK: circ.add_positions_grad %{{.*}} : tensor<2x8x16xf32> -> tensor<32x16xf32>
func.func @lookups(%dy: tensor<2x8x16xf32>, %ids: tensor<2x8xi32>)
    -> (tensor<64x16xf32>, tensor<32x16xf32>) {
  %0 = circ.embed_grad %dy, %ids : tensor<2x8x16xf32>, tensor<2x8xi32> -> tensor<64x16xf32>
  %1 = circ.add_positions_grad %dy : tensor<2x8x16xf32> -> tensor<32x16xf32>
  return %0, %1 : tensor<64x16xf32>, tensor<32x16xf32>
}

// Tests that the three projection gradients round-trip with a sparse weight
// and the activation-sparsity hints.
// CHECK-LABEL: func.func @proj
// CHECK: circ.proj_grad_input %{{.*}}, %{{.*}} : tensor<2x8x32xf32>, tensor<32x16xf32, #circ.sparsity<{{.*}}>> -> tensor<2x8x16xf32>
// CHECK: circ.proj_grad_weight %{{.*}}, %{{.*}} {sparse_grad, sparse_input} : tensor<2x8x32xf32>, tensor<2x8x16xf32> -> tensor<32x16xf32>
// CHECK: circ.proj_grad_bias %{{.*}} : tensor<2x8x32xf32> -> tensor<32xf32>
func.func @proj(%dy: tensor<2x8x32xf32>, %x: tensor<2x8x16xf32>,
                %w: tensor<32x16xf32, #circ.sparsity<density = 2.5e-01, min_per_unit = 4, axis = rows, layout = csr>>)
    -> (tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) {
  %0 = circ.proj_grad_input %dy, %w : tensor<2x8x32xf32>, tensor<32x16xf32, #circ.sparsity<density = 2.5e-01, min_per_unit = 4, axis = rows, layout = csr>> -> tensor<2x8x16xf32>
  %1 = circ.proj_grad_weight %dy, %x {sparse_input, sparse_grad} : tensor<2x8x32xf32>, tensor<2x8x16xf32> -> tensor<32x16xf32>
  %2 = circ.proj_grad_bias %dy : tensor<2x8x32xf32> -> tensor<32xf32>
  return %0, %1, %2 : tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>
}

// Tests that the norm and activation gradients round-trip.
// CHECK-LABEL: func.func @activations
// CHECK: %input_grad, %gain_grad = circ.rmsnorm_grad %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
// CHECK: circ.abs_topk_grad %{{.*}}, %{{.*}} {k = 4 : i64} : tensor<2x8x16xf32>
// CHECK: circ.gelu_grad %{{.*}}, %{{.*}} : tensor<2x8x16xf32>
func.func @activations(%dy: tensor<2x8x16xf32>, %x: tensor<2x8x16xf32>,
                       %g: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %dx, %dg = circ.rmsnorm_grad %dy, %x, %g {epsilon = 1.0e-05 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
  %0 = circ.abs_topk_grad %dx, %x {k = 4 : i64} : tensor<2x8x16xf32>
  %1 = circ.gelu_grad %0, %x : tensor<2x8x16xf32>
  return %1 : tensor<2x8x16xf32>
}

// Tests that attention_grad round-trips with and without a sink, inferring
// three or four results.
// CHECK-LABEL: func.func @attention
// CHECK: %query_grad, %key_grad, %value_grad, %sink_grad = circ.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_heads = 2 : i64} : tensor<2x8x16xf32>, tensor<2xf32>
// CHECK: %query_grad_0, %key_grad_1, %value_grad_2 = circ.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {num_heads = 4 : i64} : tensor<2x8x16xf32>
func.func @attention(%dy: tensor<2x8x16xf32>, %q: tensor<2x8x16xf32>,
                     %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>,
                     %y: tensor<2x8x16xf32>, %sink: tensor<2xf32>)
    -> (tensor<2x8x16xf32>, tensor<2xf32>, tensor<2x8x16xf32>) {
  %dq, %dk, %dv, %ds = circ.attention_grad %dy, %q, %k, %v, %y, %sink {num_heads = 2 : i64} : tensor<2x8x16xf32>, tensor<2xf32>
  %dq2, %dk2, %dv2 = circ.attention_grad %dy, %q, %k, %v, %y {num_heads = 4 : i64} : tensor<2x8x16xf32>
  return %dq, %ds, %dv2 : tensor<2x8x16xf32>, tensor<2xf32>, tensor<2x8x16xf32>
}

// Tests that mask_gate_grad round-trips with mean and zero ablation.
// CHECK-LABEL: func.func @gates
// CHECK: %input_grad, %tau_grad, %mean_grad = circ.mask_gate_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {ablation = #circ.ablation<mean>, temperature = 5.000000e-01 : f64} : tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>
// CHECK: %input_grad_0, %tau_grad_1 = circ.mask_gate_grad %{{.*}}, %{{.*}}, %{{.*}} {ablation = #circ.ablation<zero>} : tensor<2x8x16xf32>, tensor<16xf32>
func.func @gates(%dy: tensor<2x8x16xf32>, %x: tensor<2x8x16xf32>,
                 %tau: tensor<16xf32>, %mu: tensor<16xf32>) -> tensor<16xf32> {
  %dx, %dtau, %dmu = circ.mask_gate_grad %dy, %x, %tau, %mu {ablation = #circ.ablation<mean>, temperature = 0.5 : f64} : tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>
  %dx2, %dtau2 = circ.mask_gate_grad %dy, %x, %tau {ablation = #circ.ablation<zero>} : tensor<2x8x16xf32>, tensor<16xf32>
  return %dtau2 : tensor<16xf32>
}

// Tests that the loss gradients round-trip.
// CHECK-LABEL: func.func @losses
// CHECK: circ.next_token_loss_grad %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x64xf32>, tensor<2x8xi32>
// CHECK: circ.contrast_loss_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x64xf32>, tensor<2xi32>
func.func @losses(%one: tensor<f32>, %logits: tensor<2x8x64xf32>,
                  %targets: tensor<2x8xi32>, %pos: tensor<2xi32>,
                  %yes: tensor<2xi32>, %no: tensor<2xi32>)
    -> (tensor<2x8x64xf32>, tensor<2x8x64xf32>) {
  %0 = circ.next_token_loss_grad %one, %logits, %targets : tensor<2x8x64xf32>, tensor<2x8xi32>
  %1 = circ.contrast_loss_grad %one, %logits, %pos, %yes, %no : tensor<2x8x64xf32>, tensor<2xi32>
  return %0, %1 : tensor<2x8x64xf32>, tensor<2x8x64xf32>
}
