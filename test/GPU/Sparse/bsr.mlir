// RUN: circ-opt %s --circ-map-parallel-to-gpu --canonicalize --gpu-launch-sink-index-computations --gpu-kernel-outlining --canonicalize | FileCheck %s
// RUN: circ-opt %s --circ-gpu-pipeline="chips=sm_80" | FileCheck %s --check-prefix=PTX
// The ptxas check of this kernel is test/Integration/PTX/sparse-kernels.test.

// Tests the block-sparse (BSR, 4x4 blocks) product kernel: one thread per
// (block row, token) keeps the block row's four outputs in a vector<4xf32>;
// each nonzero block contributes four vector FMAs of a block column (one
// 16-byte load, the same address in every thread of the block) by a
// broadcast activation. Tokens on threadIdx.x, block rows on blockIdx.y.
// CHECK-LABEL: func.func @bsr_proj
// CHECK:         gpu.launch_func @bsr_proj_kernel::@bsr_proj_kernel blocks in (%c4, %c128, %c1) threads in (%c256, %c1, %c1)
// CHECK:       gpu.func @bsr_proj_kernel(%[[BROW:[a-z0-9_]+]]: memref<129xi32>, %[[BCOL:[a-z0-9_]+]]: memref<?xi32>, %[[X:[a-z0-9_]+]]: memref<256x1024xf32>, %[[BVAL:[a-z0-9_]+]]: memref<?x4x4xf32>, %[[Y:[a-z0-9_]+]]: memref<512x1024xf32>) kernel
// CHECK-DAG:     %[[IB:[a-z0-9_]+]] = gpu.block_id y
// CHECK-DAG:     %[[TX:[a-z0-9_]+]] = gpu.thread_id x
// CHECK:         %[[T:[a-z0-9_]+]] = arith.addi %[[TX]], %{{.*}} : index
// CHECK:         memref.load %[[BROW]][%[[IB]]]
// CHECK:         %[[ACC:[a-z0-9_]+]] = scf.for %[[JB:[a-z0-9_]+]] = {{.*}} -> (vector<4xf32>) {
// CHECK:           memref.load %[[BCOL]][%[[JB]]]
// CHECK:           scf.for %[[JJ:[a-z0-9_]+]] = {{.*}} -> (vector<4xf32>) {
// CHECK:             memref.load %[[X]][%{{.*}}, %[[T]]]
// CHECK:             vector.broadcast
// CHECK:             vector.load %[[BVAL]][%[[JB]], %[[JJ]], %{{.*}}] {alignment = 16 : i64} : memref<?x4x4xf32>, vector<4xf32>
// CHECK:             vector.fma
// CHECK:         } {circ.expected_trip_count = 1 : i64}
// CHECK:         scf.for
// CHECK:           vector.extract %[[ACC]]
// CHECK:           memref.store %{{.*}}, %[[Y]][%{{.*}}, %[[T]]]

// PTX:         gpu.binary @bsr_proj_kernel
// PTX-SAME:      chip = "sm_80"{{.*}}.visible .entry bsr_proj_kernel({{.*}}ld.global.v4.b32

// Block-sparse rows, 4x4 blocks: for block row ib, y[4 ib + i, t] =
//   sum over blocks jb of row ib, sum_jj val[jb, jj, i] * x[4 col[jb] + jj, t].
// Values are stored [block, jj, i] so one vector load gives a block column;
// a 4x4 block is 64 bytes and device buffers are 256-byte aligned, so the load
// states 16-byte alignment and becomes one 128-bit load (ld.global.v4).
func.func @bsr_proj(%x: memref<256x1024xf32>, %brow_ptr: memref<129xi32>,
                    %bcol_idx: memref<?xi32>, %bvalues: memref<?x4x4xf32>,
                    %y: memref<512x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %cNB = arith.constant 128 : index
  %cT = arith.constant 1024 : index
  %zero = arith.constant dense<0.0> : vector<4xf32>
  scf.parallel (%ib, %t) = (%c0, %c0) to (%cNB, %cT) step (%c1, %c1) {
    %ib1 = arith.addi %ib, %c1 : index
    %lo32 = memref.load %brow_ptr[%ib] : memref<129xi32>
    %hi32 = memref.load %brow_ptr[%ib1] : memref<129xi32>
    %lo = arith.index_cast %lo32 : i32 to index
    %hi = arith.index_cast %hi32 : i32 to index
    %acc = scf.for %jb = %lo to %hi step %c1
        iter_args(%a = %zero) -> (vector<4xf32>) {
      %cb32 = memref.load %bcol_idx[%jb] : memref<?xi32>
      %cb = arith.index_cast %cb32 : i32 to index
      %col0 = arith.muli %cb, %c4 : index
      %blk = scf.for %jj = %c0 to %c4 step %c1
          iter_args(%b = %a) -> (vector<4xf32>) {
        %col = arith.addi %col0, %jj : index
        %xv = memref.load %x[%col, %t] : memref<256x1024xf32>
        %xs = vector.broadcast %xv : f32 to vector<4xf32>
        %w = vector.load %bvalues[%jb, %jj, %c0] {alignment = 16 : i64} : memref<?x4x4xf32>, vector<4xf32>
        %p = vector.fma %w, %xs, %b : vector<4xf32>
        scf.yield %p : vector<4xf32>
      }
      scf.yield %blk : vector<4xf32>
    } {circ.expected_trip_count = 1 : i64}
    %row0 = arith.muli %ib, %c4 : index
    scf.for %i = %c0 to %c4 step %c1 {
      %row = arith.addi %row0, %i : index
      %e = vector.extract %acc[%i] : f32 from vector<4xf32>
      memref.store %e, %y[%row, %t] : memref<512x1024xf32>
    }
  }
  return
}
