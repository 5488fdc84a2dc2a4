// RUN: circ-opt %s --circ-map-parallel-to-gpu --canonicalize --gpu-launch-sink-index-computations --gpu-kernel-outlining --canonicalize | FileCheck %s
// RUN: circ-opt %s --circ-gpu-pipeline="chips=sm_80" | FileCheck %s --check-prefix=PTX
// The ptxas check of this kernel is test/Integration/PTX/sparse-kernels.test.

// Tests the CSR product kernel: y[n, t] = sum over row n's nonzeros j of
// values[j] * x[col_idx[j], t] + bias[n], activations feature-major so that
// tokens are contiguous. Tokens go to threadIdx.x (x and y accesses
// coalesce, 1024 tokens = 4 blocks of 256), rows to blockIdx.y, so a warp's
// threads share the row's index and values (uniform loads) and the loop
// over the row's nonzeros has the same trip count in every thread.
// CHECK-LABEL: func.func @csr_proj
// CHECK:         gpu.launch_func @csr_proj_kernel::@csr_proj_kernel blocks in (%c4, %c512, %c1) threads in (%c256, %c1, %c1)
// CHECK:       gpu.func @csr_proj_kernel(%[[ROW_PTR:[a-z0-9_]+]]: memref<513xi32>, %[[COL:[a-z0-9_]+]]: memref<?xi32>, %[[VAL:[a-z0-9_]+]]: memref<?xf32>, %[[X:[a-z0-9_]+]]: memref<256x1024xf32>, %[[BIAS:[a-z0-9_]+]]: memref<512xf32>, %[[Y:[a-z0-9_]+]]: memref<512x1024xf32>) kernel
// CHECK-SAME:    known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 4, 512, 1>
// CHECK-DAG:     %[[BX:[a-z0-9_]+]] = gpu.block_id x
// CHECK-DAG:     %[[ROW:[a-z0-9_]+]] = gpu.block_id y
// CHECK-DAG:     %[[TX:[a-z0-9_]+]] = gpu.thread_id x
// CHECK:         %[[T:[a-z0-9_]+]] = arith.addi %[[TX]], %{{.*}} : index
// CHECK:         memref.load %[[ROW_PTR]][%[[ROW]]]
// CHECK:         %[[ACC:[a-z0-9_]+]] = scf.for %[[J:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:[a-z0-9_]+]] = %{{.*}}) -> (f32) {
// CHECK:           memref.load %[[COL]][%[[J]]]
// CHECK:           memref.load %[[VAL]][%[[J]]]
// CHECK:           memref.load %[[X]][%{{.*}}, %[[T]]]
// CHECK:           math.fma
// CHECK:         } {circ.expected_trip_count = 4 : i64}
// CHECK:         memref.load %[[BIAS]][%[[ROW]]]
// CHECK:         memref.store %{{.*}}, %[[Y]][%[[ROW]], %[[T]]]

// PTX:         gpu.binary @csr_proj_kernel
// PTX-SAME:      chip = "sm_80"{{.*}}.visible .entry csr_proj_kernel({{.*}}.maxntid 256, 1, 1{{.*}}fma.rn.f32

// y[n, t] = sum_j val[j] * x[col[j], t] + b[n], feature-major activations.
func.func @csr_proj(%x: memref<256x1024xf32>, %row_ptr: memref<513xi32>,
                    %col_idx: memref<?xi32>, %values: memref<?xf32>,
                    %bias: memref<512xf32>, %y: memref<512x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cN = arith.constant 512 : index
  %cT = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%n, %t) = (%c0, %c0) to (%cN, %cT) step (%c1, %c1) {
    %n1 = arith.addi %n, %c1 : index
    %lo32 = memref.load %row_ptr[%n] : memref<513xi32>
    %hi32 = memref.load %row_ptr[%n1] : memref<513xi32>
    %lo = arith.index_cast %lo32 : i32 to index
    %hi = arith.index_cast %hi32 : i32 to index
    %acc = scf.for %j = %lo to %hi step %c1 iter_args(%a = %zero) -> (f32) {
      %c32 = memref.load %col_idx[%j] : memref<?xi32>
      %c = arith.index_cast %c32 : i32 to index
      %v = memref.load %values[%j] : memref<?xf32>
      %xv = memref.load %x[%c, %t] : memref<256x1024xf32>
      %p = math.fma %v, %xv, %a : f32
      scf.yield %p : f32
    } {circ.expected_trip_count = 4 : i64}
    %b = memref.load %bias[%n] : memref<512xf32>
    %r = arith.addf %acc, %b : f32
    memref.store %r, %y[%n, %t] : memref<512x1024xf32>
  }
  return
}
