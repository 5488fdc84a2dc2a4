// RUN: circ-opt %s --convert-circ-to-loops --canonicalize --cse | FileCheck %s

// Tests that residual_add is one parallel loop over the flattened rows with
// full vectors along the width and a masked tail (40 = 2·16 + 8).
// CHECK-LABEL: func.func @residual_add
// CHECK-SAME: (%[[A:.*]]: memref<2x3x40xf32>, %[[B:.*]]: memref<2x3x40xf32>, %[[OUT:.*]]: memref<2x3x40xf32> {circ.result = 0 : i64})
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : index
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
// CHECK: return{{$}}
func.func @residual_add(%a: tensor<2x3x40xf32>, %b: tensor<2x3x40xf32>) -> tensor<2x3x40xf32> {
  %0 = circ.residual_add %a, %b : tensor<2x3x40xf32>
  return %0 : tensor<2x3x40xf32>
}

// Tests that gelu is x·Φ(x) with Φ from erfc(|x|/√2) (no 1 + erf
// cancellation): t = 1/(1 + z/2), a degree-9 polynomial in t, exp, and the
// reflection Φ(x) = 1 − erfc/2 for x ≥ 0.
// CHECK-LABEL: func.func @gelu
// CHECK-SAME: (%[[X:.*]]: memref<4x32xf32>, %[[OUT:.*]]: memref<4x32xf32> {circ.result = 0 : i64})
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[HALF:.*]] = arith.constant dense<5.000000e-01> : vector<16xf32>
// CHECK-DAG: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[RSQRT2:.*]] = arith.constant dense<0.707106769> : vector<16xf32>
// CHECK: scf.parallel
// CHECK: %[[V:.*]] = vector.load %[[X]]
// CHECK: %[[A:.*]] = math.absf %[[V]]
// CHECK: %[[Z:.*]] = arith.mulf %[[A]], %[[RSQRT2]]
// CHECK: %[[D:.*]] = vector.fma %[[Z]], %[[HALF]], %[[ONE]]
// CHECK: %[[T:.*]] = arith.divf %[[ONE]], %[[D]]
// CHECK-COUNT-9: vector.fma %{{.*}}, %[[T]]
// CHECK: %[[HI:.*]] = arith.mulf %[[Z]], %[[Z]] : vector<16xf32>
// CHECK: math.exp
// CHECK: %[[NEG:.*]] = arith.cmpf olt, %[[V]], %[[ZERO]]
// CHECK: %[[CDF:.*]] = arith.select %[[NEG]]
// CHECK: %[[G:.*]] = arith.mulf %[[V]], %[[CDF]]
// CHECK: vector.store %[[G]], %[[OUT]]
func.func @gelu(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %0 = circ.gelu %x : tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// Tests that a mean-ablation gate selects the input where tau >= 0 and the
// channel mean elsewhere, with tau and mean loaded per channel.
// CHECK-LABEL: func.func @mask_gate_mean
// CHECK-SAME: (%[[X:.*]]: memref<4x32xf32>, %[[TAU:.*]]: memref<32xf32>, %[[MU:.*]]: memref<32xf32>, %{{.*}}: memref<4x32xf32> {circ.result = 0 : i64})
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
// CHECK-SAME: (%[[X:.*]]: memref<2x8x32xf32>, %[[TABLE:.*]]: memref<16x32xf32>, %{{.*}}: memref<2x8x32xf32> {circ.result = 0 : i64})
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: scf.parallel (%[[ROW:.*]]) =
// CHECK: %[[POS:.*]] = arith.remui %[[ROW]], %[[C8]] : index
// CHECK: vector.load %[[TABLE]][%[[POS]], %{{.*}}]
func.func @add_positions(%x: tensor<2x8x32xf32>, %t: tensor<16x32xf32>) -> tensor<2x8x32xf32> {
  %0 = circ.add_positions %x, %t : tensor<2x8x32xf32>, tensor<16x32xf32>
  return %0 : tensor<2x8x32xf32>
}

// Tests that a dynamic batch dimension is read from the input: the result
// is written into the caller's output buffer of the same dynamic shape.
// CHECK-LABEL: func.func @dynamic_batch
// CHECK-SAME: (%[[X:.*]]: memref<?x4x32xf32>, %[[OUT:.*]]: memref<?x4x32xf32> {circ.result = 0 : i64})
// CHECK: %[[OV:.*]] = memref.collapse_shape %[[OUT]] {{\[}}[0, 1], [2]] : memref<?x4x32xf32> into memref<?x32xf32>
// CHECK: %[[ROWS:.*]] = memref.dim %[[OV]], %c0
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%[[ROWS]])
func.func @dynamic_batch(%x: tensor<?x4x32xf32>) -> tensor<?x4x32xf32> {
  %0 = circ.gelu %x : tensor<?x4x32xf32>
  return %0 : tensor<?x4x32xf32>
}
