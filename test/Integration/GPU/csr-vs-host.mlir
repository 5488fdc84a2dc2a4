// REQUIRES: cuda-gpu
// RUN: circ-opt %s --circ-gpu-pipeline | mlir-runner -e main --entry-point-result=void --shared-libs=%circ_cuda_runtime,%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

// Tests on a real GPU that the CSR product kernel of test/GPU/Sparse/csr.mlir
// (here 64 rows, 32 inputs, 300 tokens: the last block is partly guarded off)
// computes what a sequential host loop nest computes. All inputs are small
// integers, so both sums are exact and must agree bit for bit.
// CHECK: max abs difference
// CHECK-NEXT: 0
// CHECK: checksum
// CHECK-NEXT: [[SUM:-?[0-9]+]]
// CHECK: host checksum
// CHECK-NEXT: [[SUM]]

func.func @csr_proj(%x: memref<32x300xf32>, %row_ptr: memref<65xi32>,
                    %col_idx: memref<256xi32>, %values: memref<256xf32>,
                    %y: memref<64x300xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cN = arith.constant 64 : index
  %cT = arith.constant 300 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%n, %t) = (%c0, %c0) to (%cN, %cT) step (%c1, %c1) {
    %n1 = arith.addi %n, %c1 : index
    %lo32 = memref.load %row_ptr[%n] : memref<65xi32>
    %hi32 = memref.load %row_ptr[%n1] : memref<65xi32>
    %lo = arith.index_cast %lo32 : i32 to index
    %hi = arith.index_cast %hi32 : i32 to index
    %acc = scf.for %j = %lo to %hi step %c1 iter_args(%a = %zero) -> (f32) {
      %c32 = memref.load %col_idx[%j] : memref<256xi32>
      %c = arith.index_cast %c32 : i32 to index
      %v = memref.load %values[%j] : memref<256xf32>
      %xv = memref.load %x[%c, %t] : memref<32x300xf32>
      %p = math.fma %v, %xv, %a : f32
      scf.yield %p : f32
    } {circ.expected_trip_count = 4 : i64}
    memref.store %acc, %y[%n, %t] : memref<64x300xf32>
  }
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %c300 = arith.constant 300 : index
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<32x300xf32>
  %row_ptr = memref.alloc() : memref<65xi32>
  %col = memref.alloc() : memref<256xi32>
  %val = memref.alloc() : memref<256xf32>
  %y = memref.alloc() : memref<64x300xf32>
  %ref = memref.alloc() : memref<64x300xf32>
  // x[k, t] = ((7k + 3t) mod 11) - 5
  scf.for %k = %c0 to %c32 step %c1 {
    scf.for %t = %c0 to %c300 step %c1 {
      %a = arith.muli %k, %c4 : index
      %a7 = arith.addi %a, %k : index
      %a7b = arith.addi %a7, %k : index
      %a7c = arith.addi %a7b, %k : index
      %b = arith.muli %t, %c4 : index
      %b3 = arith.subi %b, %t : index
      %s = arith.addi %a7c, %b3 : index
      %c11 = arith.constant 11 : index
      %m = arith.remui %s, %c11 : index
      %mi = arith.index_cast %m : index to i32
      %mf = arith.sitofp %mi : i32 to f32
      %five = arith.constant 5.0 : f32
      %v = arith.subf %mf, %five : f32
      memref.store %v, %x[%k, %t] : memref<32x300xf32>
    }
  }
  // Row n holds 4 nonzeros at columns (3n + 5s) mod 32, values (s+1)(n mod 5 - 2).
  scf.for %n = %c0 to %c64 step %c1 {
    %base = arith.muli %n, %c4 : index
    %base32 = arith.index_cast %base : index to i32
    memref.store %base32, %row_ptr[%n] : memref<65xi32>
    scf.for %s = %c0 to %c4 step %c1 {
      %j = arith.addi %base, %s : index
      %n3 = arith.muli %n, %c4 : index
      %n3b = arith.subi %n3, %n : index
      %s5 = arith.muli %s, %c4 : index
      %s5b = arith.addi %s5, %s : index
      %cc = arith.addi %n3b, %s5b : index
      %cm = arith.remui %cc, %c32 : index
      %cm32 = arith.index_cast %cm : index to i32
      memref.store %cm32, %col[%j] : memref<256xi32>
      %c5 = arith.constant 5 : index
      %nm = arith.remui %n, %c5 : index
      %c2 = arith.constant 2 : index
      %s1 = arith.addi %s, %c1 : index
      %nmi = arith.index_cast %nm : index to i32
      %s1i = arith.index_cast %s1 : index to i32
      %c2i = arith.constant 2 : i32
      %d = arith.subi %nmi, %c2i : i32
      %p = arith.muli %d, %s1i : i32
      %pf = arith.sitofp %p : i32 to f32
      memref.store %pf, %val[%j] : memref<256xf32>
    }
  }
  %c256i = arith.constant 256 : i32
  memref.store %c256i, %row_ptr[%c64] : memref<65xi32>

  // The host reference: sequential loops, not mapped to the GPU.
  scf.for %n = %c0 to %c64 step %c1 {
    scf.for %t = %c0 to %c300 step %c1 {
      %base = arith.muli %n, %c4 : index
      %acc = scf.for %s = %c0 to %c4 step %c1 iter_args(%a = %zero) -> (f32) {
        %j = arith.addi %base, %s : index
        %ci = memref.load %col[%j] : memref<256xi32>
        %c = arith.index_cast %ci : i32 to index
        %v = memref.load %val[%j] : memref<256xf32>
        %xv = memref.load %x[%c, %t] : memref<32x300xf32>
        %m = arith.mulf %v, %xv : f32
        %r = arith.addf %a, %m : f32
        scf.yield %r : f32
      }
      memref.store %acc, %ref[%n, %t] : memref<64x300xf32>
    }
  }

  // The GPU: copy in, run, copy out.
  %t0 = gpu.wait async
  %dx, %t1 = gpu.alloc async [%t0] () : memref<32x300xf32>
  %drp, %t2 = gpu.alloc async [%t1] () : memref<65xi32>
  %dcol, %t3 = gpu.alloc async [%t2] () : memref<256xi32>
  %dval, %t4 = gpu.alloc async [%t3] () : memref<256xf32>
  %dy, %t5 = gpu.alloc async [%t4] () : memref<64x300xf32>
  %t6 = gpu.memcpy async [%t5] %dx, %x : memref<32x300xf32>, memref<32x300xf32>
  %t7 = gpu.memcpy async [%t6] %drp, %row_ptr : memref<65xi32>, memref<65xi32>
  %t8 = gpu.memcpy async [%t7] %dcol, %col : memref<256xi32>, memref<256xi32>
  %t9 = gpu.memcpy async [%t8] %dval, %val : memref<256xf32>, memref<256xf32>
  gpu.wait [%t9]
  call @csr_proj(%dx, %drp, %dcol, %dval, %dy) : (memref<32x300xf32>, memref<65xi32>, memref<256xi32>, memref<256xf32>, memref<64x300xf32>) -> ()
  %u0 = gpu.wait async
  %u1 = gpu.memcpy async [%u0] %y, %dy : memref<64x300xf32>, memref<64x300xf32>
  %u2 = gpu.dealloc async [%u1] %dx : memref<32x300xf32>
  %u3 = gpu.dealloc async [%u2] %drp : memref<65xi32>
  %u4 = gpu.dealloc async [%u3] %dcol : memref<256xi32>
  %u5 = gpu.dealloc async [%u4] %dval : memref<256xf32>
  %u6 = gpu.dealloc async [%u5] %dy : memref<64x300xf32>
  gpu.wait [%u6]

  // max |y - ref| and the two sums.
  %stats:3 = scf.for %n = %c0 to %c64 step %c1 iter_args(%mx = %zero, %sy = %zero, %sr = %zero) -> (f32, f32, f32) {
    %inner:3 = scf.for %t = %c0 to %c300 step %c1 iter_args(%m2 = %mx, %a = %sy, %b = %sr) -> (f32, f32, f32) {
      %g = memref.load %y[%n, %t] : memref<64x300xf32>
      %h = memref.load %ref[%n, %t] : memref<64x300xf32>
      %d = arith.subf %g, %h : f32
      %ad = math.absf %d : f32
      %m3 = arith.maximumf %m2, %ad : f32
      %a2 = arith.addf %a, %g : f32
      %b2 = arith.addf %b, %h : f32
      scf.yield %m3, %a2, %b2 : f32, f32, f32
    }
    scf.yield %inner#0, %inner#1, %inner#2 : f32, f32, f32
  }
  vector.print str "max abs difference\n"
  vector.print %stats#0 : f32
  vector.print str "checksum\n"
  vector.print %stats#1 : f32
  vector.print str "host checksum\n"
  vector.print %stats#2 : f32
  return
}
