//===- CircuitJsonFuzzer.cpp - libFuzzer target for circuit.json ----------===//
//
// Reads arbitrary bytes as circuit.json and renders whatever reads back:
// the reader must reject bad files with an error, never crash or hang, and
// the writers must cope with anything the reader accepts.
//
//===----------------------------------------------------------------------===//
#include "circ/Circuits/Circuit.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  auto graph = circ::circuits::fromJson(text, "fuzz.json");
  if (!graph)
    return 0;
  std::string json = circ::circuits::toJson(*graph);
  (void)circ::circuits::toDot(*graph);
  (void)circ::circuits::toHtml(*graph);
  // What was read must read back to the same text.
  auto again = circ::circuits::fromJson(json, "again.json");
  if (!again || circ::circuits::toJson(*again) != json)
    __builtin_trap();
  return 0;
}
