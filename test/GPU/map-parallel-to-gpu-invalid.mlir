// RUN: circ-opt %s --split-input-file --verify-diagnostics --circ-map-parallel-to-gpu
// RUN: not circ-opt %s --split-input-file --circ-map-parallel-to-gpu=block-threads=100 2>&1 | FileCheck %s --check-prefix=THREADS

// THREADS: error: circ-map-parallel-to-gpu: block-threads must be a multiple of 32 in [32, 1024], got 100

// Tests that a parallel loop with a reduction is refused, not run wrongly.
func.func @reduction(%x: memref<64xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{an scf.parallel with reductions cannot run as a GPU kernel}}
  %s = scf.parallel (%i) = (%c0) to (%c64) step (%c1) init (%zero) -> f32 {
    %v = memref.load %x[%i] : memref<64xf32>
    scf.reduce(%v : f32) {
    ^bb0(%a: f32, %b: f32):
      %r = arith.addf %a, %b : f32
      scf.reduce.return %r : f32
    }
  }
  return %s : f32
}

// -----

// Tests that a nest of four parallel dimensions is refused.
func.func @four_dims(%x: memref<2x2x2x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  // expected-error @+1 {{4 parallel dimensions; a GPU grid has three}}
  scf.parallel (%a, %b, %c, %d) = (%c0, %c0, %c0, %c0) to (%c2, %c2, %c2, %c2) step (%c1, %c1, %c1, %c1) {
    %v = memref.load %x[%a, %b, %c, %d] : memref<2x2x2x2xf32>
    memref.store %v, %x[%a, %b, %c, %d] : memref<2x2x2x2xf32>
  }
  return
}

// -----

// Tests that a malformed circ.gpu.block is refused.
func.func @bad_block(%x: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  // expected-error @+1 {{circ.gpu.block must be three positive sizes with at most 1024 threads in all}}
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %x[%i] : memref<64xf32>
    memref.store %v, %x[%i] : memref<64xf32>
  } {circ.gpu.block = array<i64: 64, 32, 1>}
  return
}

// -----

// Tests that scratch tiles beyond 48 KiB of static shared memory fall back to
// one thread per iteration, with a warning that says why and what to do.
func.func @big_tiles(%y: memref<2x16384xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c16384 = arith.constant 16384 : index
  // expected-warning @+1 {{the scratch tiles of this loop take 65536 bytes, more than the 48 KiB of static shared memory}}
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    %s = memref.alloca() : memref<16384xf32>
    scf.for %j = %c0 to %c16384 step %c1 {
      %v = memref.load %y[%i, %j] : memref<2x16384xf32>
      memref.store %v, %s[%j] : memref<16384xf32>
    }
    scf.for %j = %c0 to %c16384 step %c1 {
      %v = memref.load %s[%j] : memref<16384xf32>
      memref.store %v, %y[%i, %j] : memref<2x16384xf32>
    }
  }
  return
}
