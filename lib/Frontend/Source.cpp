//===- Source.cpp - .circ source text and positions in it -------*- C++ -*-===//
#include "circ/Frontend/Source.h"

#include <algorithm>

using namespace circ::frontend;

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  lineStarts_.push_back(0);
  for (uint32_t i = 0; i < text_.size(); ++i) {
    char c = text_[i];
    // "\r\n", "\n" and a lone "\r" each end a line, as in the lexer.
    if (c == '\n' ||
        (c == '\r' && (i + 1 == text_.size() || text_[i + 1] != '\n')))
      lineStarts_.push_back(i + 1);
  }
}

std::string_view SourceFile::slice(SourceRange range) const {
  uint32_t size = static_cast<uint32_t>(text_.size());
  uint32_t begin = std::min(range.begin, size);
  uint32_t end = std::min(std::max(range.end, begin), size);
  return std::string_view(text_).substr(begin, end - begin);
}

LineCol SourceFile::lineCol(uint32_t offset) const {
  auto it = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset);
  uint32_t line = static_cast<uint32_t>(it - lineStarts_.begin());
  return {line, offset - lineStarts_[line - 1] + 1};
}

std::string_view SourceFile::lineText(uint32_t line) const {
  if (line == 0 || line > lineStarts_.size())
    return {};
  uint32_t begin = lineStarts_[line - 1];
  uint32_t end = line < lineStarts_.size()
                     ? lineStarts_[line]
                     : static_cast<uint32_t>(text_.size());
  std::string_view text = std::string_view(text_).substr(begin, end - begin);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}
