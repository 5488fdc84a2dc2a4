// RUN: circ-opt %s --split-input-file --circ-map-parallel-to-gpu --canonicalize | FileCheck %s
// RUN: circ-opt %s --split-input-file --circ-gpu-pipeline="chips=sm_80" | FileCheck %s --check-prefix=PTX
// The kernels' execution on a GPU is test/Integration/GPU/tile-vs-host.mlir.

// In PTX the tile is a static .shared array and the barriers bar.sync.
// PTX: .shared .align 4 .b8 __wg_tiles_kernel_0[256];
// PTX-SAME: bar.sync

// Tests that a nest whose iterations allocate a scratch tile (the CPU
// projection kernels' transposed activation tiles) runs one iteration per
// block with the tile in shared memory: 8 tiles -> 8 blocks; each top-level
// loop (phase) is spread over the block's threads (thread t runs iterations
// t, t + T, ...; T = 64, the widest phase rounded to a warp multiple), and a
// barrier follows every phase. The transpose-in phase writes tile rows
// i .. i+3 per iteration with step 4, so its iterations are disjoint.
// CHECK-LABEL: func.func @tiles
// CHECK-DAG:     %[[C8:[a-z0-9_]+]] = arith.constant 8 : index
// CHECK-DAG:     %[[C64:[a-z0-9_]+]] = arith.constant 64 : index
// CHECK:         gpu.launch blocks(%[[BX:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C8]], %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[TX:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C64]], %{{.*}} = %c1, %{{.*}} = %c1)
// CHECK-SAME:    workgroup(%[[TILE:[a-z0-9_]+]] : memref<16x4xf32, #gpu.address_space<workgroup>>)
// CHECK:         %[[START:[a-z0-9_]+]] = arith.muli %[[TX]], %c4
// CHECK:         scf.for %[[I:[a-z0-9_]+]] = %[[START]] to %c16 step %c256
// CHECK:           memref.store %{{.*}}, %[[TILE]][%[[I]], %{{.*}}]
// CHECK:         } {circ.expected_trip_count = 1 : i64}
// CHECK-NEXT:    gpu.barrier
// CHECK:         scf.for %[[N:[a-z0-9_]+]] = %[[TX]] to %c64 step %c64
// CHECK:           memref.load %[[TILE]]
// CHECK:           memref.store %{{.*}}, %{{.*}}[%[[N]], %{{.*}}]
// CHECK:         } {circ.expected_trip_count = 1 : i64}
// CHECK-NEXT:    gpu.barrier
// CHECK-NEXT:    gpu.terminator
// CHECK-NOT:     memref.alloca
func.func @tiles(%x: memref<32x16xf32>, %y: memref<64x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%tile) = (%c0) to (%c8) step (%c1) {
    %t0 = arith.muli %tile, %c4 : index
    %scratch = memref.alloca() : memref<16x4xf32>
    // Transpose-in: scratch[k, j] = x[t0 + j, k], four rows per iteration.
    scf.for %k = %c0 to %c16 step %c4 {
      %k1 = arith.addi %k, %c1 : index
      %k2 = arith.addi %k, %c2 : index
      %k3 = arith.addi %k, %c3 : index
      scf.for %j = %c0 to %c4 step %c1 {
        %t = arith.addi %t0, %j : index
        %a = memref.load %x[%t, %k] : memref<32x16xf32>
        %b = memref.load %x[%t, %k1] : memref<32x16xf32>
        %c = memref.load %x[%t, %k2] : memref<32x16xf32>
        %d = memref.load %x[%t, %k3] : memref<32x16xf32>
        memref.store %a, %scratch[%k, %j] : memref<16x4xf32>
        memref.store %b, %scratch[%k1, %j] : memref<16x4xf32>
        memref.store %c, %scratch[%k2, %j] : memref<16x4xf32>
        memref.store %d, %scratch[%k3, %j] : memref<16x4xf32>
      }
    }
    // Use: y[n, t0 + j] = scratch[n mod 16, j].
    scf.for %n = %c0 to %c64 step %c1 {
      %r = arith.remui %n, %c16 : index
      scf.for %j = %c0 to %c4 step %c1 {
        %v = memref.load %scratch[%r, %j] : memref<16x4xf32>
        %t = arith.addi %t0, %j : index
        memref.store %v, %y[%n, %t] : memref<64x32xf32>
      }
    }
  }
  return
}

// -----

// Tests that a phase whose iterations are not independent (an accumulation
// into one scratch element) runs in thread 0 only, still followed by a
// barrier, and that top-level reads run in every thread.
// CHECK-LABEL: func.func @serial_phase
// CHECK:         gpu.launch
// CHECK-SAME:    workgroup(%[[ACC:[a-z0-9_]+]] : memref<1xf32, #gpu.address_space<workgroup>>)
// CHECK:         %[[FIRST:[a-z0-9_]+]] = arith.cmpi eq, %{{.*}}, %c0
// CHECK-NEXT:    scf.if %[[FIRST]] {
// CHECK-NEXT:      memref.store %{{.*}}, %[[ACC]][%c0]
// CHECK-NEXT:    }
// CHECK-NEXT:    gpu.barrier
// CHECK:         scf.if %{{.*}} {
// CHECK-NEXT:      scf.for
// CHECK:             memref.store %{{.*}}, %[[ACC]][%c0]
// CHECK:           }
// CHECK-NEXT:    }
// CHECK-NEXT:    gpu.barrier
// CHECK-NEXT:    memref.load %[[ACC]][%c0]
func.func @serial_phase(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
    %acc = memref.alloca() : memref<1xf32>
    memref.store %zero, %acc[%c0] : memref<1xf32>
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %x[%r, %j] : memref<4x8xf32>
      %a = memref.load %acc[%c0] : memref<1xf32>
      %s = arith.addf %a, %v : f32
      memref.store %s, %acc[%c0] : memref<1xf32>
    }
    %total = memref.load %acc[%c0] : memref<1xf32>
    scf.for %j = %c0 to %c8 step %c1 {
      memref.store %total, %y[%r, %j] : memref<4x8xf32>
    }
  }
  return
}
