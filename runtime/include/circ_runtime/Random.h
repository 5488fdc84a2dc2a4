//===- Random.h - counter-based random numbers for initialisation -*- C++
//-*-===//
//
// Philox4x32-10 (Salmon et al., SC'11, the generator of Random123, cuRAND and
// JAX): a keyed bijection of a 128-bit counter, so element i of a stream is a
// pure function of (seed, stream, i). Initialisation therefore gives the same
// bits for any thread count and any order of filling.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_RANDOM_H
#define CIRC_RUNTIME_RANDOM_H

#include <array>
#include <cstdint>
#include <string_view>

namespace circ::rt {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

/// Philox4x32 with 10 rounds, bit-exact with Random123's philox4x32_10.
PhiloxCounter philox4x32(PhiloxCounter counter, PhiloxKey key);

/// 64-bit FNV-1a of a name; parameters draw from the stream of their name so
/// that adding an optional parameter never shifts another one's values.
uint64_t streamOf(std::string_view name);

/// Draw i of a stream: Philox with key = seed (low word first) and counter =
/// (i low, i high, stream low, stream high).
PhiloxCounter randomBits(uint64_t seed, uint64_t stream, uint64_t i);

/// Uniform in [0, 1) from the top 53 bits of words 0-1 of draw i.
double uniformAt(uint64_t seed, uint64_t stream, uint64_t i);

/// Standard normal by Box-Muller: u1 in (0, 1] from words 0-1 and u2 in
/// [0, 1) from words 2-3 of draw i; returns sqrt(-2 ln u1) cos(2 pi u2).
double normalAt(uint64_t seed, uint64_t stream, uint64_t i);

} // namespace circ::rt

#endif // CIRC_RUNTIME_RANDOM_H
