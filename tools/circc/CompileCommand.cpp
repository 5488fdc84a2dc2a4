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

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
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
  case Emit::Mlir: {
    if (batch < 0)
      return usageError("--batch must be 0 (dynamic) or positive");
    mlir::MLIRContext ctx;
    // MLIR's errors point into the .circ file: render them against it.
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(
        MemoryBuffer::getMemBufferCopy(loaded.source->text(),
                                       loaded.source->path()),
        SMLoc());
    mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
    mlir::circ::LoweringOptions options;
    options.batch = batch;
    options.withLoss = withLoss;
    options.withMaskGates = withMaskGates;
    auto module =
        mlir::circ::lowerToCirc(ctx, *loaded.spec, *loaded.source, options);
    if (mlir::failed(module))
      return ExitInputErrors;
    mlir::OpPrintingFlags flags;
    if (printDebugInfo)
      flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
    raw_string_ostream os(text);
    (*module)->print(os, flags);
    break;
  }
  case Emit::Llvm:
  case Emit::Ptx:
    return usageError("--emit=llvm and --emit=ptx need the CPU and GPU "
                      "pipelines (circ/Pipelines), which this build does not "
                      "have yet");
  }

  std::error_code ec;
  ToolOutputFile out(outputPath, ec, sys::fs::OF_None);
  if (ec)
    return usageError("cannot write '" + outputPath + "': " + ec.message());
  out.os() << text;
  out.keep();
  return ExitSuccess;
}
