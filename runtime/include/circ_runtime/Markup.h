//===- Markup.h - escaping text for HTML and XML (SVG) output ---*- C++ -*-===//
//
// The reports Circ writes (circuit report.html, the prune index, the SVG
// training curves) put user text — model and task names, paths — into
// markup; one escaping rule serves them all.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_MARKUP_H
#define CIRC_RUNTIME_MARKUP_H

#include <string>
#include <string_view>

namespace circ::rt {

/// `text` with `&`, `<`, `>` and `"` replaced by entities, so it is safe as
/// HTML/XML element content and inside double-quoted attribute values.
std::string escapeMarkup(std::string_view text);

} // namespace circ::rt

#endif // CIRC_RUNTIME_MARKUP_H
