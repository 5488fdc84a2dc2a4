// RUN: circ-opt %s --split-input-file --circ-gpu-merge-kernel-modules --verify-diagnostics | FileCheck %s

// Tests that kernels of several gpu.modules end up in one, a clashing name is
// made unique, and every launch follows its kernel.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK-NOT:     gpu.module @a
// CHECK:         gpu.module @circ_kernels {
// CHECK:           gpu.func @k() kernel
// CHECK:           gpu.func @k_0() kernel
// CHECK:           gpu.func @other() kernel
// CHECK:         }
// CHECK-NOT:     gpu.module @b
// CHECK:         func.func @f()
// CHECK:           gpu.launch_func @circ_kernels::@k blocks
// CHECK:           gpu.launch_func @circ_kernels::@k_0 blocks
// CHECK:           gpu.launch_func @circ_kernels::@other blocks
module attributes {gpu.container_module} {
  gpu.module @a {
    gpu.func @k() kernel { gpu.return }
  }
  gpu.module @b {
    gpu.func @k() kernel { gpu.return }
    gpu.func @other() kernel { gpu.return }
  }
  func.func @f() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @a::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @b::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @b::@other blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

// Tests that the merged module's name may not be taken already.
// expected-error @+1 {{circ-gpu-merge-kernel-modules: a symbol named 'circ_kernels' already exists}}
module attributes {gpu.container_module} {
  gpu.module @a {
    gpu.func @k() kernel { gpu.return }
  }
  gpu.module @circ_kernels {
    gpu.func @k() kernel { gpu.return }
  }
}
