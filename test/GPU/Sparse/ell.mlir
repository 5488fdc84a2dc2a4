// RUN: circ-opt %s --circ-map-parallel-to-gpu --canonicalize --gpu-launch-sink-index-computations --gpu-kernel-outlining --canonicalize | FileCheck %s
// RUN: circ-opt %s --circ-gpu-pipeline="chips=sm_80" | FileCheck %s --check-prefix=PTX
// The ptxas check of this kernel is test/Integration/PTX/sparse-kernels.test.

// Tests the ELL product kernel: every row holds exactly R = 4 (index, value)
// pairs, padded with zero values, so the inner loop has a constant trip count
// the backend unrolls, and the kernel cost is exact. Same mapping as CSR:
// tokens on threadIdx.x, rows on blockIdx.y.
// CHECK-LABEL: func.func @ell_proj
// CHECK:         gpu.launch_func @ell_proj_kernel::@ell_proj_kernel blocks in (%c4, %c512, %c1) threads in (%c256, %c1, %c1)
// CHECK:       gpu.func @ell_proj_kernel(%[[IDX:[a-z0-9_]+]]: memref<512x4xi32>, %[[VAL:[a-z0-9_]+]]: memref<512x4xf32>, %[[X:[a-z0-9_]+]]: memref<256x1024xf32>, %[[Y:[a-z0-9_]+]]: memref<512x1024xf32>) kernel
// CHECK-DAG:     %[[C4:[a-z0-9_]+]] = arith.constant 4 : index
// CHECK-DAG:     %[[ROW:[a-z0-9_]+]] = gpu.block_id y
// CHECK-DAG:     %[[TX:[a-z0-9_]+]] = gpu.thread_id x
// CHECK:         %[[T:[a-z0-9_]+]] = arith.addi %[[TX]], %{{.*}} : index
// CHECK:         scf.for %[[S:[a-z0-9_]+]] = %{{.*}} to %[[C4]] step %{{.*}} iter_args
// CHECK:           memref.load %[[IDX]][%[[ROW]], %[[S]]]
// CHECK:           memref.load %[[VAL]][%[[ROW]], %[[S]]]
// CHECK:           memref.load %[[X]][%{{.*}}, %[[T]]]
// CHECK:           math.fma
// CHECK:         memref.store %{{.*}}, %[[Y]][%[[ROW]], %[[T]]]

// The four products are unrolled: four fma per thread, no loop branch.
// PTX:         gpu.binary @ell_proj_kernel
// PTX-SAME:      chip = "sm_80"{{.*}}.visible .entry ell_proj_kernel({{.*}}fma.rn.f32{{.*}}fma.rn.f32{{.*}}fma.rn.f32{{.*}}fma.rn.f32

// ELL, R = 4 entries per row: y[n, t] = sum_s val[n, s] * x[idx[n, s], t].
func.func @ell_proj(%x: memref<256x1024xf32>, %ell_idx: memref<512x4xi32>,
                    %ell_values: memref<512x4xf32>,
                    %y: memref<512x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %cN = arith.constant 512 : index
  %cT = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%n, %t) = (%c0, %c0) to (%cN, %cT) step (%c1, %c1) {
    %acc = scf.for %s = %c0 to %c4 step %c1 iter_args(%a = %zero) -> (f32) {
      %c32 = memref.load %ell_idx[%n, %s] : memref<512x4xi32>
      %c = arith.index_cast %c32 : i32 to index
      %v = memref.load %ell_values[%n, %s] : memref<512x4xf32>
      %xv = memref.load %x[%c, %t] : memref<256x1024xf32>
      %p = math.fma %v, %xv, %a : f32
      scf.yield %p : f32
    }
    memref.store %acc, %y[%n, %t] : memref<512x1024xf32>
  }
  return
}
