// RUN: circ-opt %s --convert-circ-to-loops --canonicalize --cse | FileCheck %s

// Tests that rmsnorm reduces the squares of a row with vector FMAs, divides
// by the width, adds epsilon, takes 1/sqrt and scales row and gain.
// CHECK-LABEL: func.func @rmsnorm
// CHECK-SAME: (%[[X:.*]]: memref<2x3x64xf32>, %[[G:.*]]: memref<64xf32>, %[[OUT:.*]]: memref<2x3x64xf32> {circ.result = 0 : i64})
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[WIDTH:.*]] = arith.constant 6.400000e+01 : f32
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[XV:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : memref<2x3x64xf32> into memref<6x64xf32>
// CHECK-DAG: %[[OV:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: scf.parallel (%[[ROW:.*]]) =
// CHECK: %[[SS:.*]] = scf.for %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (vector<16xf32>)
// CHECK: %[[V:.*]] = vector.load %[[XV]][%[[ROW]], %{{.*}}]
// CHECK: %[[NEXT:.*]] = vector.fma %[[V]], %[[V]], %[[ACC]]
// CHECK: scf.yield %[[NEXT]]
// CHECK: %[[SUM:.*]] = vector.reduction <add>, %[[SS]] fastmath<reassoc,contract>
// CHECK: %[[MEAN:.*]] = arith.divf %[[SUM]], %[[WIDTH]]
// CHECK: %[[SHIFTED:.*]] = arith.addf %[[MEAN]], %[[EPS]]
// CHECK: %[[ROOT:.*]] = math.sqrt %[[SHIFTED]]
// CHECK: %[[INV:.*]] = arith.divf %[[ONE]], %[[ROOT]]
// CHECK: %[[SCALE:.*]] = vector.broadcast %[[INV]]
// CHECK: scf.for %[[COL:.*]] =
// CHECK: %[[V2:.*]] = vector.load %[[XV]][%[[ROW]], %[[COL]]]
// CHECK: %[[GV:.*]] = vector.load %[[G]][%[[COL]]]
// CHECK: %[[N:.*]] = arith.mulf %[[V2]], %[[SCALE]]
// CHECK: %[[R:.*]] = arith.mulf %[[N]], %[[GV]]
// CHECK: vector.store %[[R]], %[[OV]][%[[ROW]], %[[COL]]]
func.func @rmsnorm(%x: tensor<2x3x64xf32>, %g: tensor<64xf32>) -> tensor<2x3x64xf32> {
  %0 = circ.rmsnorm %x, %g {epsilon = 1.0e-5 : f64} : tensor<2x3x64xf32>, tensor<64xf32>
  return %0 : tensor<2x3x64xf32>
}

// Tests that a rank-1 input is normalised as one row (the single-iteration
// parallel loop folds away).
// CHECK-LABEL: func.func @rmsnorm_vector
// CHECK: %[[XV:.*]] = memref.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [1, 32] : memref<32xf32> into memref<1x32xf32>
// CHECK: scf.for
// CHECK: vector.load %[[XV]][%c0, %{{.*}}]
// CHECK: math.sqrt
func.func @rmsnorm_vector(%x: tensor<32xf32>, %g: tensor<32xf32>) -> tensor<32xf32> {
  %0 = circ.rmsnorm %x, %g : tensor<32xf32>, tensor<32xf32>
  return %0 : tensor<32xf32>
}
