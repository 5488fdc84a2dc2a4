//===- ExportCommand.cpp - circc export -------------------------*- C++ -*-===//
//
// `circc export --dense <checkpoint> -o <file>`: writes a training
// checkpoint's weights as dense fp32 safetensors with explicit zeros and no
// optimizer state, the form `safetensors.torch.load_file` and the paper's
// reference code read (rt::exportDenseWeights).
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ_runtime/Checkpoint.h"

#include "llvm/Support/raw_ostream.h"

using namespace circ;
using namespace circ::driver;
using namespace llvm;

cl::SubCommand circ::driver::exportCommand(
    "export", "Write a checkpoint's weights in another format");

static cl::opt<std::string> input(cl::Positional, cl::desc("<checkpoint>"),
                                  cl::sub(exportCommand),
                                  cl::cat(circcCategory));
static cl::opt<bool>
    dense("dense",
          cl::desc("Dense fp32 weights with explicit zeros, no optimizer "
                   "state (the only export format)"),
          cl::sub(exportCommand), cl::cat(circcCategory));
static cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                       cl::value_desc("file"),
                                       cl::sub(exportCommand),
                                       cl::cat(circcCategory));

int circ::driver::runExport() {
  if (input.empty())
    return usageError("no checkpoint; run 'circc export --help'");
  if (!dense)
    return usageError("choose the format: --dense (dense fp32 weights with "
                      "explicit zeros)");
  if (outputPath.empty())
    return usageError("no output file; pass -o <file>");
  rt::Expected<rt::Checkpoint> checkpoint = rt::Checkpoint::open(input);
  if (!checkpoint) {
    errs() << "circc: error: " << checkpoint.message() << "\n";
    return ExitInputErrors;
  }
  if (rt::Error e = rt::exportDenseWeights(*checkpoint, outputPath))
    return usageError(e.message());
  outs() << "wrote " << outputPath << " (dense fp32 weights of step "
         << checkpoint->state().step << ")\n";
  return ExitSuccess;
}
