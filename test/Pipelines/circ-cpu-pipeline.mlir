// RUN: circ-opt %s --circ-cpu-pipeline | FileCheck %s
// RUN: circ-opt %s --circ-cpu-pipeline=parallel=false | FileCheck %s --check-prefix=SEQ
// RUN: circ-opt %s --pass-pipeline='builtin.module(circ-cpu-pipeline{vector-width=8})' | FileCheck %s --check-prefix=W8

// Tests that a small block lowers all the way to the LLVM dialect: one
// function (its weight in the ELL layout circ-select-layouts picks, since
// the min-4 rule fills the budget) and the output, a C wrapper,
// OpenMP worksharing loops for the parallel kernels, 16-lane vectors, heap
// intermediates that are freed, and no math call left for libm.
// CHECK-NOT: func.func
// CHECK-LABEL: llvm.func @block
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: llvm.call @malloc
// CHECK: omp.parallel
// CHECK: omp.wsloop
// CHECK: llvm.intr.fma{{.*}}vector<16xf32>
// CHECK: llvm.call @free
// CHECK-LABEL: llvm.func @_mlir_ciface_block
// CHECK-NOT: math.
// CHECK-NOT: __nv_
// SEQ-LABEL: llvm.func @block
// SEQ-NOT: omp.
// SEQ: llvm.func @_mlir_ciface_block
// W8-LABEL: llvm.func @block
// W8: vector<8xf32>
// W8-NOT: vector<16xf32>
func.func @block(%x: tensor<2x16x32xf32>, %g: tensor<32xf32>,
                 %w: tensor<64x32xf32, #circ.sparsity<density = 0.125, min_per_unit = 4, axis = rows, layout = csr>> {circ.param = "w"},
                 %b: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %n = circ.rmsnorm %x, %g : tensor<2x16x32xf32>, tensor<32xf32>
  %p = circ.proj %n, %w, %b : tensor<2x16x32xf32>, tensor<64x32xf32, #circ.sparsity<density = 0.125, min_per_unit = 4, axis = rows, layout = csr>>, tensor<64xf32> -> tensor<2x16x64xf32>
  %h = circ.gelu %p : tensor<2x16x64xf32>
  return %h : tensor<2x16x64xf32>
}
