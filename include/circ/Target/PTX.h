//===- PTX.h - PTX objects, ptxas, occupancy and roofline -------*- C++ -*-===//
//
// What `circc compile --emit=ptx|cubin --kernel-stats` is built from:
//
//   collectGpuObjects   the PTX (or cubin) of every gpu.binary in a module
//   assemblePtx         runs ptxas -v on one PTX object, returns the cubin and
//                       the per-kernel report (registers, spills, shared
//                       memory, stack) parsed by parsePtxasLog
//   estimateOccupancy   the CUDA occupancy calculator for sm_80/86/89/90
//   estimateRoofline    time bound of a kernel from its FLOPs and DRAM bytes
//                       (KernelCost, counted by the circ-gpu-kernel-cost pass)
//   computeKernelStats  all of the above for every kernel of every object;
//   printKernelStats / kernelStatsToJSON  the table and the JSON
//
// No GPU is needed: ptxas is the CUDA toolkit's assembler (found through
// $CUDA_HOME, $CUDA_ROOT, $CUDA_PATH, PATH or /usr/local/cuda/bin).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TARGET_PTX_H
#define CIRC_TARGET_PTX_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::circ {

/// One object of a `gpu.binary`: the compiled form of one gpu.module for one
/// target.
struct GpuObject {
  std::string binary;   ///< the gpu.binary's symbol (the gpu.module's name)
  std::string chip;     ///< "sm_90"
  std::string features; ///< "+ptx80"
  bool isPtx = false;   ///< format = isa (PTX text); else cubin/fatbin bytes
  std::string data;
};

/// Every NVVM object of every gpu.binary in `module`, in IR order.
std::vector<GpuObject> collectGpuObjects(ModuleOp module);

/// Path of ptxas, or an error saying where it was looked for.
llvm::Expected<std::string> findPtxas();

/// What `ptxas -v` reports for one kernel (an `.entry`).
struct PtxasKernelStats {
  std::string kernel;
  std::string arch;
  int registers = 0;
  int barriers = 0;
  int stackFrameBytes = 0;
  int spillStoreBytes = 0;
  int spillLoadBytes = 0;
  int sharedBytes = 0;   ///< static shared memory (smem)
  int constantBytes = 0; ///< cmem[0] (kernel parameters)
};

/// Parses the text ptxas -v writes (entries only; device functions called by
/// kernels are folded into their callers by ptxas' own report).
std::vector<PtxasKernelStats> parsePtxasLog(llvm::StringRef log);

/// Launch bounds a PTX entry declares (`.reqntid`/`.maxntid`), by kernel.
llvm::StringMap<unsigned> parsePtxThreadsPerBlock(llvm::StringRef ptx);

struct PtxasResult {
  std::string cubin;
  std::vector<PtxasKernelStats> kernels;
  std::string log; ///< the whole ptxas output, warnings included
};

/// Assembles `ptx` for `arch` ("sm_90") with `ptxas -v`. An error carries
/// ptxas' own messages.
llvm::Expected<PtxasResult> assemblePtx(llvm::StringRef ptx,
                                        llvm::StringRef arch,
                                        llvm::StringRef ptxasPath);

/// Per-SM resources of a GPU architecture (CUDA occupancy calculator data).
struct ArchLimits {
  std::string arch;
  int maxThreadsPerSM;
  int maxWarpsPerSM;
  int maxBlocksPerSM;
  int registersPerSM;
  int maxRegistersPerThread;
  int registerAllocUnit;      ///< registers, allocated per warp
  int warpAllocGranularity;   ///< warps
  int sharedPerSM;            ///< bytes, largest carve-out
  int maxSharedPerBlock;      ///< bytes a block may opt into
  int reservedSharedPerBlock; ///< bytes the driver reserves per block
  int sharedAllocUnit;        ///< bytes
};

/// Limits of sm_80, sm_86, sm_89 or sm_90 (sm_90a as sm_90); none otherwise.
std::optional<ArchLimits> archLimits(llvm::StringRef arch);

struct Occupancy {
  int blocksPerSM = 0;
  int activeWarps = 0;
  double fraction = 0; ///< active warps / maximum warps per SM
  /// What stops a further block: "warps", "blocks", "registers",
  /// "shared memory"; "does not fit" if not even one block fits.
  std::string limiter;
};

Occupancy estimateOccupancy(const ArchLimits &limits, unsigned threadsPerBlock,
                            unsigned registersPerThread, unsigned sharedBytes);

/// Peak FP32 throughput and DRAM bandwidth of a GPU.
struct GpuSpec {
  std::string name;
  double flopsPerSecond;
  double bytesPerSecond;
};
/// H100 SXM and H200 (reference/perf.md): 67 TFLOP/s FP32; 3.35 / 4.8 TB/s.
const std::vector<GpuSpec> &rooflineGpus();

/// Static work of one kernel (all launches summed), as the
/// circ-gpu-kernel-cost pass counts it. See docs/gpu.md.
struct KernelCost {
  double flops = 0;
  double dramBytes = 0;   ///< perfect-cache global traffic
  double accessBytes = 0; ///< bytes of every global load/store executed
  double sharedBytes = 0; ///< workgroup-memory traffic
  unsigned blockThreads = 0;
  double threads = 0;
  bool exact = true; ///< false if a trip count or launch size was guessed
};

/// The costs the circ-gpu-kernel-cost pass recorded on `module` (attribute
/// `circ.kernel_costs`), keyed by kernel name.
llvm::StringMap<KernelCost> readKernelCosts(ModuleOp module);

struct Roofline {
  double seconds = 0;   ///< max(compute time, memory time)
  double intensity = 0; ///< FLOP per DRAM byte
  bool memoryBound = true;
  double fractionOfPeak = 0; ///< attainable FLOP/s / peak FLOP/s
};

Roofline estimateRoofline(const GpuSpec &gpu, double flops, double bytes);

/// Everything --kernel-stats prints about one kernel on one architecture.
struct KernelStats {
  PtxasKernelStats ptxas;
  unsigned threadsPerBlock = 0; ///< 0 if neither PTX nor the cost knows it
  std::optional<Occupancy> occupancy;
  std::optional<KernelCost> cost;
  std::vector<std::pair<std::string, Roofline>> roofline; ///< per GPU
};

/// Runs ptxas over every PTX object of `module` and joins the reports with
/// launch bounds, occupancy and the recorded costs. `cubins`, if given,
/// receives each object's cubin (same order as collectGpuObjects' PTX
/// objects).
llvm::Expected<std::vector<KernelStats>> computeKernelStats(
    ModuleOp module, llvm::StringRef ptxasPath,
    std::vector<std::pair<GpuObject, std::string>> *cubins = nullptr);

void printKernelStats(llvm::raw_ostream &os,
                      const std::vector<KernelStats> &stats);
llvm::json::Value kernelStatsToJSON(const std::vector<KernelStats> &stats);

} // namespace mlir::circ

#endif // CIRC_TARGET_PTX_H
