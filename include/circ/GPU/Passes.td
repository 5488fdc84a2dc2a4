//===- Passes.td - the GPU path ----------------------------*- tablegen -*-===//
//
// Passes that take the CPU-tested scf.parallel loop nests to GPU kernels, and
// the analysis that feeds `circc compile --kernel-stats` (circ/Target/PTX.h).
// The whole path is the `circ-gpu-pipeline` (circ/GPU/Pipeline.h).
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_GPU_PASSES_TD
#define CIRC_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def CircMapParallelToGPU : Pass<"circ-map-parallel-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Map scf.parallel loop nests onto gpu.launch";
  let description = [{
    Turns every outermost `scf.parallel` of a host function (the kernels
    `convert-circ-to-loops` emits, which the CPU tests run) into a
    `gpu.launch`, so the GPU runs the same loop nest:

    0. **Tiles.** A nest whose iterations allocate scratch (`memref.alloca`
       of static shape, only loaded and stored, at most 48 KiB in all: the
       transposed activation tiles of the CPU projection kernels) runs one
       iteration per block with the scratch as workgroup (shared) memory.
       Each top-level loop of the body is a phase: spread over the block's
       threads (thread t runs iterations t, t + T, ...) when its iterations
       touch disjoint elements, else run by thread 0; every phase ends with
       a barrier. T is the widest phase rounded up to a warp multiple, at
       most `block-threads`. Larger scratch gets a warning and the per-thread
       mapping below.
    1. **Promotion.** An `scf.for` directly inside the parallel loop whose
       iterations are independent (no loop-carried values, bounds defined
       above the nest, every store indexed by the loop's induction variable
       and every other access of that buffer at the same index) becomes one
       more parallel dimension, so e.g. the feature loop of an elementwise
       kernel spreads over threads instead of running in one thread.
    2. **Thread dimension.** The dimension that indexes the innermost
       (contiguous) axis of the most memory accesses, each weighted by how
       often it runs (trip counts of the loops around it, or their
       `circ.expected_trip_count`), becomes `threadIdx.x`,
       so a warp's loads coalesce; other dimensions follow by decreasing
       extent (`y`, then `z`; a nest of more than three is an error, and
       promotion stops at three).
    3. **Block shape.** `threadIdx.x` gets the multiple of 32 up to
       `block-threads` that wastes the fewest threads on the static extent
       (a power of two below 32 for narrow extents); the rest of the thread
       budget goes to `y` and `z`. A loop may fix its shape with
       `circ.gpu.block = [x, y, z]`.
    4. **Launch.** The loop is tiled by the block shape (a bounds guard
       replaces min/max bounds so blocks are uniform), tiles map to
       `blockIdx`, points to `threadIdx`, and MLIR's
       `convert-parallel-loops-to-gpu` patterns build the `gpu.launch`.

    A nested `scf.parallel` stays inside the kernel as a sequential loop.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect"];
  let options = [
    Option<"blockThreads", "block-threads", "int64_t", /*default=*/"256",
           "threads per block to aim for (a multiple of 32, at most 1024)">,
    Option<"promoteInnerLoops", "promote-inner-loops", "bool",
           /*default=*/"true",
           "turn independent inner scf.for loops into parallel dimensions">
  ];
}

def CircGpuKernelCost : Pass<"circ-gpu-kernel-cost", "::mlir::ModuleOp"> {
  let summary = "Count each GPU kernel's FLOPs and bytes for the roofline";
  let description = [{
    Runs after `gpu-kernel-outlining`, while kernels are still `gpu.func`s of
    scf/arith/math/memref/vector ops. For every `gpu.launch_func` it counts
    the work of one thread of the callee and multiplies it by the launch's
    threads (grid × block, which must be constants for an exact count):

    * FLOPs: one per f32 add/sub/mul/div/min/max/neg lane, two per fma lane
      (`math.fma`, `vector.fma`), one per transcendental lane (`math.exp`,
      `erf`, `tanh`, `log`, `sqrt`, `rsqrt`, ...: SFU or short polynomial),
      n-1 per `vector.reduction` over n lanes; compares and selects are free.
    * access bytes: every load and store of global memory executed, at its
      element (or vector) width; workgroup (shared) memory is counted apart.
    * DRAM bytes, the roofline's traffic, assume a perfect cache: an access
      whose address does not depend on some hardware ids (blockIdx/threadIdx
      x/y/z, traced through index arithmetic, loop bounds and loads) reads
      the same element for all values of those ids, so its bytes are divided
      by their extents; and a statically shaped argument moves at most its
      size.
    * Loops multiply by their trip count: constant bounds, else the
      `circ.expected_trip_count` integer attribute a producer puts on the
      loop (e.g. the expected nonzeros per row of a sparse weight), else 1 and
      the count is marked inexact; an `scf.if` counts its costlier branch.

    The result is the module attribute `circ.kernel_costs`: a dictionary from
    kernel name to `{flops, dram_bytes, access_bytes, shared_bytes, threads,
    block_threads[, inexact]}`, which survives the rest of the GPU pipeline
    and is read by `readKernelCosts`.
  }];
}

def CircGpuMergeKernelModules
    : Pass<"circ-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Gather every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts each kernel in a gpu.module of its own; this
    pass moves them all into one `gpu.module` named `module-name` (kernels
    keep their names; a clash gets a numeric suffix) and retargets every
    `gpu.launch_func`. A model then compiles to one PTX file and one cubin
    per chip, which the runtime loads once.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
  let options = [
    Option<"moduleName", "module-name", "std::string",
           /*default=*/"\"circ_kernels\"", "name of the merged gpu.module">
  ];
}

def CircGpuDumpObjects : Pass<"circ-gpu-dump-objects", "::mlir::ModuleOp"> {
  let summary = "Write every gpu.binary object to a file";
  let description = [{
    Writes each NVVM object of each `gpu.binary` to
    `<dir>/<binary>.<chip>.ptx` (format isa) or `.cubin` / `.fatbin`, so
    tests and users can run ptxas, cuobjdump or a driver on them. The IR is
    unchanged.
  }];
  let options = [
    Option<"dir", "dir", "std::string", /*default=*/"",
           "directory to write to (created if missing)">
  ];
}

def CircGpuKernelStats : Pass<"circ-gpu-kernel-stats", "::mlir::ModuleOp"> {
  let summary = "Print ptxas statistics, occupancy and roofline per kernel";
  let description = [{
    Assembles every PTX object with `ptxas -v` and prints, per kernel and
    chip: registers, spill stores/loads, shared memory, stack, threads per
    block, the occupancy estimate with its limiting resource, and (from
    `circ.kernel_costs`) FLOPs, DRAM bytes and the roofline time on H100 and
    H200. Output goes to stdout as a table, or as JSON with `json`. This is
    what `circc compile --kernel-stats` prints; see docs/gpu.md.
  }];
  let options = [
    Option<"json", "json", "bool", /*default=*/"false",
           "print JSON instead of the table">
  ];
}

#endif // CIRC_GPU_PASSES_TD
