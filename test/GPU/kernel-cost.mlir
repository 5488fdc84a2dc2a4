// RUN: circ-opt %s --split-input-file --circ-map-parallel-to-gpu --canonicalize --gpu-launch-sink-index-computations --gpu-kernel-outlining --circ-gpu-kernel-cost | FileCheck %s

// Tests the counts of an elementwise kernel, by hand: 1000 x 96 threads, one
// mulf each, one 4-byte load and store each; every element moves once.
// CHECK-LABEL: module attributes
// CHECK-SAME:  circ.kernel_costs = {square_kernel = {access_bytes = 768000 : i64, block_threads = 192 : i64, dram_bytes = 768000 : i64, flops = 96000 : i64, shared_bytes = 0 : i64, threads = 96000 : i64}}
func.func @square(%x: memref<1000x96xf32>, %y: memref<1000x96xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c96 = arith.constant 96 : index
  %c1000 = arith.constant 1000 : index
  scf.parallel (%r, %f) = (%c0, %c0) to (%c1000, %c96) step (%c1, %c1) {
    %v = memref.load %x[%r, %f] : memref<1000x96xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %y[%r, %f] : memref<1000x96xf32>
  }
  return
}

// -----

// Tests a CSR product with the producer's expected nonzeros per row. 512 rows
// x 1024 tokens = 524288 threads, each 4 fma (2 FLOP) + 1 add = 9 FLOP:
// 4718592. Access bytes per thread: 2 row_ptr + 4 x (col, value, x) + bias +
// store = 16 x 4 = 64, x 524288 = 33554432. DRAM: x 256*1024*4 = 1048576 and
// y 512*1024*4 = 2097152 once each; row_ptr and bias depend on the row only,
// so the 1024 threads of a row share them: 8 and 4 bytes x 512 rows = 4096
// (capped at row_ptr's 2052 bytes) and 2048; col_idx and values likewise
// 2 x 16 x 512 = 16384. Total 1048576 + 2097152 + 2052 + 2048 + 16384.
// CHECK-LABEL: module attributes
// CHECK-SAME:  circ.kernel_costs = {csr_kernel = {access_bytes = 33554432 : i64, block_threads = 256 : i64, dram_bytes = 3166212 : i64, flops = 4718592 : i64, shared_bytes = 0 : i64, threads = 524288 : i64}}
func.func @csr(%x: memref<256x1024xf32>, %row_ptr: memref<513xi32>,
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

// -----

// Tests that a loop of unknown trip count without a hint counts once and
// marks the kernel inexact, and that vector ops count per lane: a
// vector<4xf32> load is 16 bytes, an fma on it 8 FLOP.
// CHECK-LABEL: module attributes
// CHECK-SAME:  circ.kernel_costs = {unknown_trip_kernel = {access_bytes = 8192 : i64, block_threads = 256 : i64, dram_bytes = 8192 : i64, flops = 2048 : i64, inexact, shared_bytes = 0 : i64, threads = 256 : i64}}
func.func @unknown_trip(%x: memref<256x4xf32>, %y: memref<256x4xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
    %v = vector.load %x[%i, %c0] : memref<256x4xf32>, vector<4xf32>
    %r = scf.for %k = %c0 to %n step %c1 iter_args(%a = %v) -> (vector<4xf32>) {
      %p = vector.fma %a, %v, %a : vector<4xf32>
      scf.yield %p : vector<4xf32>
    }
    vector.store %r, %y[%i, %c0] : memref<256x4xf32>, vector<4xf32>
  }
  return
}
