// RUN: circ-opt %s --convert-circ-to-loops --canonicalize --cse | FileCheck %s

// Tests that residual_add is one parallel loop over the flattened rows with
// full vectors along the width and a masked tail (40 = 2·16 + 8).
// CHECK-LABEL: func.func @residual_add
// CHECK-SAME: (%[[A:.*]]: memref<2x3x40xf32>, %[[B:.*]]: memref<2x3x40xf32>) -> memref<2x3x40xf32>
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : index
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x3x40xf32>
// CHECK-DAG: %[[AV:.*]] = memref.collapse_shape %[[A]] {{\[}}[0, 1], [2]] : memref<2x3x40xf32> into memref<6x40xf32>
// CHECK-DAG: %[[BV:.*]] = memref.collapse_shape %[[B]]
// CHECK-DAG: %[[OV:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: scf.parallel (%[[ROW:.*]]) = (%{{.*}}) to (%[[C6]])
// CHECK: %[[X:.*]] = vector.load %[[AV]][%[[ROW]], %{{.*}}] : memref<6x40xf32>, vector<16xf32>
// CHECK: %[[Y:.*]] = vector.load %[[BV]][%[[ROW]], %{{.*}}]
// CHECK: %[[S:.*]] = arith.addf %[[X]], %[[Y]] fastmath<contract> : vector<16xf32>
// CHECK: vector.store %[[S]], %[[OV]][%[[ROW]], %{{.*}}]
// CHECK: %[[MASK:.*]] = vector.constant_mask [8] : vector<16xi1>
// CHECK: %[[XT:.*]] = vector.maskedload %[[AV]][%[[ROW]], %{{.*}}], %[[MASK]]
// CHECK: %[[YT:.*]] = vector.maskedload %[[BV]][%[[ROW]], %{{.*}}], %[[MASK]]
// CHECK: %[[ST:.*]] = arith.addf %[[XT]], %[[YT]]
// CHECK: vector.maskedstore %[[OV]][%[[ROW]], %{{.*}}], %[[MASK]], %[[ST]]
// CHECK: return %[[OUT]]
func.func @residual_add(%a: tensor<2x3x40xf32>, %b: tensor<2x3x40xf32>) -> tensor<2x3x40xf32> {
  %0 = circ.residual_add %a, %b : tensor<2x3x40xf32>
  return %0 : tensor<2x3x40xf32>
}

// Tests that gelu is the exact erf form 0.5·x·(1 + erf(x/√2)) = fma(x/2, erf, x/2).
// CHECK-LABEL: func.func @gelu
// CHECK-DAG: %[[HALF:.*]] = arith.constant dense<5.000000e-01> : vector<16xf32>
// CHECK-DAG: %[[RSQRT2:.*]] = arith.constant dense<0.707106769> : vector<16xf32>
// CHECK: scf.parallel
// CHECK: %[[X:.*]] = vector.load
// CHECK: %[[S:.*]] = arith.mulf %[[X]], %[[RSQRT2]]
// CHECK: %[[E:.*]] = math.erf %[[S]] : vector<16xf32>
// CHECK: %[[H:.*]] = arith.mulf %[[X]], %[[HALF]]
// CHECK: %[[G:.*]] = vector.fma %[[H]], %[[E]], %[[H]] : vector<16xf32>
// CHECK: vector.store %[[G]]
func.func @gelu(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %0 = circ.gelu %x : tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// Tests that a mean-ablation gate selects the input where tau >= 0 and the
// channel mean elsewhere, with tau and mean loaded per channel.
// CHECK-LABEL: func.func @mask_gate_mean
// CHECK-SAME: (%[[X:.*]]: memref<4x32xf32>, %[[TAU:.*]]: memref<32xf32>, %[[MU:.*]]: memref<32xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: scf.parallel (%[[ROW:.*]]) =
// CHECK: scf.for %[[COL:.*]] =
// CHECK: %[[V:.*]] = vector.load %[[X]][%[[ROW]], %[[COL]]]
// CHECK: %[[T:.*]] = vector.load %[[TAU]][%[[COL]]]
// CHECK: %[[KEEP:.*]] = arith.cmpf oge, %[[T]], %[[ZERO]]
// CHECK: %[[M:.*]] = vector.load %[[MU]][%[[COL]]]
// CHECK: arith.select %[[KEEP]], %[[V]], %[[M]]
func.func @mask_gate_mean(%x: tensor<4x32xf32>, %tau: tensor<32xf32>, %mu: tensor<32xf32>) -> tensor<4x32xf32> {
  %0 = circ.mask_gate %x, %tau, %mu {ablation = #circ.ablation<mean>} : tensor<4x32xf32>, tensor<32xf32>, tensor<32xf32>
  return %0 : tensor<4x32xf32>
}

// Tests that zero ablation selects a zero vector instead of a mean.
// CHECK-LABEL: func.func @mask_gate_zero
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: %[[V:.*]] = vector.load
// CHECK: %[[KEEP:.*]] = arith.cmpf oge
// CHECK: arith.select %[[KEEP]], %[[V]], %[[ZERO]]
func.func @mask_gate_zero(%x: tensor<4x32xf32>, %tau: tensor<32xf32>) -> tensor<4x32xf32> {
  %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<zero>} : tensor<4x32xf32>, tensor<32xf32>
  return %0 : tensor<4x32xf32>
}

// Tests that add_positions reads table row (row mod seq) for every token row.
// CHECK-LABEL: func.func @add_positions
// CHECK-SAME: (%[[X:.*]]: memref<2x8x32xf32>, %[[TABLE:.*]]: memref<16x32xf32>)
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: scf.parallel (%[[ROW:.*]]) =
// CHECK: %[[POS:.*]] = arith.remui %[[ROW]], %[[C8]] : index
// CHECK: vector.load %[[TABLE]][%[[POS]], %{{.*}}]
func.func @add_positions(%x: tensor<2x8x32xf32>, %t: tensor<16x32xf32>) -> tensor<2x8x32xf32> {
  %0 = circ.add_positions %x, %t : tensor<2x8x32xf32>, tensor<16x32xf32>
  return %0 : tensor<2x8x32xf32>
}

// Tests that a dynamic batch dimension is read from the input for the result.
// CHECK-LABEL: func.func @dynamic_batch
// CHECK-SAME: (%[[X:.*]]: memref<?x4x32xf32>) -> memref<?x4x32xf32>
// CHECK: %[[B:.*]] = memref.dim %[[X]], %c0
// CHECK: memref.alloc(%[[B]]) {alignment = 64 : i64} : memref<?x4x32xf32>
func.func @dynamic_batch(%x: tensor<?x4x32xf32>) -> tensor<?x4x32xf32> {
  %0 = circ.gelu %x : tensor<?x4x32xf32>
  return %0 : tensor<?x4x32xf32>
}
