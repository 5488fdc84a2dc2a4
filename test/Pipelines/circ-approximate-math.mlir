// RUN: circ-opt %s --circ-approximate-math | FileCheck %s
// The pass rejects nothing: ops it does not approximate are left alone.

// Tests that vector exp and erf become polynomial arithmetic (no math call
// that LLVM would scalarise into libm) while sqrt, which has a vector
// instruction, stays.
// CHECK-LABEL: func.func @approximate
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK: math.sqrt
// CHECK-NOT: math.exp
// CHECK: return
func.func @approximate(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>) {
  %e = math.exp %x : vector<16xf32>
  %f = math.erf %x : vector<16xf32>
  %s = math.sqrt %x : vector<16xf32>
  return %e, %f, %s : vector<16xf32>, vector<16xf32>, vector<16xf32>
}

// Tests that scalar f32 log is approximated too.
// CHECK-LABEL: func.func @scalar_log
// CHECK-NOT: math.log
// CHECK: return
func.func @scalar_log(%x: f32) -> f32 {
  %l = math.log %x : f32
  return %l : f32
}
