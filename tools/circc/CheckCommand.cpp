//===- CheckCommand.cpp - circc check ---------------------------*- C++ -*-===//
//
// `circc check file.circ` parses and checks a file and prints its
// diagnostics; `--print-spec` prints the fully resolved spec with the source
// of every value. `--verify-diagnostics` and `--split-input-file` are for
// tests, as in mlir-opt.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ/Frontend/SpecPrinter.h"
#include "circ/Frontend/Verify.h"
#include "circ/Tasks/Tasks.h"

#include "llvm/Support/raw_ostream.h"

#include <iostream>

using namespace circ;
using namespace circ::driver;
using namespace circ::frontend;
using namespace llvm;

cl::SubCommand circ::driver::checkCommand(
    "check", "Parse and check a .circ file and print its diagnostics");

static cl::opt<std::string> input(cl::Positional, cl::desc("<file.circ>"),
                                  cl::sub(checkCommand),
                                  cl::cat(circcCategory));

static cl::opt<bool> printSpecOption(
    "print-spec",
    cl::desc("Print the resolved spec: every key's value and where it came "
             "from (a source position, 'default' or 'derived')"),
    cl::sub(checkCommand), cl::cat(circcCategory));

static cl::opt<bool> verifyOption(
    "verify-diagnostics",
    cl::desc("Check that the diagnostics are exactly those announced by "
             "'// expected-error {{...}}' comments"),
    cl::sub(checkCommand), cl::cat(circcCategory));

static cl::opt<bool>
    splitInput("split-input-file",
               cl::desc("Check each part between '// -----' lines on its own"),
               cl::sub(checkCommand), cl::cat(circcCategory));

static cl::opt<bool>
    listDiagnostics("list-diagnostics",
                    cl::desc("List every diagnostic circc can emit and exit"),
                    cl::sub(checkCommand), cl::cat(circcCategory));

static cl::opt<bool>
    listTasks("list-tasks", cl::desc("List the known pruning tasks and exit"),
              cl::sub(checkCommand), cl::cat(circcCategory));

static const char *severityName(Severity s) {
  return s == Severity::Error     ? "error"
         : s == Severity::Warning ? "warning"
                                  : "note";
}

int circ::driver::runCheck() {
  if (listDiagnostics) {
    for (size_t i = 0; i < static_cast<size_t>(DiagID::NumDiagIDs); ++i) {
      const DiagInfo &info = diagInfo(static_cast<DiagID>(i));
      outs() << info.name << ' ' << severityName(info.severity) << ' '
             << info.summary << '\n';
    }
    return ExitSuccess;
  }
  if (listTasks) {
    for (const circ::tasks::Task &task : circ::tasks::builtinTasks())
      outs() << task.name() << "  " << task.description() << '\n';
    return ExitSuccess;
  }
  if (input.empty())
    return usageError("no input file; run 'circc check --help'");

  std::optional<SourceFile> source = readSource(input);
  if (!source)
    return ExitUsageError;
  std::vector<SourceFile> parts;
  if (splitInput)
    parts = splitInputFile(*source);
  else
    parts.push_back(std::move(*source));

  bool failed = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const SourceFile &part = parts[i];
    DiagnosticEngine diags = makeDiagnosticEngine();
    std::optional<RunSpec> spec = parseAndCheck(part, diags);
    if (verifyOption) {
      DiagnosticEngine mismatches(0);
      if (!frontend::verifyDiagnostics(part, diags, mismatches)) {
        printDiagnostics(part, mismatches);
        failed = true;
      }
      continue;
    }
    printDiagnostics(part, diags);
    if (!spec) {
      failed = true;
      continue;
    }
    if (printSpecOption) {
      if (i > 0)
        std::cout << "// -----\n";
      printSpec(*spec, part, std::cout);
    }
  }
  std::cout.flush();
  return failed ? ExitInputErrors : ExitSuccess;
}
