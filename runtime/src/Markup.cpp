//===- Markup.cpp - escaping text for HTML and XML (SVG) output -*- C++ -*-===//
#include "circ_runtime/Markup.h"

namespace circ::rt {

std::string escapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace circ::rt
