//===- Check.h - semantic checks and resolution of a .circ file -*- C++ -*-===//
//
// Turns a syntax tree into a RunSpec: every key known and well-typed, every
// value in range, blocks consistent with each other, every default filled
// in. Problems are reported as diagnostics (several per run); nothing is
// silently corrected.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_CHECK_H
#define CIRC_FRONTEND_CHECK_H

#include "circ/Frontend/AST.h"
#include "circ/Frontend/Diagnostics.h"
#include "circ/Frontend/Parse.h"
#include "circ/Frontend/RunSpec.h"

#include <optional>
#include <string_view>
#include <vector>

namespace circ::frontend {

/// Checks `file`, parsed from `source`. Returns the resolved spec, or nullopt
/// if any error was reported (warnings alone do not fail).
std::optional<RunSpec> check(const ast::File &file, const SourceFile &source,
                             DiagnosticEngine &diags);

/// parse() then check().
std::optional<RunSpec> parseAndCheck(const SourceFile &source,
                                     DiagnosticEngine &diags,
                                     const ParseLimits &limits = {});

/// The block kinds and, for each, its keys, in the order --print-spec uses.
struct BlockKeys {
  std::string_view kind;
  std::vector<std::string_view> keys;
};
const std::vector<BlockKeys> &blockKeys();

} // namespace circ::frontend

#endif // CIRC_FRONTEND_CHECK_H
