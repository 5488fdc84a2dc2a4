//===- Hash.h - small deterministic hashing for pruning ---------*- C++ -*-===//
//
// splitmix64's finaliser: a fixed, platform-independent mix used for seeded
// choices (nonsense labels, snippet positions, τ noise) and cache keys.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_LIB_PRUNE_HASH_H
#define CIRC_LIB_PRUNE_HASH_H

#include <cstddef>
#include <cstdint>

namespace circ::prune {

inline uint64_t hashMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Hash of `n` bytes, 8 at a time, chained from `seed`.
inline uint64_t hashBytes(const void *data, size_t n, uint64_t seed) {
  const auto *p = static_cast<const unsigned char *>(data);
  uint64_t h = hashMix(seed ^ n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = 0;
    for (int b = 0; b < 8; ++b)
      w |= static_cast<uint64_t>(p[i + b]) << (8 * b);
    h = hashMix(h ^ w);
  }
  uint64_t tail = 0;
  for (int b = 0; i < n; ++i, ++b)
    tail |= static_cast<uint64_t>(p[i]) << (8 * b);
  return hashMix(h ^ tail);
}

/// A uniform double in [0, 1) from a hash.
inline double hashUnit(uint64_t h) { return (h >> 11) * 0x1.0p-53; }

} // namespace circ::prune

#endif // CIRC_LIB_PRUNE_HASH_H
