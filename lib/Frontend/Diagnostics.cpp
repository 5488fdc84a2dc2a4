//===- Diagnostics.cpp - clang-style diagnostics for .circ files -*- C++
//-*-===//
#include "circ/Frontend/Diagnostics.h"

#include <algorithm>
#include <cctype>

using namespace circ::frontend;

static const DiagInfo kDiagInfos[] = {
#define DIAG(ENUM, SEVERITY, NAME, SUMMARY) {Severity::SEVERITY, NAME, SUMMARY},
#include "circ/Frontend/Diagnostics.def"
};

const DiagInfo &circ::frontend::diagInfo(DiagID id) {
  return kDiagInfos[static_cast<size_t>(id)];
}

Diagnostic &DiagnosticEngine::record(Diagnostic diag) {
  if (limitReached_) {
    scratch_ = Diagnostic{};
    return scratch_;
  }
  if (diag.severity == Severity::Error) {
    if (errorLimit_ != 0 && errors_ == errorLimit_) {
      limitReached_ = true;
      diags_.push_back({DiagID::TooManyErrors,
                        Severity::Error,
                        std::nullopt,
                        "too many errors emitted, stopping now; use "
                        "--error-limit=0 to see them all",
                        {}});
      scratch_ = Diagnostic{};
      return scratch_;
    }
    ++errors_;
  }
  diags_.push_back(std::move(diag));
  return diags_.back();
}

Diagnostic &DiagnosticEngine::report(DiagID id, SourceRange range,
                                     std::string message) {
  return record({id, diagInfo(id).severity, range, std::move(message), {}});
}

Diagnostic &DiagnosticEngine::reportUnlocated(DiagID id, std::string message) {
  return record(
      {id, diagInfo(id).severity, std::nullopt, std::move(message), {}});
}

void DiagnosticEngine::clear() {
  diags_.clear();
  errors_ = 0;
  limitReached_ = false;
}

static const char *severityName(Severity severity) {
  switch (severity) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

static bool isContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

/// One "file:line:col: severity: message" plus the source line and a caret
/// line that underlines `range` on that line. The caret line copies tabs
/// from the source so it lines up in a terminal, and counts a multibyte
/// character as one column.
static void renderOne(const SourceFile &file, Severity severity,
                      const std::optional<SourceRange> &range,
                      const std::string &message, std::ostream &os) {
  if (!range) {
    os << file.path() << ": " << severityName(severity) << ": " << message
       << '\n';
    return;
  }
  LineCol lc = file.lineCol(range->begin);
  os << file.path() << ':' << lc.line << ':' << lc.col << ": "
     << severityName(severity) << ": " << message << '\n';
  std::string_view line = file.lineText(lc.line);
  os << line << '\n';
  std::string caret;
  size_t start = std::min<size_t>(lc.col - 1, line.size());
  for (size_t i = 0; i < start; ++i) {
    if (line[i] == '\t')
      caret += '\t';
    else if (!isContinuationByte(line[i]))
      caret += ' ';
  }
  caret += '^';
  // The rest of the range on this line, one '~' per character.
  size_t end =
      std::min<size_t>(start + (range->end - range->begin), line.size());
  size_t first = start;
  if (first < end)
    for (++first; first < end && isContinuationByte(line[first]); ++first)
      ;
  for (size_t i = first; i < end; ++i)
    if (!isContinuationByte(line[i]))
      caret += '~';
  os << caret << '\n';
}

void circ::frontend::renderDiagnostic(const SourceFile &file,
                                      const Diagnostic &diag, std::ostream &os,
                                      const RenderOptions &options) {
  std::string message = diag.message;
  if (options.showIds)
    message += std::string(" [") + diagInfo(diag.id).name + "]";
  renderOne(file, diag.severity, diag.range, message, os);
  for (const Note &note : diag.notes)
    renderOne(file, Severity::Note, note.range, note.message, os);
}

void circ::frontend::renderDiagnostics(const SourceFile &file,
                                       const DiagnosticEngine &engine,
                                       std::ostream &os,
                                       const RenderOptions &options) {
  for (const Diagnostic &diag : engine.diagnostics())
    renderDiagnostic(file, diag, os, options);
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions
/// and adjacent transpositions each cost 1; letter case is ignored.
static size_t editDistance(std::string_view a, std::string_view b) {
  auto eq = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  };
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= m; ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = eq(a[i - 1], b[j - 1]) ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && eq(a[i - 1], b[j - 2]) && eq(a[i - 2], b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::optional<std::string_view>
circ::frontend::closestMatch(std::string_view word,
                             const std::vector<std::string_view> &candidates) {
  // Long misspellings of long names are still recognisable; never suggest
  // a name that shares almost nothing with the word.
  if (word.size() > 64)
    return std::nullopt;
  size_t limit = std::max<size_t>(1, word.size() / 3);
  std::optional<std::string_view> best;
  size_t bestDistance = limit + 1;
  for (std::string_view candidate : candidates) {
    if (candidate.size() > word.size() + limit)
      continue;
    size_t distance = editDistance(word, candidate);
    if (distance < bestDistance &&
        distance < std::max(word.size(), candidate.size())) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

std::string
circ::frontend::didYouMean(std::string_view word,
                           const std::vector<std::string_view> &candidates) {
  if (auto match = closestMatch(word, candidates))
    return "; did you mean '" + std::string(*match) + "'?";
  return "";
}

std::string
circ::frontend::quotedList(const std::vector<std::string_view> &items,
                           std::string_view conjunction) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out +=
          i + 1 == items.size() ? " " + std::string(conjunction) + " " : ", ";
    out += "'" + std::string(items[i]) + "'";
  }
  return out;
}
