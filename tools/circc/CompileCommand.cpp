//===- CompileCommand.cpp - circc compile -----------------------*- C++ -*-===//
//
// `circc compile --emit=ast|mlir|llvm|ptx|cubin file.circ`: the checked
// file's syntax tree, or its model as `circ` MLIR (source locations on every
// op), or the model lowered to LLVM IR, PTX or cubins (ptxas on the PTX, one
// per chip). `--kernel-stats` reports every GPU kernel as ptxas assembled it,
// with occupancy and H100/H200 roofline estimates (circ/Target/PTX.h).
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ/Frontend/Lowering.h"
#include "circ/Frontend/Parse.h"
#include "circ/GPU/Pipeline.h"
#include "circ/Target/JIT.h"
#include "circ/Target/PTX.h"
#include "dialects/Circ/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
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
enum class Emit { Ast, Mlir, Llvm, Ptx, Cubin };
} // namespace

static cl::opt<std::string> input(cl::Positional, cl::desc("<file.circ>"),
                                  cl::sub(compileCommand),
                                  cl::cat(circcCategory));

static cl::opt<Emit> emit(
    "emit", cl::desc("What to print"), cl::init(Emit::Mlir),
    cl::values(clEnumValN(Emit::Ast, "ast", "the syntax tree"),
               clEnumValN(Emit::Mlir, "mlir", "the model as circ dialect IR"),
               clEnumValN(Emit::Llvm, "llvm", "LLVM IR for the CPU"),
               clEnumValN(Emit::Ptx, "ptx", "PTX for NVIDIA GPUs"),
               clEnumValN(Emit::Cubin, "cubin",
                          "cubins (ptxas on the PTX), one per --gpu-arch")),
    cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<int64_t>
    batch("batch",
          cl::desc("Batch size of the model functions (0: dynamic, '?')"),
          cl::init(0), cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<int64_t>
    seqLen("seq-len",
           cl::desc("Tokens per sequence of the model functions (0: ctx)"),
           cl::init(0), cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<bool> withLoss("with-loss",
                              cl::desc("Also emit @loss(tokens, targets, ...)"),
                              cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<bool> withLossGrad(
    "with-loss-grad",
    cl::desc("Also emit the training step @loss_grad (implies --with-loss)"),
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

static cl::opt<std::string> gpuArch(
    "gpu-arch",
    cl::desc("GPU architectures for --emit=ptx|cubin: sm_80, sm_86, sm_89, "
             "sm_90, a comma-separated list, or 'all' (sm_80,sm_90); default: "
             "the `kernel for cuda` block's, else sm_90"),
    cl::value_desc("chips"), cl::sub(compileCommand), cl::cat(circcCategory));

static cl::opt<std::string> kernelStats(
    "kernel-stats",
    cl::desc("Print every GPU kernel's registers, spills, shared memory "
             "(from ptxas), occupancy and H100/H200 roofline; "
             "--kernel-stats=json for JSON"),
    cl::value_desc("text|json"), cl::ValueOptional, cl::sub(compileCommand),
    cl::cat(circcCategory));

static cl::opt<std::string>
    ptxasOption("ptxas",
                cl::desc("The ptxas to use (default: $CUDA_HOME/bin/ptxas, "
                         "$CUDA_ROOT, $CUDA_PATH, PATH, /usr/local/cuda/bin)"),
                cl::value_desc("path"), cl::sub(compileCommand),
                cl::cat(circcCategory));

/// Shared-memory projection tiles on the GPU: 16 tokens keep every tile of
/// the example models within a block's 48 KiB of static shared memory, so no
/// kernel falls back to per-thread scratch (which spills).
constexpr int64_t kGpuTileTokens = 16;

/// The chips to compile for: --gpu-arch, else the `kernel for cuda` block's,
/// else sm_90. An error names the unsupported chip.
static Expected<std::vector<std::string>> gpuChips(const RunSpec &spec) {
  if (gpuArch.empty()) {
    if (const KernelSpec *k = spec.kernelFor(KernelTarget::Cuda))
      return std::vector<std::string>{"sm_" + std::to_string(k->smArch)};
    return std::vector<std::string>{"sm_90"};
  }
  if (gpuArch == "all")
    return std::vector<std::string>{"sm_80", "sm_90"};
  std::vector<std::string> chips;
  SmallVector<StringRef> parts;
  StringRef(gpuArch).split(parts, ',');
  for (StringRef chip : parts) {
    chip = chip.trim();
    if (!mlir::circ::archLimits(chip))
      return createStringError("unsupported --gpu-arch '" + chip +
                               "' (expected sm_80, sm_86, sm_89, sm_90 or "
                               "'all')");
    if (!llvm::is_contained(chips, chip))
      chips.push_back(chip.str());
  }
  return chips;
}

/// Lowers `module` (circ dialect) to loop nests and maps those onto GPU
/// kernels compiled to PTX for `chips`, with the `kernel for cuda` block's
/// block size and token tile.
static mlir::LogicalResult lowerToPtx(mlir::ModuleOp module,
                                      const RunSpec &spec,
                                      const std::vector<std::string> &chips) {
  mlir::circ::CPUPipelineOptions loops;
  loops.tileTokens = kGpuTileTokens;
  mlir::circ::GPUPipelineOptions gpu;
  gpu.format = "isa";
  if (const KernelSpec *k = spec.kernelFor(KernelTarget::Cuda)) {
    if (k->threadsPerBlock.value > 0)
      gpu.blockThreads = k->threadsPerBlock.value;
    if (!k->tile.value.empty())
      loops.tileTokens = k->tile.value[0];
  }
  gpu.chips = chips;
  mlir::PassManager pm(module.getContext());
  mlir::circ::buildCPULoopsPipeline(pm, loops);
  mlir::circ::buildGPUPipeline(pm, gpu);
  return pm.run(module);
}

/// --ptxas, else the toolkit's ptxas; the error says how to point at one.
static Expected<std::string> ptxasPath() {
  if (!ptxasOption.empty()) {
    // A bare name is looked up on PATH, a path is taken as it is.
    StringRef name = ptxasOption;
    if (!name.contains('/')) {
      if (ErrorOr<std::string> found = sys::findProgramByName(name))
        return *found;
    } else if (sys::fs::can_execute(name) && !sys::fs::is_directory(name)) {
      return name.str();
    }
    return createStringError("--ptxas='" + name +
                             "' is not an executable file");
  }
  Expected<std::string> found = mlir::circ::findPtxas();
  if (!found)
    return createStringError(toString(found.takeError()) +
                             " (export CUDA_HOME=/path/to/cuda) or pass "
                             "--ptxas=/path/to/ptxas");
  return found;
}

/// Where the cubin for `chip` goes: `path` itself for one chip, else
/// `path` with the chip before its extension (model.cubin → model.sm_90.cubin).
static std::string cubinPath(StringRef path, StringRef chip, bool several) {
  if (!several)
    return path.str();
  SmallString<256> out(path);
  StringRef ext = sys::path::extension(path);
  sys::path::replace_extension(out, "." + chip + ext);
  return std::string(out);
}

int circ::driver::runCompile() {
  if (input.empty())
    return usageError("no input file; run 'circc compile --help'");
  bool gpu = emit == Emit::Ptx || emit == Emit::Cubin;
  bool stats = kernelStats.getNumOccurrences() > 0;
  if (stats && kernelStats != "" && kernelStats != "text" &&
      kernelStats != "json")
    return usageError("--kernel-stats takes 'text' or 'json', not '" +
                      kernelStats + "'");
  if ((stats || gpuArch.getNumOccurrences() ||
       ptxasOption.getNumOccurrences()) &&
      !gpu)
    return usageError("--kernel-stats, --gpu-arch and --ptxas go with "
                      "--emit=ptx or --emit=cubin");
  if (emit == Emit::Cubin && outputPath == "-")
    return usageError("--emit=cubin writes binary files: name one with -o "
                      "(several chips: -o m.cubin writes m.sm_80.cubin, ...)");
  if (stats && outputPath == "-")
    return usageError("--kernel-stats prints on stdout: write the PTX to a "
                      "file with -o");
  if (seqLen < 0)
    return usageError("--seq-len must be 0 (ctx) or positive");
  Loaded loaded = loadAndCheck(input);
  if (loaded.exitCode != ExitSuccess)
    return loaded.exitCode;
  if (seqLen > loaded.spec->model.config.ctx)
    return usageError("--seq-len=" + Twine(seqLen.getValue()) +
                      " exceeds the model's ctx (" +
                      Twine(loaded.spec->model.config.ctx) + ")");

  std::vector<std::string> chips;
  std::string ptxas;
  if (gpu) {
    Expected<std::vector<std::string>> found = gpuChips(*loaded.spec);
    if (!found)
      return usageError(toString(found.takeError()));
    chips = std::move(*found);
    // ptxas is looked for before the (slow) lowering.
    if (emit == Emit::Cubin || stats) {
      Expected<std::string> path = ptxasPath();
      if (!path)
        return usageError(toString(path.takeError()));
      ptxas = std::move(*path);
    }
  }

  std::string text;
  std::vector<std::pair<mlir::circ::GpuObject, std::string>> cubins;
  std::string statsText;
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
  case Emit::Ptx:
  case Emit::Cubin: {
    if (batch < 0)
      return usageError("--batch must be 0 (dynamic) or positive");
    // Generated code has static shapes: the train block's batch by default.
    int64_t batchSize = batch;
    if (emit != Emit::Mlir && batchSize == 0) {
      if (!loaded.spec->train)
        return usageError("--emit=" +
                          StringRef(emit == Emit::Llvm  ? "llvm"
                                    : emit == Emit::Ptx ? "ptx"
                                                        : "cubin") +
                          " needs a batch size: pass --batch=N (the file has "
                          "no train block to take it from)");
      batchSize = loaded.spec->train->batch.value;
    }
    mlir::DialectRegistry registry;
    if (gpu)
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
    options.seqLen = seqLen;
    options.withLoss = withLoss || withLossGrad;
    options.withMaskGates = withMaskGates;
    auto module =
        mlir::circ::lowerToCirc(ctx, *loaded.spec, *loaded.source, options);
    if (mlir::failed(module))
      return ExitInputErrors;
    if (withLossGrad) {
      mlir::PassManager pm(&ctx);
      mlir::circ::CircDifferentiateOptions differentiate;
      differentiate.funcName = "loss";
      pm.addPass(mlir::circ::createCircDifferentiate(differentiate));
      if (mlir::failed(pm.run(**module)))
        return ExitInputErrors;
    }
    raw_string_ostream os(text);
    if (emit == Emit::Mlir) {
      mlir::OpPrintingFlags flags;
      if (printDebugInfo)
        flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
      (*module)->print(os, flags);
      break;
    }
    if (gpu) {
      if (mlir::failed(lowerToPtx(**module, *loaded.spec, chips)))
        return ExitInputErrors;
      if (emit == Emit::Ptx)
        for (const mlir::circ::GpuObject &object :
             mlir::circ::collectGpuObjects(**module))
          os << "// gpu.binary @" << object.binary << ", " << object.chip
             << " (" << object.features << ")\n"
             << object.data << '\n';
      if (!ptxas.empty()) {
        Expected<std::vector<mlir::circ::KernelStats>> kernels =
            mlir::circ::computeKernelStats(
                **module, ptxas, emit == Emit::Cubin ? &cubins : nullptr);
        if (!kernels) {
          errs() << "circc: error: " << toString(kernels.takeError()) << '\n';
          return ExitInputErrors;
        }
        raw_string_ostream statsOs(statsText);
        if (kernelStats == "json")
          statsOs << formatv("{0:2}",
                             mlir::circ::kernelStatsToJSON(*kernels))
                  << '\n';
        else if (stats)
          mlir::circ::printKernelStats(statsOs, *kernels);
      }
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

  if (emit == Emit::Cubin) {
    // One object per chip (the pipeline merges every kernel into one module).
    for (const auto &[object, cubin] : cubins) {
      std::string path = cubinPath(outputPath, object.chip, cubins.size() > 1);
      std::error_code ec;
      ToolOutputFile out(path, ec, sys::fs::OF_None);
      if (ec)
        return usageError("cannot write '" + path + "': " + ec.message());
      out.os() << cubin;
      out.keep();
    }
  } else {
    std::error_code ec;
    ToolOutputFile out(outputPath, ec, sys::fs::OF_None);
    if (ec)
      return usageError("cannot write '" + outputPath + "': " + ec.message());
    out.os() << text;
    out.keep();
  }
  outs() << statsText;
  return ExitSuccess;
}
