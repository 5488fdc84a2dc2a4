//===- Random.cpp - counter-based random numbers for initialisation -*- C++
//-*-===//
#include "circ_runtime/Random.h"

#include <cmath>

namespace circ::rt {

PhiloxCounter philox4x32(PhiloxCounter c, PhiloxKey k) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
    uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = uint32_t(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = uint32_t(p1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k = {k[0] + kWeyl0, k[1] + kWeyl1};
  }
  return c;
}

uint64_t streamOf(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char ch : name) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;
  }
  return h;
}

PhiloxCounter randomBits(uint64_t seed, uint64_t stream, uint64_t i) {
  return philox4x32({uint32_t(i), uint32_t(i >> 32), uint32_t(stream),
                     uint32_t(stream >> 32)},
                    {uint32_t(seed), uint32_t(seed >> 32)});
}

static uint64_t top53(uint32_t hi, uint32_t lo) {
  return ((static_cast<uint64_t>(hi) << 32) | lo) >> 11;
}

double uniformAt(uint64_t seed, uint64_t stream, uint64_t i) {
  PhiloxCounter r = randomBits(seed, stream, i);
  return std::ldexp(static_cast<double>(top53(r[0], r[1])), -53);
}

double normalAt(uint64_t seed, uint64_t stream, uint64_t i) {
  PhiloxCounter r = randomBits(seed, stream, i);
  double u1 = std::ldexp(static_cast<double>(top53(r[0], r[1]) + 1), -53);
  double u2 = std::ldexp(static_cast<double>(top53(r[2], r[3])), -53);
  const double twoPi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(twoPi * u2);
}

} // namespace circ::rt
