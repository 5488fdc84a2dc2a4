// RUN: circ-opt %s --circ-fold-rmsnorm-gain --split-input-file | FileCheck %s
// RUN: circ-opt %s --circ-fold-rmsnorm-gain --circ-fuse-projection-epilogue --split-input-file | FileCheck %s --check-prefix=FUSE

#csr = #circ.sparsity<density = 6.250000e-02, min_per_unit = 4, axis = rows, layout = csr>

// Tests the typical case, ln_f before the unembedding: the norm keeps a
// unit gain (epsilon unchanged) and the projection scales its weight by
// the gain.
// CHECK-LABEL: func.func @ln_f
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: tensor<2x8x32xf32>, %[[G:[a-z0-9_]+]]: tensor<32xf32>, %[[W:[a-z0-9_]+]]: tensor<64x32xf32, #{{.*}}>)
// CHECK-NEXT: %[[ONE:[a-z0-9_]+]] = arith.constant dense<1.000000e+00> : tensor<32xf32>
// CHECK-NEXT: %[[N:[a-z0-9_]+]] = circ.rmsnorm %[[X]], %[[ONE]] {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT: %[[Y:[a-z0-9_]+]] = circ.fused_proj %[[N]], %[[W]] scale(%[[G]] : tensor<32xf32>) : tensor<2x8x32xf32>, tensor<64x32xf32, #{{.*}}> -> tensor<2x8x64xf32>
// CHECK-NEXT: return %[[Y]]
func.func @ln_f(%x: tensor<2x8x32xf32>, %g: tensor<32xf32>, %w: tensor<64x32xf32, #csr>) -> tensor<2x8x64xf32> {
  %n = circ.rmsnorm %x, %g {epsilon = 1.0e-05 : f64} : tensor<2x8x32xf32>, tensor<32xf32>
  %y = circ.proj %n, %w : tensor<2x8x32xf32>, tensor<64x32xf32, #csr> -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// -----

// Tests that a norm feeding several projections folds into each (the
// q|k|v and a second reader), keeping biases, and that an epilogue fused
// afterwards keeps the scale.
// CHECK-LABEL: func.func @two_readers
// CHECK: %[[N:[a-z0-9_]+]] = circ.rmsnorm
// CHECK-NEXT: circ.fused_proj %[[N]], %{{.*}} bias(%{{.*}} : tensor<16xf32>) scale(%{{.*}} : tensor<8xf32>)
// CHECK-NEXT: circ.fused_proj %[[N]], %{{.*}} scale(%{{.*}} : tensor<8xf32>)
// FUSE-LABEL: func.func @two_readers
// FUSE: circ.fused_proj {{.*}} bias({{.*}}) scale({{.*}}) : tensor<4x8xf32>
// FUSE: circ.fused_proj {{.*}} scale({{.*}}) {k = 2 : i64}
func.func @two_readers(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %w1: tensor<16x8xf32>, %b1: tensor<16xf32>,
                       %w2: tensor<8x8xf32>) -> (tensor<4x16xf32>, tensor<4x8xf32>) {
  %n = circ.rmsnorm %x, %g : tensor<4x8xf32>, tensor<8xf32>
  %y1 = circ.proj %n, %w1, %b1 : tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %y2 = circ.proj %n, %w2 : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %a = circ.abs_topk %y2 {k = 2 : i64} : tensor<4x8xf32>
  return %y1, %a : tensor<4x16xf32>, tensor<4x8xf32>
}

// -----

// Tests the pruning step's form: only the thresholds are differentiated,
// so the backward reads the gain through rmsnorm_grad (unchanged) and
// the weight through proj_grad_input, never the normalised value: the
// gain folds.
// CHECK-LABEL: func.func @tau_only_backward
// CHECK: %[[N:[a-z0-9_]+]] = circ.rmsnorm %[[X:[a-z0-9_]+]], %{{.*}} :
// CHECK-NEXT: circ.fused_proj %[[N]], %[[W:[a-z0-9_]+]] scale(%[[G:[a-z0-9_]+]] : tensor<8xf32>)
// CHECK: circ.proj_grad_input %{{.*}}, %[[W]]
// CHECK: circ.rmsnorm_grad %{{.*}}, %[[X]], %[[G]]
func.func @tau_only_backward(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %w: tensor<16x8xf32>, %dy: tensor<4x16xf32>)
    -> (tensor<4x16xf32>, tensor<4x8xf32>) {
  %n = circ.rmsnorm %x, %g : tensor<4x8xf32>, tensor<8xf32>
  %y = circ.proj %n, %w : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %dn = circ.proj_grad_input %dy, %w : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  %dx, %dg = circ.rmsnorm_grad %dn, %x, %g : tensor<4x8xf32>, tensor<8xf32>
  return %y, %dx : tensor<4x16xf32>, tensor<4x8xf32>
}
