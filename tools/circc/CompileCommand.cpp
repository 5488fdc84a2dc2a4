//===- CompileCommand.cpp - circc compile -----------------------*- C++ -*-===//
//
// `circc compile --emit=ast|mlir|llvm|ptx file.circ`: the checked file's
// syntax tree, or its model as `circ` MLIR (source locations on every op),
// or the model lowered to LLVM IR or PTX.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ/Frontend/Lowering.h"
#include "circ/Frontend/Parse.h"
#include "circ/GPU/Pipeline.h"
#include "circ/Target/JIT.h"
#include "circ/Target/PTX.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace circ;
using namespace circ::driver;
using namespace circ::frontend;
using namespace llvm;

cl::SubCommand circ::driver::compileCommand(
    "compile", "Compile a .circ file and print the result (--emit)");

namespace {
enum class Emit { Ast, Mlir, Llvm, Ptx };
} // namespace

static cl::opt<std::string> input(cl::Positional, cl::desc("<file.circ>"),
                                  cl::sub(compileCommand),
                                  cl::cat(circcCategory));

static cl::opt<Emit> emit(
    "emit", cl::desc("What to print"), cl::init(Emit::Mlir),
    cl::values(clEnumValN(Emit::Ast, "ast", "the syntax tree"),
               clEnumValN(Emit::Mlir, "mlir", "the model as circ dialect IR"),
               clEnumValN(Emit::Llvm, "llvm", "LLVM IR for the CPU"),
               clEnumValN(Emit::Ptx, "ptx", "PTX for NVIDIA GPUs")),
    cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<int64_t>
    batch("batch",
          cl::desc("Batch size of the model functions (0: dynamic, '?')"),
          cl::init(0), cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<bool> withLoss("with-loss",
                              cl::desc("Also emit @loss(tokens, targets, ...)"),
                              cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<bool>
    withMaskGates("with-mask-gates",
                  cl::desc("Put a pruning mask gate at every node location"),
                  cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<bool> printDebugInfo(
    "mlir-print-debuginfo",
    cl::desc("Print each op's location (the .circ key that decided it)"),
    cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<std::string> outputPath("o",
                                       cl::desc("Output file ('-' = stdout)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::sub(compileCommand),
                                       cl::cat(circcCategory));

/// Lowers `module` (circ dialect) to loop nests and maps those onto GPU
/// kernels compiled to PTX for the `kernel for cuda` block's architecture
/// (sm_90 without one).
static mlir::LogicalResult lowerToPtx(mlir::ModuleOp module,
                                      const RunSpec &spec) {
  mlir::circ::CPUPipelineOptions loops;
  mlir::circ::GPUPipelineOptions gpu;
  gpu.format = "isa";
  std::string chip = "sm_90";
  if (const KernelSpec *k = spec.kernelFor(KernelTarget::Cuda)) {
    chip = "sm_" + std::to_string(k->smArch);
    if (k->threadsPerBlock.value > 0)
      gpu.blockThreads = k->threadsPerBlock.value;
    if (!k->tile.value.empty())
      loops.tileTokens = k->tile.value[0];
  }
  gpu.chips = std::vector<std::string>{chip};
  mlir::PassManager pm(module.getContext());
  mlir::circ::buildCPULoopsPipeline(pm, loops);
  mlir::circ::buildGPUPipeline(pm, gpu);
  return pm.run(module);
}

int circ::driver::runCompile() {
  if (input.empty())
    return usageError("no input file; run 'circc compile --help'");
  Loaded loaded = loadAndCheck(input);
  if (loaded.exitCode != ExitSuccess)
    return loaded.exitCode;

  std::string text;
  switch (emit) {
  case Emit::Ast: {
    // The file parsed and checked cleanly above, so this parse succeeds.
    DiagnosticEngine diags = makeDiagnosticEngine();
    std::unique_ptr<ast::File> file = parse(*loaded.source, diags);
    std::ostringstream os;
    ast::dump(*file, *loaded.source, os);
    text = os.str();
    break;
  }
  case Emit::Mlir:
  case Emit::Llvm:
  case Emit::Ptx: {
    if (batch < 0)
      return usageError("--batch must be 0 (dynamic) or positive");
    // Generated code has static shapes: the train block's batch by default.
    int64_t batchSize = batch;
    if (emit != Emit::Mlir && batchSize == 0) {
      if (!loaded.spec->train)
        return usageError(std::string("--emit=") +
                          (emit == Emit::Llvm ? "llvm" : "ptx") +
                          " needs a batch size: pass --batch=N (the file has "
                          "no train block to take it from)");
      batchSize = loaded.spec->train->batch.value;
    }
    mlir::DialectRegistry registry;
    if (emit == Emit::Ptx)
      mlir::circ::registerCircGPU(registry); // NVVM target, translations
    mlir::MLIRContext ctx(registry);
    // MLIR's errors point into the .circ file: render them against it.
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(
        MemoryBuffer::getMemBufferCopy(loaded.source->text(),
                                       loaded.source->path()),
        SMLoc());
    mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
    mlir::circ::LoweringOptions options;
    options.batch = batchSize;
    options.withLoss = withLoss;
    options.withMaskGates = withMaskGates;
    auto module =
        mlir::circ::lowerToCirc(ctx, *loaded.spec, *loaded.source, options);
    if (mlir::failed(module))
      return ExitInputErrors;
    raw_string_ostream os(text);
    if (emit == Emit::Mlir) {
      mlir::OpPrintingFlags flags;
      if (printDebugInfo)
        flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
      (*module)->print(os, flags);
      break;
    }
    if (emit == Emit::Ptx) {
      if (mlir::failed(lowerToPtx(**module, *loaded.spec)))
        return ExitInputErrors;
      for (const mlir::circ::GpuObject &object :
           mlir::circ::collectGpuObjects(**module))
        os << "// gpu.binary @" << object.binary << ", " << object.chip << " ("
           << object.features << ")\n"
           << object.data << '\n';
      break;
    }
    // The CPU pipeline, tuned by the file's `kernel for cpu` block.
    mlir::circ::CPUPipelineOptions pipeline;
    if (const KernelSpec *k = loaded.spec->kernelFor(KernelTarget::Cpu)) {
      if (k->vectorWidth.value > 0)
        pipeline.vectorWidth = k->vectorWidth.value;
      if (!k->tile.value.empty())
        pipeline.tileTokens = k->tile.value[0];
    }
    if (mlir::failed(mlir::circ::lowerToLLVMDialect(**module, pipeline)))
      return ExitInputErrors;
    // circ's argument annotations (circ.param, circ.buffer, ...) describe the
    // calling convention to the JIT; LLVM IR has no place for them.
    (*module)->walk([](mlir::FunctionOpInterface func) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
        SmallVector<mlir::NamedAttribute> kept;
        for (mlir::NamedAttribute attr : func.getArgAttrs(i))
          if (!attr.getName().getValue().starts_with("circ."))
            kept.push_back(attr);
        func.setArgAttrs(i, kept);
      }
    });
    llvm::LLVMContext llvmContext;
    std::string error;
    std::unique_ptr<llvm::Module> llvmModule = mlir::circ::translateToLLVMIR(
        **module, llvmContext, /*optLevel=*/3, error);
    if (!llvmModule) {
      errs() << "circc: error: " << error << '\n';
      return ExitInputErrors;
    }
    llvmModule->print(os, nullptr);
    break;
  }
  }

  std::error_code ec;
  ToolOutputFile out(outputPath, ec, sys::fs::OF_None);
  if (ec)
    return usageError("cannot write '" + outputPath + "': " + ec.message());
  out.os() << text;
  out.keep();
  return ExitSuccess;
}
