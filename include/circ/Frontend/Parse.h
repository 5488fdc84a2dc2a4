//===- Parse.h - .circ text to syntax tree ----------------------*- C++ -*-===//
//
// The exception-free boundary around the ANTLR-generated parser: callers
// compiled with -fno-exceptions (the driver, MLIR code) include only this.
// Everything wrong with the text is reported to the DiagnosticEngine with a
// domain message (never ANTLR's own wording).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_PARSE_H
#define CIRC_FRONTEND_PARSE_H

#include "circ/Frontend/AST.h"
#include "circ/Frontend/Diagnostics.h"

#include <cstddef>
#include <memory>

namespace circ::frontend {

/// Inputs beyond these are rejected with a message instead of being parsed:
/// the parser recurses once per bracket level, and a .circ file is small.
struct ParseLimits {
  size_t maxBytes = size_t(1) << 20;
  /// Deepest bracket nesting, and deepest expression tree.
  unsigned maxNesting = 64;
};

/// Parses `source`. Returns null if it has any lexical or syntax error (all
/// of them reported to `diags`); never throws.
std::unique_ptr<ast::File> parse(const SourceFile &source,
                                 DiagnosticEngine &diags,
                                 const ParseLimits &limits = {}) noexcept;

} // namespace circ::frontend

#endif // CIRC_FRONTEND_PARSE_H
