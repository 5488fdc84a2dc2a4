// RUN: circ-opt %s --circ-gpu-pipeline -o %t.mlir
// RUN: env CIRC_CUDA_DRIVER=%circ_mock_cuda CIRC_MOCK_CUDA_TRACE=1 mlir-runner %t.mlir -e main --entry-point-result=void --shared-libs=%circ_cuda_runtime,%mlir_runner_utils,%mlir_c_runner_utils 2>&1 | FileCheck %s --check-prefix=MOCK
// RUN: env CIRC_CUDA_DRIVER=/nonexistent/libcuda.so.1 mlir-runner %t.mlir -e main --entry-point-result=void --shared-libs=%circ_cuda_runtime,%mlir_runner_utils,%mlir_c_runner_utils 2>&1 | FileCheck %s --check-prefix=NODRIVER

// Tests the contract between the host code LLVM 22's gpu-to-llvm emits and
// the runtime's mgpu* functions, without a GPU: over the host-memory test
// driver the program loads its PTX module, finds the kernel, launches it with
// the block the mapping chose (300 elements: 2 blocks of 160) and copies
// buffers both ways intact (the test driver runs no kernels, so only the
// round trip has data). Without a driver, the program runs to its end and
// the runtime says why nothing ran, once. On a GPU, scale.mlir checks y.
// MOCK:       mock-cuda: launch scale_kernel grid (2,1,1) block (160,1,1) cluster (1,1,1) smem 0
// MOCK:       round trip
// MOCK-NEXT:  ( 0, 1, 2, 3, 4, 5, 6, 7 )
// MOCK-NOT:   circ-cuda: error

// NODRIVER:      circ-cuda: error: no CUDA driver (/nonexistent/libcuda.so.1 not found)
// NODRIVER-NOT:  circ-cuda: error
// NODRIVER:      round trip

func.func @scale(%x: memref<300xf32>, %y: memref<300xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c300 = arith.constant 300 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i) = (%c0) to (%c300) step (%c1) {
    %v = memref.load %x[%i] : memref<300xf32>
    %w = arith.mulf %v, %two : f32
    %u = arith.addf %w, %v : f32
    memref.store %u, %y[%i] : memref<300xf32>
  }
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c300 = arith.constant 300 : index
  %hx = memref.alloc() : memref<300xf32>
  %hy = memref.alloc() : memref<300xf32>
  %hz = memref.alloc() : memref<300xf32>
  scf.for %i = %c0 to %c300 step %c1 {
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    memref.store %f, %hx[%i] : memref<300xf32>
  }
  %t0 = gpu.wait async
  %dx, %t1 = gpu.alloc async [%t0] () : memref<300xf32>
  %dy, %t2 = gpu.alloc async [%t1] () : memref<300xf32>
  %t3 = gpu.memcpy async [%t2] %dx, %hx : memref<300xf32>, memref<300xf32>
  gpu.wait [%t3]
  call @scale(%dx, %dy) : (memref<300xf32>, memref<300xf32>) -> ()
  %t4 = gpu.wait async
  %t5 = gpu.memcpy async [%t4] %hy, %dy : memref<300xf32>, memref<300xf32>
  %t6 = gpu.memcpy async [%t5] %hz, %dx : memref<300xf32>, memref<300xf32>
  %t7 = gpu.dealloc async [%t6] %dx : memref<300xf32>
  %t8 = gpu.dealloc async [%t7] %dy : memref<300xf32>
  gpu.wait [%t8]
  %z = vector.load %hz[%c0] : memref<300xf32>, vector<8xf32>
  vector.print str "round trip\n"
  vector.print %z : vector<8xf32>
  %y0 = vector.load %hy[%c0] : memref<300xf32>, vector<8xf32>
  %c292 = arith.constant 292 : index
  %y1 = vector.load %hy[%c292] : memref<300xf32>, vector<8xf32>
  vector.print str "scaled\n"
  vector.print %y0 : vector<8xf32>
  vector.print %y1 : vector<8xf32>
  return
}
