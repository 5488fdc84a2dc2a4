//===- circc.cpp - the circ driver ------------------------------*- C++ -*-===//
//
// Dispatches to the subcommand named on the command line. Subcommands
// register themselves (their llvm::cl::SubCommand objects) in their own
// files; adding one means a new file, an extern in Driver.h and a line here.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <malloc.h>

using namespace circ::driver;

static const char *const kOverview =
    "circ driver: check and compile .circ files describing weight-sparse "
    "transformers\n\n"
    "  circc check [options] <file.circ>     parse and check; --print-spec "
    "shows every value\n"
    "  circc compile --emit=<kind> <file.circ>  print the AST, MLIR, LLVM IR "
    "or PTX\n"
    "  circc train [options] <file.circ>     train the model on its data\n"
    "  circc prune [options] <file.circ>     extract, audit and show each "
    "task's circuit\n"
    "  circc compare <sparse.circ> <dense.circ>  circuit sizes of a sparse "
    "and a dense model\n"
    "  circc report <run dir> [-o curve.svg] draw the loss and density "
    "curves\n"
    "  circc export --dense <ckpt> -o <file> dense fp32 weights, explicit "
    "zeros\n\n"
    "Run 'circc <subcommand> --help' for a subcommand's options.\n\n"
    "Exit codes:\n"
    "  0  success (warnings may have been printed)\n"
    "  1  the input has errors; diagnostics are on stderr\n"
    "  2  usage error: bad command line, unreadable file, or a feature this "
    "build lacks\n";

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Generated kernels allocate their intermediates on every call. Keep freed
  // blocks in the heap rather than handing them back to the kernel: mapping
  // and zeroing fresh pages each step cost ~15% of a small model's step.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  for (llvm::cl::SubCommand *sub :
       {&llvm::cl::SubCommand::getTopLevel(), &checkCommand, &compileCommand,
        &trainCommand, &pruneCommand, &compareCommand, &reportCommand,
        &exportCommand})
    llvm::cl::HideUnrelatedOptions(circcCategory, *sub);
  if (!llvm::cl::ParseCommandLineOptions(argc, argv, kOverview, &llvm::errs()))
    return ExitUsageError;
  if (checkCommand)
    return runCheck();
  if (compileCommand)
    return runCompile();
  if (trainCommand)
    return runTrain();
  if (pruneCommand)
    return runPrune();
  if (compareCommand)
    return runCompare();
  if (reportCommand)
    return runReport();
  if (exportCommand)
    return runExport();
  return usageError("no subcommand given; run 'circc --help'");
}
