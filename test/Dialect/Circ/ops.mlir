// RUN: circ-opt %s | circ-opt | FileCheck %s

// Tests that circ.gelu round-trips.
// CHECK-LABEL: func.func @gelu
// CHECK: circ.gelu %{{.*}} : tensor<2x16x64xf32>
func.func @gelu(%x: tensor<2x16x64xf32>) -> tensor<2x16x64xf32> {
  %0 = circ.gelu %x : tensor<2x16x64xf32>
  return %0 : tensor<2x16x64xf32>
}
