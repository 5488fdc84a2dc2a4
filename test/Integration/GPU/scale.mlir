// REQUIRES: cuda-gpu
// RUN: circ-opt %S/mgpu-abi.mlir --circ-gpu-pipeline | mlir-runner -e main --entry-point-result=void --shared-libs=%circ_cuda_runtime,%mlir_runner_utils,%mlir_c_runner_utils 2>&1 | FileCheck %s

// Tests on a real GPU the program of mgpu-abi.mlir: y = 2x + x for
// x = 0..299, first and last eight values, including the guarded last block.
// CHECK-NOT:  circ-cuda: error
// CHECK:      round trip
// CHECK-NEXT: ( 0, 1, 2, 3, 4, 5, 6, 7 )
// CHECK:      scaled
// CHECK-NEXT: ( 0, 3, 6, 9, 12, 15, 18, 21 )
// CHECK-NEXT: ( 876, 879, 882, 885, 888, 891, 894, 897 )
