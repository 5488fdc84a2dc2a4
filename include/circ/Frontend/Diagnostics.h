//===- Diagnostics.h - clang-style diagnostics for .circ files --*- C++ -*-===//
//
// Every problem the front end reports has a stable identifier (listed in
// Diagnostics.def), a severity, a source range and a message; notes add
// context at other places. Rendering follows clang exactly:
//
//   quote.circ:9:37: error: density must be in (0, 1], got 1000
//     weights = sparse(density: 1000)
//                               ^~~~
//   quote.circ:9:37: note: write a fraction, e.g. 1/1000
//
// Plain C++ so the fuzzer can link it without LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_DIAGNOSTICS_H
#define CIRC_FRONTEND_DIAGNOSTICS_H

#include "circ/Frontend/Source.h"

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace circ::frontend {

enum class Severity : uint8_t { Error, Warning, Note };

enum class DiagID : uint16_t {
#define DIAG(ENUM, SEVERITY, NAME, SUMMARY) ENUM,
#include "circ/Frontend/Diagnostics.def"
  NumDiagIDs
};

struct DiagInfo {
  Severity severity;
  const char *name;    ///< stable identifier, e.g. "unknown-key"
  const char *summary; ///< one line for `circc check --list-diagnostics`
};
const DiagInfo &diagInfo(DiagID id);

struct Note {
  SourceRange range;
  std::string message;
};

struct Diagnostic {
  DiagID id;
  Severity severity;
  /// Unset only for diagnostics about the file as a whole (I/O, limits).
  std::optional<SourceRange> range;
  std::string message;
  std::vector<Note> notes;

  Diagnostic &note(SourceRange at, std::string message) {
    notes.push_back({at, std::move(message)});
    return *this;
  }
};

/// Collects diagnostics; stops recording errors after `errorLimit` of them
/// (0 = no limit) and then reports one `too-many-errors`.
class DiagnosticEngine {
public:
  explicit DiagnosticEngine(unsigned errorLimit = 20)
      : errorLimit_(errorLimit) {}

  /// Records a diagnostic with the severity of its ID. Once the error limit
  /// is reached the returned diagnostic is a scratch object nobody sees.
  Diagnostic &report(DiagID id, SourceRange range, std::string message);
  Diagnostic &reportUnlocated(DiagID id, std::string message);

  const std::vector<Diagnostic> &diagnostics() const { return diags_; }
  unsigned errorCount() const { return errors_; }
  bool hasErrors() const { return errors_ > 0; }
  bool limitReached() const { return limitReached_; }
  void clear();

private:
  Diagnostic &record(Diagnostic diag);

  std::vector<Diagnostic> diags_;
  Diagnostic scratch_{};
  unsigned errors_ = 0;
  unsigned errorLimit_;
  bool limitReached_ = false;
};

struct RenderOptions {
  /// Append ` [name]` to each message, as clang's -fdiagnostics-show-option.
  bool showIds = false;
};

/// Renders one diagnostic and its notes in clang's format.
void renderDiagnostic(const SourceFile &file, const Diagnostic &diag,
                      std::ostream &os, const RenderOptions &options = {});
void renderDiagnostics(const SourceFile &file, const DiagnosticEngine &engine,
                       std::ostream &os, const RenderOptions &options = {});

/// The candidate closest to `word` by edit distance (transpositions count
/// once, case differences are free), if it is close enough to be a likely
/// misspelling.
std::optional<std::string_view>
closestMatch(std::string_view word,
             const std::vector<std::string_view> &candidates);

/// "; did you mean 'x'?" for the closest candidate, or "".
std::string didYouMean(std::string_view word,
                       const std::vector<std::string_view> &candidates);

/// `'a', 'b' or 'c'`.
std::string quotedList(const std::vector<std::string_view> &items,
                       std::string_view conjunction = "or");

} // namespace circ::frontend

#endif // CIRC_FRONTEND_DIAGNOSTICS_H
