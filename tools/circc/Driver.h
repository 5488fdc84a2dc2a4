//===- Driver.h - shared pieces of the circc subcommands --------*- C++ -*-===//
//
// circc is one executable with a subcommand per task (check, compile; later
// train, prune, report). Each subcommand lives in its own file and declares
// its llvm::cl::SubCommand and options there; this header holds what they
// share: exit codes, input reading and diagnostic printing.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TOOLS_CIRCC_DRIVER_H
#define CIRC_TOOLS_CIRCC_DRIVER_H

#include "circ/Frontend/Check.h"
#include "circ/Frontend/Diagnostics.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

#include <initializer_list>
#include <optional>

namespace circ::driver {

/// circc's exit codes (documented in `circc --help` and docs/language.md).
enum ExitCode : int {
  ExitSuccess = 0,     ///< done; the input may have warnings
  ExitInputErrors = 1, ///< the input has errors (diagnostics on stderr)
  ExitUsageError = 2,  ///< bad command line, unreadable file, missing feature
};

extern llvm::cl::OptionCategory circcCategory;
extern llvm::cl::SubCommand checkCommand;
extern llvm::cl::SubCommand compileCommand;
extern llvm::cl::SubCommand trainCommand;
extern llvm::cl::SubCommand pruneCommand;
extern llvm::cl::SubCommand compareCommand;
extern llvm::cl::SubCommand reportCommand;
extern llvm::cl::SubCommand exportCommand;

int runCheck();
int runCompile();
int runTrain();
int runPrune();
int runCompare();
int runReport();
int runExport();

/// The largest --threads a subcommand accepts (the .circ blocks' bound).
constexpr int64_t kMaxThreads = 4096;

/// Reads `path` ("-" is stdin). On failure prints `circc: error: ...`.
std::optional<frontend::SourceFile> readSource(llvm::StringRef path);

/// A diagnostic engine honouring --error-limit.
frontend::DiagnosticEngine makeDiagnosticEngine();

/// Prints diagnostics to stderr in clang's format (--show-diagnostic-ids
/// appends each one's name).
void printDiagnostics(const frontend::SourceFile &source,
                      const frontend::DiagnosticEngine &diags);

/// Prints `circc: error: <message>` to stderr and returns ExitUsageError.
int usageError(const llvm::Twine &message);

/// The usage error for the first of `options` given on the command line
/// with a value <= 0 ("--steps must be positive"), else ExitSuccess.
int checkPositive(
    std::initializer_list<const llvm::cl::opt<int64_t> *> options);

/// Reads, parses and checks `path`, printing diagnostics. On success the
/// spec and its source are returned; otherwise the exit code to use.
struct Loaded {
  std::optional<frontend::SourceFile> source;
  std::optional<frontend::RunSpec> spec;
  int exitCode = ExitSuccess;
};
Loaded loadAndCheck(llvm::StringRef path);

/// Prints an error about the checkpoint of `loaded`'s prune block at that
/// setting (with a note on how to make it when it is the default one) and
/// returns ExitInputErrors.
int pruneCheckpointError(const Loaded &loaded, const std::string &message);

} // namespace circ::driver

#endif // CIRC_TOOLS_CIRCC_DRIVER_H
