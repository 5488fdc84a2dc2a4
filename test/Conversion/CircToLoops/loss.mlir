// RUN: circ-opt %s --split-input-file --convert-circ-to-loops --canonicalize --cse | FileCheck %s

// Tests that next_token_loss computes, per row in parallel, whether the
// target is in [0, V) and, only then, logsumexp(row) − row[target] (max
// shifted, vector accumulators, masked tail reading -inf); the per-row terms
// and counts are then summed in row order by one scf.for and divided.
// CHECK-LABEL: func.func @next_token
// CHECK-SAME: %[[OUT:[a-z0-9]+]]: memref<f32> {circ.result = 0 : i64})
// CHECK-DAG: %[[V:.*]] = arith.constant 41 : i32
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant dense<0xFF800000> : vector<16xf32>
// CHECK: %[[TERMS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<6xf32>
// CHECK: %[[COUNTED:.*]] = memref.alloc() {alignment = 64 : i64} : memref<6xf32>
// CHECK: scf.parallel (%[[ROW:.*]]) =
// CHECK: %[[T:.*]] = memref.load %{{.*}} : memref<2x3xi32>
// CHECK: %[[GE:.*]] = arith.cmpi sge, %[[T]]
// CHECK: %[[LT:.*]] = arith.cmpi slt, %[[T]], %[[V]]
// CHECK: %[[OK:.*]] = arith.andi %[[GE]], %[[LT]]
// CHECK: scf.if %[[OK]]
// CHECK: vector.reduction <maxnumf>
// CHECK: math.exp
// CHECK: vector.reduction <add>
// CHECK: %[[LOG:.*]] = math.log
// CHECK: %[[LSE:.*]] = arith.addf %{{.*}}, %[[LOG]]
// CHECK: %[[PICK:.*]] = memref.load %{{.*}}[%[[ROW]], %{{.*}}] : memref<6x41xf32>
// CHECK: %[[TERM:.*]] = arith.subf %[[LSE]], %[[PICK]]
// CHECK: memref.store %[[TERM]], %[[TERMS]][%[[ROW]]]
// CHECK: %[[SUMS:.*]]:2 = scf.for
// CHECK: %[[DEN:.*]] = arith.select
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUMS]]#0, %[[DEN]]
// CHECK: memref.store %[[MEAN]], %[[OUT]][]
func.func @next_token(%l: tensor<2x3x41xf32>, %t: tensor<2x3xi32>) -> tensor<f32> {
  %0 = circ.next_token_loss %l, %t : tensor<2x3x41xf32>, tensor<2x3xi32>
  return %0 : tensor<f32>
}

// -----

// Tests that contrast_loss reads the two candidate logits at each prompt's
// last position and takes the stable softplus of their difference:
// max(d, 0) + log(1 + exp(−|d|)), d = wrong − correct.
// CHECK-LABEL: func.func @contrast
// CHECK-SAME: (%[[L:.*]]: memref<3x4x10xf32>, %[[P:.*]]: memref<3xi32>, %[[Y:.*]]: memref<3xi32>, %[[N:.*]]: memref<3xi32>
// CHECK: scf.for %[[I:.*]] =
// CHECK: %[[POS:.*]] = arith.index_cast
// CHECK: %[[YES:.*]] = memref.load %[[L]][%[[I]], %[[POS]], %{{.*}}]
// CHECK: %[[NO:.*]] = memref.load %[[L]][%[[I]], %[[POS]], %{{.*}}]
// CHECK: %[[D:.*]] = arith.subf %[[NO]], %[[YES]]
// CHECK: %[[ABS:.*]] = math.absf %[[D]]
// CHECK: arith.negf %[[ABS]]
// CHECK: math.exp
// CHECK: math.log
func.func @contrast(%l: tensor<3x4x10xf32>, %p: tensor<3xi32>, %y: tensor<3xi32>, %n: tensor<3xi32>) -> tensor<f32> {
  %0 = circ.contrast_loss %l, %p, %y, %n : tensor<3x4x10xf32>, tensor<3xi32>
  return %0 : tensor<f32>
}
