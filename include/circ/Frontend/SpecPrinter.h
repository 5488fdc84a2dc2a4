//===- SpecPrinter.h - print a resolved spec as .circ -----------*- C++ -*-===//
//
// `circc check --print-spec`: the RunSpec as a .circ file in which every key
// is written out, each followed by a comment saying where its value came
// from (a source position, "default", or "derived: how"). The output is
// itself a valid .circ file that checks to the same spec.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_SPECPRINTER_H
#define CIRC_FRONTEND_SPECPRINTER_H

#include "circ/Frontend/RunSpec.h"

#include <ostream>

namespace circ::frontend {

struct SpecPrintOptions {
  /// Append `// origin` comments (off for a bare, canonical spec).
  bool origins = true;
};

void printSpec(const RunSpec &spec, const SourceFile &source, std::ostream &os,
               const SpecPrintOptions &options = {});

} // namespace circ::frontend

#endif // CIRC_FRONTEND_SPECPRINTER_H
