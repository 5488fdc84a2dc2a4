// REQUIRES: cuda-gpu
// RUN: circ-opt %s --circ-gpu-pipeline | mlir-runner -e main --entry-point-result=void --shared-libs=%circ_cuda_runtime,%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// Tests on a real GPU a nest mapped one iteration per block with its scratch
// tile in shared memory (test/GPU/tile-to-gpu.mlir): phases spread over
// threads and separated by barriers must give y[n, t] = x[t, n mod 16], as a
// host loop computes it.
// CHECK: mismatches
// CHECK-NEXT: 0

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


func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %x = memref.alloc() : memref<32x16xf32>
  %y = memref.alloc() : memref<64x32xf32>
  scf.for %t = %c0 to %c32 step %c1 {
    scf.for %k = %c0 to %c16 step %c1 {
      %a = arith.muli %t, %c16 : index
      %b = arith.addi %a, %k : index
      %bi = arith.index_cast %b : index to i32
      %bf = arith.sitofp %bi : i32 to f32
      memref.store %bf, %x[%t, %k] : memref<32x16xf32>
    }
  }
  %t0 = gpu.wait async
  %dx, %t1 = gpu.alloc async [%t0] () : memref<32x16xf32>
  %dy, %t2 = gpu.alloc async [%t1] () : memref<64x32xf32>
  %t3 = gpu.memcpy async [%t2] %dx, %x : memref<32x16xf32>, memref<32x16xf32>
  gpu.wait [%t3]
  call @tiles(%dx, %dy) : (memref<32x16xf32>, memref<64x32xf32>) -> ()
  %u0 = gpu.wait async
  %u1 = gpu.memcpy async [%u0] %y, %dy : memref<64x32xf32>, memref<64x32xf32>
  %u2 = gpu.dealloc async [%u1] %dx : memref<32x16xf32>
  %u3 = gpu.dealloc async [%u2] %dy : memref<64x32xf32>
  gpu.wait [%u3]
  %zero = arith.constant 0 : i32
  %one = arith.constant 1 : i32
  %bad = scf.for %n = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> (i32) {
    %inner = scf.for %t = %c0 to %c32 step %c1 iter_args(%a = %acc) -> (i32) {
      %r = arith.remui %n, %c16 : index
      %want = memref.load %x[%t, %r] : memref<32x16xf32>
      %got = memref.load %y[%n, %t] : memref<64x32xf32>
      %ne = arith.cmpf une, %want, %got : f32
      %inc = arith.select %ne, %one, %zero : i32
      %s = arith.addi %a, %inc : i32
      scf.yield %s : i32
    }
    scf.yield %inner : i32
  }
  vector.print str "mismatches\n"
  vector.print %bad : i32
  return
}
