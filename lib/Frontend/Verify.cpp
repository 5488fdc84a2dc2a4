//===- Verify.cpp - expected-diagnostic tests for .circ files ---*- C++ -*-===//
#include "circ/Frontend/Verify.h"

#include <cstdlib>

using namespace circ::frontend;

namespace {

struct Expectation {
  Severity severity;
  std::string id;               ///< from expected-error[id]; empty: any
  std::optional<uint32_t> line; ///< none: @unknown
  std::string text;
  SourceRange comment;
  bool matched = false;
};

const char *severityWord(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

/// Reads the expected-* comments; reports malformed ones to `out`.
std::vector<Expectation> readExpectations(const SourceFile &source,
                                          DiagnosticEngine &out) {
  std::vector<Expectation> expectations;
  const std::string &text = source.text();
  for (uint32_t line = 1; line <= source.numLines(); ++line) {
    std::string_view lineText = source.lineText(line);
    size_t comment = lineText.find("//");
    if (comment == std::string_view::npos)
      continue;
    uint32_t lineStart = static_cast<uint32_t>(lineText.data() - text.data());
    for (size_t pos = lineText.find("expected-", comment);
         pos != std::string_view::npos;
         pos = lineText.find("expected-", pos + 1)) {
      std::string_view rest = lineText.substr(pos + 9);
      Severity severity;
      size_t wordLen;
      if (rest.compare(0, 5, "error") == 0) {
        severity = Severity::Error;
        wordLen = 5;
      } else if (rest.compare(0, 7, "warning") == 0) {
        severity = Severity::Warning;
        wordLen = 7;
      } else if (rest.compare(0, 4, "note") == 0) {
        severity = Severity::Note;
        wordLen = 4;
      } else {
        continue;
      }
      SourceRange at{lineStart + static_cast<uint32_t>(pos),
                     lineStart + static_cast<uint32_t>(pos + 9 + wordLen)};
      rest = rest.substr(wordLen);
      std::string id;
      if (!rest.empty() && rest[0] == '[') {
        size_t close = rest.find(']');
        if (close == std::string_view::npos) {
          out.report(DiagID::VerifyMalformed, at,
                     "unclosed '[' after expected-" +
                         std::string(severityWord(severity)));
          continue;
        }
        id = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
      }
      size_t i = 0;
      while (i < rest.size() && rest[i] == ' ')
        ++i;
      std::optional<uint32_t> target = line;
      if (i < rest.size() && rest[i] == '@') {
        std::string_view spec = rest.substr(i + 1);
        size_t end = spec.find_first_of(" {");
        std::string_view offset = spec.substr(0, end);
        if (offset == "unknown") {
          target = std::nullopt;
        } else if (offset.size() >= 2 &&
                   (offset[0] == '+' || offset[0] == '-') &&
                   offset.find_first_not_of("0123456789", 1) ==
                       std::string_view::npos &&
                   offset.size() < 8) {
          long n =
              std::strtol(std::string(offset.substr(1)).c_str(), nullptr, 10);
          long shifted = offset[0] == '+' ? long(line) + n : long(line) - n;
          if (shifted < 1) {
            out.report(DiagID::VerifyMalformed, at,
                       "'@" + std::string(offset) + "' points before line 1");
            continue;
          }
          target = static_cast<uint32_t>(shifted);
        } else {
          out.report(DiagID::VerifyMalformed, at,
                     "expected '@+N', '@-N' or '@unknown' after '" +
                         std::string(severityWord(severity)) + "'");
          continue;
        }
        i += 1 + offset.size();
        while (i < rest.size() && rest[i] == ' ')
          ++i;
      }
      size_t open = rest.compare(i, 2, "{{") == 0 ? i : std::string_view::npos;
      size_t close = open == std::string_view::npos ? std::string_view::npos
                                                    : rest.find("}}", open + 2);
      if (close == std::string_view::npos) {
        out.report(DiagID::VerifyMalformed, at,
                   "expected-" + std::string(severityWord(severity)) +
                       " needs a message in {{...}}");
        continue;
      }
      expectations.push_back(
          {severity, std::move(id), target,
           std::string(rest.substr(open + 2, close - open - 2)), at});
    }
  }
  return expectations;
}

} // namespace

bool circ::frontend::verifyDiagnostics(const SourceFile &source,
                                       const DiagnosticEngine &produced,
                                       DiagnosticEngine &out) {
  unsigned before = out.errorCount();
  std::vector<Expectation> expectations = readExpectations(source, out);

  auto match = [&](Severity severity, std::string_view id,
                   const std::optional<SourceRange> &range,
                   const std::string &message) {
    std::optional<uint32_t> line;
    if (range)
      line = source.lineCol(range->begin).line;
    for (Expectation &e : expectations)
      if (!e.matched && e.severity == severity && e.line == line &&
          (e.id.empty() || e.id == id) &&
          message.find(e.text) != std::string::npos) {
        e.matched = true;
        return true;
      }
    return false;
  };
  auto unexpected = [&](Severity severity,
                        const std::optional<SourceRange> &range,
                        const std::string &message) {
    std::string text =
        std::string("unexpected ") + severityWord(severity) + ": " + message;
    if (range)
      out.report(DiagID::VerifyUnexpected, *range, text);
    else
      out.reportUnlocated(DiagID::VerifyUnexpected, text);
  };

  for (const Diagnostic &diag : produced.diagnostics()) {
    if (!match(diag.severity, diagInfo(diag.id).name, diag.range, diag.message))
      unexpected(diag.severity, diag.range, diag.message);
    for (const Note &note : diag.notes)
      if (!match(Severity::Note, "", note.range, note.message))
        unexpected(Severity::Note, note.range, note.message);
  }
  for (const Expectation &e : expectations)
    if (!e.matched)
      out.report(DiagID::VerifyNotProduced, e.comment,
                 std::string("expected ") + severityWord(e.severity) +
                     (e.id.empty() ? "" : "[" + e.id + "]") + " \"" + e.text +
                     "\" was not produced");
  return out.errorCount() == before;
}

std::vector<SourceFile>
circ::frontend::splitInputFile(const SourceFile &source) {
  std::vector<SourceFile> parts;
  std::string current;
  uint32_t startLine = 1;
  auto flush = [&](uint32_t nextStart) {
    parts.emplace_back(source.path(),
                       std::string(startLine - 1, '\n') + current);
    current.clear();
    startLine = nextStart;
  };
  for (uint32_t line = 1; line <= source.numLines(); ++line) {
    std::string_view text = source.lineText(line);
    size_t b = text.find_first_not_of(" \t");
    size_t e = text.find_last_not_of(" \t");
    if (b != std::string_view::npos &&
        text.substr(b, e - b + 1) == "// -----") {
      flush(line + 1);
      continue;
    }
    current += text;
    if (line < source.numLines())
      current += '\n';
  }
  flush(0);
  return parts;
}
