// RUN: circ-opt %s --convert-circ-to-loops --canonicalize --cse | FileCheck %s

#csr = #circ.sparsity<density = 6.250000e-02, min_per_unit = 4, axis = rows, layout = csr>

// Tests the whole fused kernel on a CSR weight: the folded gain scales the
// nonzeros once (a parallel loop over rows writing fresh values, the only
// heap buffer); then one parallel loop over tiles of tokens computes the
// product on the scaled values, GELU on the feature-major tile, transposes
// it into a token-major stack tile, and runs the AbsTopK row selection on
// that tile, gating every stored value and writing straight into the
// result. No pre-activation buffer exists outside the tile.
// CHECK-LABEL: func.func @full
// CHECK-SAME: %[[CI:[a-z0-9_]+]]: memref<?xi32> {circ.buffer = "col_idx"}, %[[VAL:[a-z0-9_]+]]: memref<?xf32> {circ.buffer = "values"}
// CHECK-SAME: %[[G:[a-z0-9_]+]]: memref<64xf32>, %[[TAU:[a-z0-9_]+]]: memref<32xf32>, %[[MU:[a-z0-9_]+]]: memref<32xf32>, %[[OUT:[a-z0-9_]+]]: memref<4x40x32xf32> {circ.result = 0 : i64})
// CHECK: %[[SCALED:[a-z0-9_]+]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK: scf.parallel
// CHECK: %[[KI:[a-z0-9_]+]] = memref.load %[[CI]]
// CHECK: %[[K:[a-z0-9_]+]] = arith.index_cast %[[KI]]
// CHECK: %[[V:[a-z0-9_]+]] = memref.load %[[VAL]]
// CHECK: %[[S:[a-z0-9_]+]] = memref.load %[[G]][%[[K]]]
// CHECK: %[[P:[a-z0-9_]+]] = arith.mulf %[[V]], %[[S]]
// CHECK: memref.store %[[P]], %[[SCALED]]
// CHECK-NOT: memref.alloc(
// CHECK: %[[RESULT:[a-z0-9_]+]] = memref.collapse_shape %[[OUT]]
// CHECK: scf.parallel
// CHECK: %[[XT:[a-z0-9_]+]] = memref.alloca() {alignment = 64 : i64} : memref<64x64xf32>
// CHECK: %[[YT:[a-z0-9_]+]] = memref.alloca() {alignment = 64 : i64} : memref<32x64xf32>
// CHECK: memref.load %[[SCALED]]
// CHECK: vector.fma
// GELU in place on Yt (the erfc polynomial's exp):
// CHECK: math.exp {{.*}} : vector<16xf32>
// CHECK: vector.store %{{.*}}, %[[YT]]
// CHECK: %[[Z:[a-z0-9_]+]] = memref.alloca() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK: vector.maskedstore %[[Z]]
// Per token: 31 halvings counting keys ≥ mid over the row of Z.
// CHECK: scf.for %{{.*}} = %c0 to %c31
// CHECK: vector.load %[[Z]]
// CHECK: arith.cmpi sge
// Keep pass, gated, into the result row.
// CHECK: %[[KEEP:[a-z0-9_]+]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK: %[[T:[a-z0-9_]+]] = vector.load %[[TAU]]
// CHECK: %[[ON:[a-z0-9_]+]] = arith.cmpf oge, %[[T]]
// CHECK: %[[M:[a-z0-9_]+]] = vector.load %[[MU]]
// CHECK: %[[GATED:[a-z0-9_]+]] = arith.select %[[ON]], %[[KEEP]], %[[M]]
// CHECK: vector.store %[[GATED]], %[[RESULT]]
// Ties in index order, gated too.
// CHECK: scf.if
// CHECK: memref.load %[[TAU]]
// CHECK: memref.store %{{.*}}, %[[RESULT]]
// CHECK-NOT: memref.alloc(
// CHECK: return
func.func @full(%x: tensor<4x40x64xf32>, %w: tensor<32x64xf32, #csr>, %b: tensor<32xf32>, %g: tensor<64xf32>,
                %tau: tensor<32xf32>, %mu: tensor<32xf32>) -> tensor<4x40x32xf32> {
  %y = circ.fused_proj %x, %w bias(%b : tensor<32xf32>) scale(%g : tensor<64xf32>) gate(%tau : tensor<32xf32>) mean(%mu : tensor<32xf32>) {gelu, k = 8 : i64} : tensor<4x40x64xf32>, tensor<32x64xf32, #csr> -> tensor<4x40x32xf32>
  return %y : tensor<4x40x32xf32>
}

// Tests the gate without AbsTopK: one decision per output feature, taken
// on the feature-major tile (a scalar threshold per row of Yt), before
// the tile is transposed into the result; no token-major tile.
// CHECK-LABEL: func.func @gate_only
// CHECK-SAME: %[[TAU:[a-z0-9_]+]]: memref<48xf32>, %[[OUT:[a-z0-9_]+]]: memref<200x48xf32>
// CHECK: scf.parallel
// CHECK: %[[YT:[a-z0-9_]+]] = memref.alloca() {alignment = 64 : i64} : memref<48x64xf32>
// CHECK: scf.for %[[N:[a-z0-9_]+]] = %c0 to %c48 step %c1
// CHECK: %[[T:[a-z0-9_]+]] = memref.load %[[TAU]][%[[N]]]
// CHECK: %[[ON:[a-z0-9_]+]] = arith.cmpf oge, %[[T]], %{{.*}} : f32
// CHECK: %[[Z:[a-z0-9_]+]] = vector.load %[[YT]][%[[N]], %c0]
// CHECK: %[[G:[a-z0-9_]+]] = arith.select %[[ON]], %[[Z]], %{{.*}} : vector<16xf32>
// CHECK: vector.store %[[G]], %[[YT]][%[[N]], %c0]
// CHECK-NOT: memref.alloca
// CHECK: vector.maskedstore
// CHECK: return
func.func @gate_only(%x: tensor<200x16xf32>, %w: tensor<48x16xf32>, %tau: tensor<48xf32>) -> tensor<200x48xf32> {
  %y = circ.fused_proj %x, %w gate(%tau : tensor<48xf32>) : tensor<200x16xf32>, tensor<48x16xf32> -> tensor<200x48xf32>
  return %y : tensor<200x48xf32>
}

// Tests the normalisation circ-fold-rmsnorm-gain leaves: with a constant
// unit gain the scaling pass multiplies by the inverse RMS only and reads
// no gain buffer.
// CHECK-LABEL: func.func @unit_gain
// CHECK: scf.parallel
// CHECK: vector.reduction <add>
// CHECK: %[[V:[a-z0-9_]+]] = vector.load %arg0
// CHECK-NEXT: %[[S:[a-z0-9_]+]] = arith.mulf %[[V]], %{{.*}} : vector<16xf32>
// CHECK-NEXT: vector.store %[[S]]
func.func @unit_gain(%x: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %one = arith.constant dense<1.0> : tensor<32xf32>
  %n = circ.rmsnorm %x, %one : tensor<64x32xf32>, tensor<32xf32>
  return %n : tensor<64x32xf32>
}
