// RUN: circ-opt %s --circ-gpu-pipeline | FileCheck %s
// RUN: circ-opt %s --circ-gpu-pipeline="chips=sm_90 block-threads=128" | FileCheck %s --check-prefix=SM90

// Tests that circ-gpu-pipeline takes a loop nest to one gpu.binary holding
// PTX for sm_80 and sm_90 (PTX 8.0, launch bounds from the chosen block),
// records the kernel's cost on the module, and leaves a host side of LLVM
// dialect ops around gpu.launch_func.
// CHECK:       module attributes {circ.kernel_costs = {square_kernel = {{{.*}}flops = 96000 : i64
// CHECK:         llvm.func @square(
// CHECK:           gpu.launch_func @square_kernel::@square_kernel blocks in
// CHECK:         gpu.binary @square_kernel [
// CHECK-SAME:      #gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, {{.*}}assembly = "{{.*}}.version 8.0\0A.target sm_80\0A
// CHECK-SAME:      #gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}assembly = "{{.*}}.target sm_90{{.*}}.visible .entry square_kernel({{.*}}.maxntid 96, 2, 1

// Tests the options: one chip, a smaller thread budget (96 x 1).
// SM90:        gpu.binary @square_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// SM90-SAME:     .maxntid 96, 1, 1
// SM90-NOT:      sm_80
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
