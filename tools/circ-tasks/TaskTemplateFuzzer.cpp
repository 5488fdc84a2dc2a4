//===- TaskTemplateFuzzer.cpp - libFuzzer target for task templates -------===//
//
// Parses arbitrary bytes as task templates, formats every diagnostic, and
// generates a few pairs of every task that parses: none of it may crash,
// hang or read out of bounds, whatever the input.
//
//===----------------------------------------------------------------------===//
#include "circ/Tasks/Tasks.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  circ::tasks::ParseResult r =
      circ::tasks::parseTaskTemplates(text, "fuzz.circ", size / 7, size);
  for (const circ::tasks::Diagnostic &d : r.errors)
    (void)d.str();
  for (const circ::tasks::Task &t : r.tasks)
    for (auto split : {circ::tasks::Split::Train, circ::tasks::Split::Test}) {
      auto pairs = t.generate(split, size, 3);
      if (pairs)
        for (const circ::tasks::TaskPair &p : *pairs)
          for (const circ::tasks::Span &s : p.spansA)
            if (s.offset + s.size > p.promptA.size())
              __builtin_trap();
    }
  return 0;
}
