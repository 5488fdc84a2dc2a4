//===- circc-fuzzer.cpp - libFuzzer target for the .circ front end -*- C++
//-*-===//
//
// Feeds arbitrary bytes through everything `circc check` does without
// MLIR: parse, check, render the diagnostics, dump the tree, verify
// expected-* comments. Beyond "no crash, no hang, no leak" (the sanitizers'
// job) it asserts two properties of accepted inputs:
//  * the checked model is one ModelConfig::validate() accepts, and
//  * --print-spec output checks again, to the very same spec.
// Built only with clang (-fsanitize=fuzzer,address); see
// test/Frontend/fuzz/ for the runs the test suite makes.
//
//===----------------------------------------------------------------------===//

#include "circ/Frontend/Check.h"
#include "circ/Frontend/SpecPrinter.h"
#include "circ/Frontend/Verify.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

using namespace circ::frontend;

[[noreturn]] static void fail(const char *what, const std::string &detail) {
  std::fprintf(stderr, "circc-fuzzer: %s\n%s\n", what, detail.c_str());
  std::abort();
}

static std::string printed(const RunSpec &spec, const SourceFile &source) {
  std::ostringstream os;
  SpecPrintOptions options;
  options.origins = false;
  printSpec(spec, source, os, options);
  return os.str();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  SourceFile source("fuzz.circ",
                    std::string(reinterpret_cast<const char *>(data), size));
  DiagnosticEngine diags(/*errorLimit=*/0);
  std::unique_ptr<ast::File> file = parse(source, diags);
  std::ostringstream sink;
  std::optional<RunSpec> spec;
  if (file) {
    ast::dump(*file, source, sink);
    spec = check(*file, source, diags);
  }
  RenderOptions render;
  render.showIds = true;
  renderDiagnostics(source, diags, sink, render);
  DiagnosticEngine mismatches(0);
  verifyDiagnostics(source, diags, mismatches);
  renderDiagnostics(source, mismatches, sink, render);
  if (!spec)
    return 0;

  std::vector<std::string> problems = spec->model.config.validate();
  if (!problems.empty())
    fail("the checker accepted a model ModelConfig rejects", problems[0]);
  std::string first = printed(*spec, source);
  SourceFile again("spec.circ", first);
  DiagnosticEngine againDiags(0);
  std::optional<RunSpec> reread = parseAndCheck(again, againDiags);
  if (!reread) {
    std::ostringstream errors;
    renderDiagnostics(again, againDiags, errors, render);
    fail("--print-spec output does not check", first + errors.str());
  }
  if (printed(*reread, again) != first)
    fail("--print-spec output checks to a different spec", first);
  return 0;
}
