//===- Report.cpp - the self-contained report.html -------------*- C++ -*-===//
//
// report.html = the template with the style, the script and circuit.json
// inlined (all three compiled into this library from lib/Circuits/Report/),
// so circc ships the viewer and the page works offline from file://.
//
//===----------------------------------------------------------------------===//
#include "circ/Circuits/Circuit.h"
#include "circ_runtime/Markup.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include "ReportCss.inc"
#include "ReportHtml.inc"
#include "ReportJs.inc"

namespace circ::circuits {

namespace {

/// JSON safe inside <script>: '<', '>' and '&' only occur in JSON strings,
/// where their \u escapes mean the same, and then "</script>" cannot occur.
std::string scriptSafeJson(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

rt::Error writeAtomic(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      return rt::Error::failure(tmp + ": " + std::strerror(errno));
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      return rt::Error::failure(tmp + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    return rt::Error::failure(path + ": " + std::strerror(err));
  }
  return rt::Error::success();
}

} // namespace

std::string toHtml(const CircuitGraph &g) {
  const std::string_view tpl(kReportHtml, sizeof(kReportHtml) - 1);
  const std::pair<std::string_view, std::string> parts[] = {
      {"@CIRC_TITLE@",
       rt::escapeMarkup(g.circuit.task + " circuit - " + g.circuit.model)},
      {"@CIRC_STYLE@", std::string(kReportCss, sizeof(kReportCss) - 1)},
      {"@CIRC_DATA@", scriptSafeJson(toJson(g))},
      {"@CIRC_SCRIPT@", std::string(kReportJs, sizeof(kReportJs) - 1)},
  };
  // One pass over the template, so inserted text is never re-scanned.
  std::string out;
  size_t at = 0;
  while (at < tpl.size()) {
    size_t next = tpl.find('@', at);
    if (next == std::string_view::npos)
      break;
    bool replaced = false;
    for (const auto &[key, value] : parts)
      if (tpl.substr(next, key.size()) == key) {
        out.append(tpl.substr(at, next - at));
        out += value;
        at = next + key.size();
        replaced = true;
        break;
      }
    if (!replaced) {
      out.append(tpl.substr(at, next + 1 - at));
      at = next + 1;
    }
  }
  out.append(tpl.substr(at));
  return out;
}

rt::Error writeCircuitFiles(const CircuitGraph &graph, const std::string &dir) {
  std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  if (rt::Error e = writeAtomic(base + "circuit.json", toJson(graph)))
    return e;
  if (rt::Error e = writeAtomic(base + "circuit.dot", toDot(graph)))
    return e;
  return writeAtomic(base + "report.html", toHtml(graph));
}

} // namespace circ::circuits
