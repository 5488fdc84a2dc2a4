//===- circ-report.cpp - render a circuit.json as DOT and HTML -*- C++ -*-===//
//
//   circ-report circuit.json [--html FILE] [--dot FILE]
//
// Reads a circuit.json written by `circc prune` (or edited by a user: labels
// survive) and writes the self-contained report.html and circuit.dot. With
// neither flag, both are written next to the JSON file.
//
//===----------------------------------------------------------------------===//
#include "circ/Circuits/Circuit.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

using namespace circ;

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "circ-report: error: %s\n", message.c_str());
  return 1;
}

const char *kUsage =
    "usage: circ-report CIRCUIT.json [--html FILE] [--dot FILE]\n"
    "Renders a circuit.json as a self-contained report.html and a Graphviz\n"
    "circuit.dot; with neither flag, writes both next to CIRCUIT.json.\n";

bool writeFile(const std::string &path, const std::string &text,
               std::string &error) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (f)
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f)
    error = path + ": " + std::strerror(errno);
  return static_cast<bool>(f);
}

} // namespace

int main(int argc, char **argv) {
  std::string input, html, dot;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--html" || arg == "--dot") {
      if (i + 1 >= argc)
        return fail("'" + arg + "' needs a file name");
      (arg == "--html" ? html : dot) = argv[++i];
    } else if (!arg.empty() && arg[0] == '-') {
      return fail("unknown option '" + arg + "' (see --help)");
    } else if (input.empty()) {
      input = arg;
    } else {
      return fail("more than one input file ('" + input + "', '" + arg + "')");
    }
  }
  if (input.empty()) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  std::ifstream f(input, std::ios::binary);
  if (!f)
    return fail(input + ": " + std::strerror(errno));
  std::stringstream text;
  text << f.rdbuf();
  auto graph = circuits::fromJson(text.str(), input);
  if (!graph)
    return fail(graph.message());
  if (html.empty() && dot.empty()) {
    size_t slash = input.rfind('/');
    std::string dir =
        slash == std::string::npos ? "" : input.substr(0, slash + 1);
    html = dir + "report.html";
    dot = dir + "circuit.dot";
  }
  std::string error;
  if (!html.empty() && !writeFile(html, circuits::toHtml(*graph), error))
    return fail(error);
  if (!dot.empty() && !writeFile(dot, circuits::toDot(*graph), error))
    return fail(error);
  return 0;
}
