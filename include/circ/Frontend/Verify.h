//===- Verify.h - expected-diagnostic tests for .circ files -----*- C++ -*-===//
//
// `circc check --verify-diagnostics` checks that a file produces exactly the
// diagnostics its comments announce, as mlir-opt does:
//
//   layres = 8  // expected-error {{did you mean 'layers'?}}
//   // expected-warning @+1 {{fewer than min_per_neuron}}
//   weights = sparse(density: 1/1000)
//
// `@+N` / `@-N` shift the expected line; `@unknown` matches a diagnostic
// without a location. The text between {{ and }} must occur in the message.
// `expected-error[unknown-key]` also requires the diagnostic's name (see
// Diagnostics.def); the coverage test counts these.
// `--split-input-file` checks each part between `// -----` lines on its own.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_VERIFY_H
#define CIRC_FRONTEND_VERIFY_H

#include "circ/Frontend/Diagnostics.h"

#include <vector>

namespace circ::frontend {

/// Compares `produced` with the expected-* comments of `source`. Reports
/// every mismatch to `out` (verify-* diagnostics) and returns true if there
/// is none.
bool verifyDiagnostics(const SourceFile &source,
                       const DiagnosticEngine &produced, DiagnosticEngine &out);

/// Splits at lines consisting of `// -----`. Each part is padded with
/// newlines so that its line numbers are those of the whole file.
std::vector<SourceFile> splitInputFile(const SourceFile &source);

} // namespace circ::frontend

#endif // CIRC_FRONTEND_VERIFY_H
