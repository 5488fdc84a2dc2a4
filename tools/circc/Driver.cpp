//===- Driver.cpp - shared pieces of the circc subcommands ------*- C++ -*-===//
#include "Driver.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>

using namespace circ;
using namespace circ::driver;
using namespace llvm;

cl::OptionCategory circ::driver::circcCategory("circc options");

static cl::opt<unsigned> errorLimit(
    "error-limit", cl::desc("Stop after this many errors (0 = no limit)"),
    cl::init(20), cl::sub(cl::SubCommand::getAll()), cl::cat(circcCategory));

static cl::opt<bool> showDiagnosticIds(
    "show-diagnostic-ids",
    cl::desc("Append each diagnostic's name, e.g. [unknown-key]"),
    cl::sub(cl::SubCommand::getAll()), cl::cat(circcCategory));

int circ::driver::usageError(const Twine &message) {
  errs() << "circc: error: " << message << '\n';
  return ExitUsageError;
}

int circ::driver::checkPositive(
    std::initializer_list<const cl::opt<int64_t> *> options) {
  for (const cl::opt<int64_t> *option : options)
    if (option->getNumOccurrences() && *option <= 0)
      return usageError("--" + option->ArgStr + " must be positive");
  return ExitSuccess;
}

std::optional<frontend::SourceFile> circ::driver::readSource(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/false,
                                   /*RequiresNullTerminator=*/false);
  if (std::error_code ec = buffer.getError()) {
    usageError("cannot read '" + path + "': " + ec.message());
    return std::nullopt;
  }
  return frontend::SourceFile(path == "-" ? "<stdin>" : path.str(),
                              (*buffer)->getBuffer().str());
}

frontend::DiagnosticEngine circ::driver::makeDiagnosticEngine() {
  return frontend::DiagnosticEngine(errorLimit);
}

void circ::driver::printDiagnostics(const frontend::SourceFile &source,
                                    const frontend::DiagnosticEngine &diags) {
  frontend::RenderOptions options;
  options.showIds = showDiagnosticIds;
  std::cout.flush();
  frontend::renderDiagnostics(source, diags, std::cerr, options);
  std::cerr.flush();
}

Loaded circ::driver::loadAndCheck(StringRef path) {
  Loaded loaded;
  loaded.source = readSource(path);
  if (!loaded.source) {
    loaded.exitCode = ExitUsageError;
    return loaded;
  }
  frontend::DiagnosticEngine diags = makeDiagnosticEngine();
  loaded.spec = frontend::parseAndCheck(*loaded.source, diags);
  printDiagnostics(*loaded.source, diags);
  if (!loaded.spec)
    loaded.exitCode = ExitInputErrors;
  return loaded;
}
