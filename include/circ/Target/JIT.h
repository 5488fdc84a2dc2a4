//===- JIT.h - run circ models on the CPU -----------------------*- C++ -*-===//
//
// Compiles a module in the circ dialect with the CPU pipeline and either
// JIT-compiles it (MLIR's ExecutionEngine) or writes an object file, and
// calls its functions with plain buffers.
//
// Calling convention of a compiled function `f` (docs/codegen.md has the
// full table):
//   * one buffer per argument of the lowered signature, in order: the
//     original arguments, with every weight argument replaced by the buffers
//     of its `#circ.sparsity` layout (`dense`, then e.g. `row_ptr`,
//     `col_idx`, `values`, `col_ptr`, `row_idx`, `values_t` for csr, or
//     `ell_idx`, `ell_values` for ell); then one output buffer per result of
//     `f`, which the caller allocates with the result's shape;
//   * every buffer is a strided memref; the exported symbol is
//     `_mlir_ciface_f`, taking one pointer to a memref descriptor
//     `{T *allocated, T *aligned, int64_t offset, int64_t sizes[rank],
//     int64_t strides[rank]}` per buffer (the layout of MLIR's
//     StridedMemRefType); AOT objects export the same symbol and need
//     libomp (`-lomp`) when compiled with `parallel`.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TARGET_JIT_H
#define CIRC_TARGET_JIT_H

#include "circ/Pipelines/Pipelines.h"
#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace mlir::circ {

/// Element types of buffers.
enum class ElementKind { f32, i32 };

/// One buffer of a lowered function's signature.
struct BufferInfo {
  std::string param;    ///< `circ.param` (checkpoint name), or empty
  std::string buffer;   ///< `circ.buffer` of an expanded weight, or empty
  int64_t result = -1;  ///< index of the result for output buffers
  ElementKind element = ElementKind::f32;
  std::vector<int64_t> shape; ///< ShapedType::kDynamic for `?`
};

/// A lowered function: its name and buffers in call order.
struct EntryPoint {
  std::string name;
  std::vector<BufferInfo> buffers;
};

/// A buffer passed to a call: its data and shape (row-major when `strides`
/// is empty).
struct BufferArg {
  void *data = nullptr;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
};

struct JITOptions {
  /// LLVM optimisation level of the generated code.
  unsigned optLevel = 3;
};

/// A JIT-compiled module.
class JITModule {
public:
  ~JITModule();

  /// Lowers `module` (circ dialect; rewritten in place) with the CPU pipeline
  /// and JIT-compiles it. Diagnostics go to the module's context.
  static FailureOr<std::unique_ptr<JITModule>>
  compile(ModuleOp module, const CPUPipelineOptions &pipeline,
          const JITOptions &options = {});

  /// The lowered signature of function `name`, or null.
  const EntryPoint *entryPoint(StringRef name) const;
  const std::vector<EntryPoint> &entryPoints() const { return entries; }

  /// Calls `name` with one buffer per entry of its signature. Checks the
  /// count, ranks and static sizes; on mismatch returns failure and sets
  /// `error`.
  LogicalResult call(StringRef name, ArrayRef<BufferArg> args,
                     std::string &error);

private:
  JITModule() = default;
  std::unique_ptr<ExecutionEngine> engine;
  std::vector<EntryPoint> entries;
};

/// Reads the entry points of a module already lowered to loops on memrefs
/// (after `buildCPULoopsPipeline`).
std::vector<EntryPoint> describeEntryPoints(ModuleOp loweredModule);

/// Lowers a circ module to the LLVM dialect in place.
LogicalResult lowerToLLVMDialect(ModuleOp module,
                                 const CPUPipelineOptions &pipeline);

/// Translates an LLVM-dialect module to LLVM IR, optimised at `optLevel`
/// for the host CPU.
std::unique_ptr<llvm::Module> translateToLLVMIR(ModuleOp llvmDialectModule,
                                                llvm::LLVMContext &context,
                                                unsigned optLevel,
                                                std::string &error);

/// Compiles an LLVM-dialect module to a relocatable object file for the host
/// CPU (ahead-of-time use; link with libomp when compiled with `parallel`).
LogicalResult emitObjectFile(ModuleOp llvmDialectModule, StringRef path,
                             unsigned optLevel, std::string &error);

/// Threads the parallel kernels use (OpenMP); default: all cores.
void setNumThreads(int threads);
int getNumThreads();

} // namespace mlir::circ

#endif // CIRC_TARGET_JIT_H
