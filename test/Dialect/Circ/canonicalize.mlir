// RUN: circ-opt %s -canonicalize -split-input-file | FileCheck %s

// Canonical form of circ.abs_topk: `fraction` is spelled as `k` once the width
// is known, and keeping every entry without a node location is the identity.

// Tests that fraction becomes k = floor(fraction · width).
// CHECK-LABEL: func.func @fraction_to_k
// CHECK: %[[A:.*]] = circ.abs_topk %{{.*}} {k = 16 : i64} : tensor<2x8x64xf32>
// CHECK: %[[B:.*]] = circ.abs_topk %{{.*}} {k = 3 : i64, layer = 2 : i64, site = #circ.site<attn_v>} : tensor<2x8x10xf32>
// CHECK-NOT: fraction
// CHECK: return %[[A]], %[[B]]
func.func @fraction_to_k(%x: tensor<2x8x64xf32>, %y: tensor<2x8x10xf32>) -> (tensor<2x8x64xf32>, tensor<2x8x10xf32>) {
  %0 = circ.abs_topk %x {fraction = 0.25 : f64} : tensor<2x8x64xf32>
  %1 = circ.abs_topk %y {fraction = 0.35 : f64, layer = 2 : i64, site = #circ.site<attn_v>} : tensor<2x8x10xf32>
  return %0, %1 : tensor<2x8x64xf32>, tensor<2x8x10xf32>
}

// -----

// Tests that a fraction too small to keep one entry still keeps one.
// CHECK-LABEL: func.func @fraction_at_least_one
// CHECK: circ.abs_topk %{{.*}} {k = 1 : i64} : tensor<4x10xf32>
func.func @fraction_at_least_one(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  %0 = circ.abs_topk %x {fraction = 0.01 : f64} : tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

// Tests that a fraction over a dynamic width stays a fraction.
// CHECK-LABEL: func.func @fraction_dynamic_width
// CHECK: circ.abs_topk %{{.*}} {fraction = 2.500000e-01 : f64} : tensor<4x?xf32>
func.func @fraction_dynamic_width(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %0 = circ.abs_topk %x {fraction = 0.25 : f64} : tensor<4x?xf32>
  return %0 : tensor<4x?xf32>
}

// -----

// Tests that k = width without a site folds away, and so does fraction 1.
// CHECK-LABEL: func.func @identity_fold
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x64xf32>)
// CHECK-NOT: circ.abs_topk
// CHECK: return %[[X]], %[[X]]
func.func @identity_fold(%x: tensor<2x8x64xf32>) -> (tensor<2x8x64xf32>, tensor<2x8x64xf32>) {
  %0 = circ.abs_topk %x {k = 64 : i64} : tensor<2x8x64xf32>
  %1 = circ.abs_topk %x {fraction = 1.0 : f64} : tensor<2x8x64xf32>
  return %0, %1 : tensor<2x8x64xf32>, tensor<2x8x64xf32>
}

// -----

// Tests that k = width at a node location is kept: pruning still needs the
// site.
// CHECK-LABEL: func.func @no_fold_with_site
// CHECK: %[[A:.*]] = circ.abs_topk %{{.*}} {k = 64 : i64, layer = 0 : i64, site = #circ.site<mlp_in>} : tensor<2x8x64xf32>
// CHECK: return %[[A]]
func.func @no_fold_with_site(%x: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  %0 = circ.abs_topk %x {k = 64 : i64, layer = 0 : i64, site = #circ.site<mlp_in>} : tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// -----

// Tests that k below the width, and k over a dynamic width, do not fold.
// CHECK-LABEL: func.func @no_fold_partial
// CHECK: circ.abs_topk %{{.*}} {k = 63 : i64} : tensor<2x8x64xf32>
// CHECK: circ.abs_topk %{{.*}} {k = 64 : i64} : tensor<2x8x?xf32>
func.func @no_fold_partial(%x: tensor<2x8x64xf32>, %y: tensor<2x8x?xf32>) -> (tensor<2x8x64xf32>, tensor<2x8x?xf32>) {
  %0 = circ.abs_topk %x {k = 63 : i64} : tensor<2x8x64xf32>
  %1 = circ.abs_topk %y {k = 64 : i64} : tensor<2x8x?xf32>
  return %0, %1 : tensor<2x8x64xf32>, tensor<2x8x?xf32>
}
