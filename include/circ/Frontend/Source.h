//===- Source.h - .circ source text and positions in it ---------*- C++ -*-===//
//
// A source file is its path (as the user spelled it, for diagnostics) and its
// bytes. Positions are byte offsets; line and column (both 1-based, the column
// counted in bytes as clang does) are computed on demand from a line table.
// Plain C++: the parser, checker and fuzzer use it without LLVM or MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_SOURCE_H
#define CIRC_FRONTEND_SOURCE_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace circ::frontend {

/// Half-open byte range [begin, end) in a source file. Empty ranges are
/// positions (e.g. end of file).
struct SourceRange {
  uint32_t begin = 0;
  uint32_t end = 0;

  bool empty() const { return end <= begin; }
  static SourceRange join(SourceRange a, SourceRange b) {
    return {a.begin < b.begin ? a.begin : b.begin,
            a.end > b.end ? a.end : b.end};
  }
};

struct LineCol {
  uint32_t line = 1;
  uint32_t col = 1;
};

class SourceFile {
public:
  SourceFile(std::string path, std::string text);

  const std::string &path() const { return path_; }
  const std::string &text() const { return text_; }
  std::string_view slice(SourceRange range) const;

  LineCol lineCol(uint32_t offset) const;
  /// The text of the 1-based line `line`, without its line terminator.
  std::string_view lineText(uint32_t line) const;
  uint32_t numLines() const {
    return static_cast<uint32_t>(lineStarts_.size());
  }

private:
  std::string path_;
  std::string text_;
  std::vector<uint32_t> lineStarts_;
};

} // namespace circ::frontend

#endif // CIRC_FRONTEND_SOURCE_H
