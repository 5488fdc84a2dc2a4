// RUN: circ-opt %s --split-input-file --circ-map-parallel-to-gpu --canonicalize | FileCheck %s

// Tests that a 2-d elementwise nest puts the contiguous feature axis on
// threadIdx.x (96 threads: one block covers it exactly) and fills the rest of
// the 256-thread budget with rows on threadIdx.y.
// CHECK-LABEL: func.func @elementwise
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C96:.*]] = arith.constant 96 : index
// CHECK-DAG:     %[[C500:.*]] = arith.constant 500 : index
// CHECK:         gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C500]], %{{.*}} = %[[C1]]) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C96]], %{{.*}} = %[[C2]], %{{.*}} = %[[C1]])
// CHECK-NOT:     scf.if
// CHECK:         memref.load
// CHECK:         arith.mulf
// CHECK:         memref.store
// CHECK:         gpu.terminator
// CHECK-NOT:     SCFToGPU_visited
func.func @elementwise(%x: memref<1000x96xf32>, %y: memref<1000x96xf32>) {
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

// Tests that the coalescing dimension is found by the accesses, not by its
// position: here the first induction variable indexes the contiguous axis.
// For 3000 tokens the multiples of 32 in [128, 256] leave idle: 256 -> 72,
// 224 -> 136, 192 -> 72, 160 -> 40, 128 -> 72, so the block is 160 threads
// and 19 blocks, with a bounds guard.
// CHECK-LABEL: func.func @token_major_first
// CHECK-DAG:     %[[C19:.*]] = arith.constant 19 : index
// CHECK-DAG:     %[[C160:.*]] = arith.constant 160 : index
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %[[C19]], {{.*}} = %[[C64]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[C160]], {{.*}} = %c1{{.*}}, {{.*}} = %c1
// CHECK:         scf.if
// CHECK:           memref.store
func.func @token_major_first(%x: memref<64x3000xf32>, %y: memref<64x3000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %cT = arith.constant 3000 : index
  scf.parallel (%t, %n) = (%c0, %c0) to (%cT, %c64) step (%c1, %c1) {
    %v = memref.load %x[%n, %t] : memref<64x3000xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %y[%n, %t] : memref<64x3000xf32>
  }
  return
}

// -----

// Tests that an independent inner loop (no iter_args, every store indexed by
// its induction variable) becomes a thread dimension: one thread per feature
// instead of one per row.
// CHECK-LABEL: func.func @promote_inner_loop
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %[[C128]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[C64]], {{.*}} = %[[C4]], {{.*}} = %c1
// CHECK-NOT:     scf.for
// CHECK:         gpu.terminator
func.func @promote_inner_loop(%x: memref<512x64xf32>, %g: memref<64xf32>,
                              %y: memref<512x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%r) = (%c0) to (%c512) step (%c1) {
    scf.for %f = %c0 to %c64 step %c1 {
      %v = memref.load %x[%r, %f] : memref<512x64xf32>
      %s = memref.load %g[%f] : memref<64xf32>
      %w = arith.mulf %v, %s : f32
      memref.store %w, %y[%r, %f] : memref<512x64xf32>
    }
  }
  return
}

// -----

// Tests that a reduction loop (iter_args) stays a loop in each thread, and
// that 300 rows get two blocks of 160 threads (20 idle, the fewest of the
// multiples of 32 in [128, 256]) behind a bounds guard.
// CHECK-LABEL: func.func @keep_reduction_loop
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C160:.*]] = arith.constant 160 : index
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %[[C2]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[C160]],
// CHECK:         scf.if
// CHECK:           scf.for {{.*}} iter_args
func.func @keep_reduction_loop(%x: memref<300x64xf32>, %y: memref<300xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c300 = arith.constant 300 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%r) = (%c0) to (%c300) step (%c1) {
    %s = scf.for %f = %c0 to %c64 step %c1 iter_args(%a = %zero) -> (f32) {
      %v = memref.load %x[%r, %f] : memref<300x64xf32>
      %p = arith.addf %a, %v : f32
      scf.yield %p : f32
    }
    memref.store %s, %y[%r] : memref<300xf32>
  }
  return
}

// -----

// Tests that an inner loop whose iterations write the same element (a store
// not indexed by its induction variable) is not promoted.
// CHECK-LABEL: func.func @dependent_inner_loop
// CHECK:         gpu.launch
// CHECK:         scf.for
// CHECK:           memref.store
func.func @dependent_inner_loop(%x: memref<256x8xf32>, %y: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c256 = arith.constant 256 : index
  scf.parallel (%r) = (%c0) to (%c256) step (%c1) {
    scf.for %f = %c0 to %c8 step %c1 {
      %v = memref.load %x[%r, %f] : memref<256x8xf32>
      memref.store %v, %y[%r] : memref<256xf32>
    }
  }
  return
}

// -----

// Tests that a dynamic extent (the token count of a dynamic batch) gets the
// full block and a grid computed on the host.
// CHECK-LABEL: func.func @dynamic_tokens
// CHECK-SAME:    %[[N:[a-z0-9]+]]: index
// CHECK:         %[[GRID:.*]] = affine.apply #{{.*}}()[%[[N]]]
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c256,
// CHECK:         scf.if
func.func @dynamic_tokens(%x: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%t) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%t] : memref<?xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %x[%t] : memref<?xf32>
  }
  return
}

// -----

// Tests that circ.gpu.block fixes the block shape (x = the coalescing
// dimension first).
// CHECK-LABEL: func.func @fixed_block
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %c2{{.*}}, {{.*}} = %c16{{.*}}, {{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c1
func.func @fixed_block(%x: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x64xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %x[%i, %j] : memref<64x64xf32>
  } {circ.gpu.block = array<i64: 32, 4, 1>}
  return
}

// -----

// Tests that a nested scf.parallel runs sequentially inside each thread.
// CHECK-LABEL: func.func @nested_parallel
// CHECK:         gpu.launch
// CHECK:         scf.for
// CHECK-NOT:     scf.parallel
func.func @nested_parallel(%x: memref<128x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
    %s = memref.load %x[%i, %c0] : memref<128x4xf32>
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      memref.store %s, %x[%i, %j] : memref<128x4xf32>
    }
  }
  return
}
