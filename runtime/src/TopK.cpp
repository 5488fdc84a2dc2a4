//===- TopK.cpp - L0 projection of weight matrices (paper §2.1) -*- C++ -*-===//
#include "circ_runtime/TopK.h"

#include "Simd.h"
#include "circ_runtime/SparseIndex.h"
#include "circ_runtime/ThreadPool.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>

// The kernels are compiled for several ISAs (Simd.h): no fused multiply-add.
#pragma STDC FP_CONTRACT OFF

namespace circ::rt {

static inline uint32_t absBits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u & 0x7fffffffu;
}

/// Rank key: larger is kept first. |w| bits above, complemented flat index
/// below, so equal magnitudes prefer the lower index. Never 0 for a valid
/// index (< 2^31), which lets 0 mark an empty slot.
static inline uint64_t makeKey(uint32_t bits, uint32_t idx) {
  return (static_cast<uint64_t>(bits) << 32) | static_cast<uint32_t>(~idx);
}
static inline uint32_t keyIndex(uint64_t key) {
  return ~static_cast<uint32_t>(key);
}

// Blocks of about this many entries: small enough that a block's values are
// still in L2 when the fused Adam update has written them.
static constexpr int64_t kBlockElems = 1 << 16;
// Entries of the sample that bounds the threshold, in this many runs.
static constexpr int64_t kSampleSize = 1 << 14;
static constexpr int64_t kSampleRuns = 512;
// Vector-friendly chunk for the streaming passes, and the number of chunks
// a kernel handles before it leaves its vector loop to record results.
static constexpr int64_t kChunk = 16;
static constexpr int64_t kSegment = 64;
// Kept entries are recorded in observe() when the budget is at most this
// fraction of the matrix (1/16).
static constexpr int64_t kRecordFraction = 16;
// Magnitude bits are compared as int32 (they are < 2^31); this bound is
// reached by no |w| but the all-ones NaN, so "> kNoBits" is never true.
static constexpr int32_t kNoBits = INT32_MAX;

int64_t numUnits(UnitAxis axis, int64_t rows, int64_t cols) {
  switch (axis) {
  case UnitAxis::Rows:
    return rows;
  case UnitAxis::Cols:
    return cols;
  case UnitAxis::None:
    return 0;
  }
  return 0;
}

void matrixShape(const ParamSpec &spec, int64_t &rows, int64_t &cols) {
  if (spec.shape.size() <= 1) {
    rows = 1;
    cols = spec.shape.empty() ? 1 : spec.shape[0];
    return;
  }
  rows = spec.shape[0];
  cols = spec.numel() / rows;
}

int64_t l0Budget(const ParamSpec &spec, double density, int64_t minPerUnit) {
  const int64_t n = spec.numel();
  int64_t rows, cols;
  matrixShape(spec, rows, cols);
  int64_t k = std::llround(density * static_cast<double>(n));
  int64_t floorK = std::min(n, std::max<int64_t>(minPerUnit, 0) *
                                   numUnits(spec.unitAxis, rows, cols));
  return std::clamp(std::max(k, floorK), int64_t(0), n);
}

uint64_t selectKthLargest(std::vector<uint64_t> &keys, size_t k) {
  // Bucket by the leading bits of (key - min) into at most 2048 bins, keep
  // the bin that holds rank k, repeat; finish small sets with nth_element.
  std::vector<uint32_t> hist;
  while (keys.size() > 512) {
    auto [lo, hi] = std::minmax_element(keys.begin(), keys.end());
    uint64_t minKey = *lo, span = *hi - *lo;
    if (span == 0)
      return minKey;
    int width = 64 - __builtin_clzll(span);
    int shift = width > 11 ? width - 11 : 0;
    size_t bins = static_cast<size_t>(span >> shift) + 1;
    hist.assign(bins, 0);
    for (uint64_t key : keys)
      ++hist[(key - minKey) >> shift];
    size_t bin = bins;
    uint64_t above = 0;
    while (bin-- > 0) {
      if (above + hist[bin] > k)
        break;
      above += hist[bin];
    }
    k -= above;
    keys.erase(std::remove_if(keys.begin(), keys.end(),
                              [&](uint64_t key) {
                                return ((key - minKey) >> shift) != bin;
                              }),
               keys.end());
  }
  std::nth_element(keys.begin(), keys.begin() + k, keys.end(),
                   std::greater<uint64_t>());
  return keys[k];
}

TopKProjector::TopKProjector(int64_t rows, int64_t cols, UnitAxis axis,
                             int64_t minPerUnit)
    : rows(rows), cols(cols), axis(axis) {
  assert(rows > 0 && cols > 0 && rows * cols < (int64_t(1) << 31) &&
         "ParamStore::create rejects such parameters");
  int64_t unitLen = axis == UnitAxis::Rows   ? cols
                    : axis == UnitAxis::Cols ? rows
                                             : 0;
  perUnit = std::min(std::max<int64_t>(minPerUnit, 0), unitLen);
  rowsPerBlock = std::max<int64_t>(1, kBlockElems / cols);
  nBlocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
}

void TopKProjector::blockRows(int64_t b, int64_t &lo, int64_t &hi) const {
  lo = b * rowsPerBlock;
  hi = std::min(rows, lo + rowsPerBlock);
}

void TopKProjector::begin(int64_t k, unsigned slots,
                          const std::function<float(int64_t)> &valueAt) {
  const int64_t n = rows * cols;
  const int64_t f = perUnit * numUnits(axis, rows, cols);
  budget = std::clamp(k, f, n);
  nSlots = std::max(1u, slots);
  fellBack = false;
  forced.clear();
  blockForced.assign(nBlocks + 1, 0);
  aboveCount.assign(nBlocks, 0);
  cands.resize(nBlocks);
  keptList.resize(nBlocks);
  candVals.resize(nBlocks);
  aboveIdx.resize(nBlocks);
  aboveVals.resize(nBlocks);
  for (int64_t b = 0; b < nBlocks; ++b) {
    cands[b].clear();
    candVals[b].clear();
    aboveIdx[b].clear();
    aboveVals[b].clear();
    keptList[b].clear();
  }
  // At low density observe() also records the entries above the band with
  // their values, so that apply() can write the result without reading the
  // matrix again.
  recordKept = !keepsAll() && budget <= n / kRecordFraction;
  if (axis == UnitAxis::Rows)
    unitTops.assign(rows * perUnit, 0);
  if (axis == UnitAxis::Cols) {
    unitTops.assign(static_cast<size_t>(nSlots) * cols * perUnit, 0);
    colMin.assign(static_cast<size_t>(nSlots) * cols, -1);
  }
  if (keepsAll())
    return;
  const int64_t r = budget - f;
  if (r == 0 || alwaysExact) { // nothing to bound: no entry is a candidate
    hiBits = kNoBits - 1;
    loBits = kNoBits;
    return;
  }
  // The threshold ranks between r and r + f among all entries (forced ones
  // may sit on either side). Bound it with a sample, 3.5 sigma of binomial
  // noise on each side; observe() checks the bounds exactly. The sample is
  // kSampleRuns evenly spaced runs of consecutive entries, so that it costs
  // few cache misses.
  std::vector<int32_t> &sample = sampleBits;
  sample.clear();
  if (n <= kSampleSize) {
    for (int64_t i = 0; i < n; ++i)
      sample.push_back(static_cast<int32_t>(absBits(valueAt(i))));
  } else {
    const int64_t runLen = kSampleSize / kSampleRuns;
    for (int64_t j = 0; j < kSampleRuns; ++j) {
      int64_t start = ((2 * j + 1) * n) / (2 * kSampleRuns) - runLen / 2;
      for (int64_t i = start; i < start + runLen; ++i)
        sample.push_back(static_cast<int32_t>(absBits(valueAt(i))));
    }
  }
  const int64_t s = static_cast<int64_t>(sample.size());
  auto sigma = [&](double q) {
    return 3.5 * std::sqrt(static_cast<double>(s) * q * (1.0 - q)) + 2.0;
  };
  double qLo = static_cast<double>(r) / n;
  double qHi = std::min(1.0, static_cast<double>(r + f) / n);
  double jHi = std::floor(qLo * s - sigma(qLo));
  double jLo = std::ceil(qHi * s + sigma(qHi));
  // Descending order statistics: first jLo, then jHi inside the prefix.
  if (jLo >= s) {
    loBits = 0;
  } else {
    std::nth_element(sample.begin(), sample.begin() + int64_t(jLo),
                     sample.end(), std::greater<int32_t>());
    loBits = sample[int64_t(jLo)];
  }
  // Zeros never enter the band: keeping or dropping a zero changes no value
  // and no support, and after a projection most entries are zero.
  loBits = std::max<int32_t>(loBits, 1);
  if (jHi < 0) {
    hiBits = kNoBits;
  } else {
    auto end = jLo >= s ? sample.end() : sample.begin() + int64_t(jLo);
    std::nth_element(sample.begin(), sample.begin() + int64_t(jHi), end,
                     std::greater<int32_t>());
    hiBits = sample[int64_t(jHi)];
  }
}

/// Inserts `key` into the descending list tops[0..m) (0 = empty) if it ranks
/// in, and returns the magnitude bits an entry must exceed to enter next
/// time (-1 while the list has room). For a caller that offers a unit's
/// entries in ascending index order that bound is exact: an equal magnitude
/// at a higher index ranks lower.
static inline int32_t insertTop(uint64_t *tops, int64_t m, uint64_t key) {
  int64_t i = m - 1;
  if (key > tops[i]) {
    while (i > 0 && tops[i - 1] < key) {
      tops[i] = tops[i - 1];
      --i;
    }
    tops[i] = key;
  }
  return tops[m - 1] ? static_cast<int32_t>(tops[m - 1] >> 32) : -1;
}

/// Bit j set iff lane j of a compare result (-1 / 0 per lane) is true,
/// through a bit-packed bool vector (one mask move with AVX-512; a
/// horizontal OR of lane bits costs a shuffle tree per chunk).
typedef bool Bool16 __attribute__((ext_vector_type(16)));
#define laneMask(cmp)                                                          \
  static_cast<uint32_t>(__builtin_bit_cast(                                  \
      uint16_t, __builtin_convertvector((cmp), Bool16)))

// Out-of-line helpers for the multi-versioned kernels (see Simd.h).
__attribute__((noinline)) static void pushKey(std::vector<uint64_t> &v,
                                              uint64_t key) {
  v.push_back(key);
}
__attribute__((noinline)) static void pushIndex(std::vector<uint32_t> &v,
                                                uint32_t idx) {
  v.push_back(idx);
}
__attribute__((noinline)) static void pushValue(std::vector<float> &v,
                                                float x) {
  v.push_back(x);
}

/// The k-th largest (0-based, k < 16) of 16 values.
static int32_t kthLargestLane(const int32_t *v, int64_t k) {
  int32_t top[kChunk];
  int64_t n = 0;
  for (int i = 0; i < kChunk; ++i) {
    if (n > k && v[i] <= top[k])
      continue;
    int64_t j = n <= k ? n++ : k;
    for (; j > 0 && top[j - 1] < v[i]; --j)
      top[j] = top[j - 1];
    top[j] = v[i];
  }
  return top[k];
}

namespace {
/// observe() over rows [rowLo, rowHi): counts entries with bits > hi,
/// records candidates (bits in [lo, hi]) and maintains the unit top lists.
/// Vector compares find the few chunks with anything to record; only those
/// take the scalar path.
struct ObserveArgs {
  const float *w;
  int64_t rowLo, rowHi, cols;
  UnitAxis axis;
  int64_t m;
  int32_t lo, hi;
  uint64_t *rowTops; // Rows: rows x m lists
  uint64_t *colTops; // Cols: this slot's cols x m lists
  int32_t *colMin;   // Cols: this slot's per-column entry bounds
  std::vector<uint64_t> *cands;
  // Non-null: also record candidate values and the entries above the band.
  std::vector<float> *candVals;
  std::vector<uint32_t> *aboveIdx;
  std::vector<float> *aboveVals;
};

CIRC_KERNEL int64_t observeRows(const ObserveArgs &a) {
  const int64_t cols = a.cols, m = a.m;
  const int32_t lo = a.lo, hi = a.hi;
  const bool rowUnits = a.axis == UnitAxis::Rows && m > 0;
  const bool colUnits = a.axis == UnitAxis::Cols && m > 0;
  const bool record = a.aboveIdx != nullptr;
  // Entries in [lo, top] are visited: the band, plus everything above it
  // when recording.
  const int32_t top = record ? kNoBits : hi;
  // No band (the forced entries fill the budget, as for every block matrix
  // at 1/1000): only an all-ones NaN can be above or a candidate, so a
  // segment of row units needs just its lane maxima, unless they show one.
  const bool onlyMax = lo == kNoBits && !colUnits;
  int64_t count = 0;
  for (int64_t r = a.rowLo; r < a.rowHi; ++r) {
    const float *row = a.w + r * cols;
    const uint32_t base = static_cast<uint32_t>(r * cols);
    auto key = [&](int64_t c, int32_t b) {
      return makeKey(static_cast<uint32_t>(b), base + static_cast<uint32_t>(c));
    };
    auto take = [&](int64_t c, int32_t b) {
      if (b > hi) {
        if (record) {
          pushIndex(*a.aboveIdx, base + static_cast<uint32_t>(c));
          pushValue(*a.aboveVals, row[c]);
        }
      } else if (b >= lo) {
        pushKey(*a.cands, key(c, b));
        if (record)
          pushValue(*a.candVals, row[c]);
      }
    };
    I32x16 laneMax = I32x16{} - 1;
    const int64_t full = cols / kChunk * kChunk;
    int64_t c = 0;
    while (c < full) {
      // A segment of vector work with no calls (which would spill the
      // vector registers), recording the chunks that need a visit.
      int64_t hitAt[kSegment];
      uint32_t hitLanes[kSegment];
      int64_t nHits = 0;
      I32x16 above = {}, segMax = laneMax;
      const int64_t segEnd = std::min(full, c + kSegment * kChunk);
      if (onlyMax) {
        for (int64_t t = c; t < segEnd; t += kChunk) {
          I32x16 b;
          std::memcpy(&b, row + t, sizeof b);
          segMax = segMax > (b & 0x7fffffff) ? segMax : (b & 0x7fffffff);
        }
        if (!__builtin_reduce_or(segMax > hi)) {
          laneMax = segMax;
          c = segEnd;
          continue;
        }
      }
      for (; c < segEnd; c += kChunk) {
        I32x16 b;
        std::memcpy(&b, row + c, sizeof b);
        b &= 0x7fffffff;
        above -= b > hi;
        segMax = segMax > b ? segMax : b;
        I32x16 hit = (b >= lo) & (b <= top);
        if (colUnits) {
          I32x16 unitMin;
          std::memcpy(&unitMin, a.colMin + c, sizeof unitMin);
          hit |= b > unitMin;
        }
        uint32_t lanes = laneMask(hit);
        hitAt[nHits] = c;
        hitLanes[nHits] = lanes;
        nHits += lanes != 0;
      }
      count += __builtin_reduce_add(above);
      laneMax = segMax;
      // Each column appears once per row, so deferring the visits to the
      // end of the segment changes no bound the segment relied on.
      for (int64_t h = 0; h < nHits; ++h)
        for (uint32_t lanes = hitLanes[h]; lanes; lanes &= lanes - 1) {
          int64_t j = hitAt[h] + __builtin_ctz(lanes);
          int32_t bj = static_cast<int32_t>(absBits(row[j]));
          take(j, bj);
          if (colUnits && bj > a.colMin[j])
            a.colMin[j] = insertTop(a.colTops + j * m, m, key(j, bj));
        }
    }
    for (; c < cols; ++c) {
      int32_t b = static_cast<int32_t>(absBits(row[c]));
      count += b > hi;
      take(c, b);
      if (rowUnits)
        insertTop(a.rowTops + r * m, m, key(c, b));
      if (colUnits && b > a.colMin[c])
        a.colMin[c] = insertTop(a.colTops + c * m, m, key(c, b));
    }
    if (rowUnits && full > 0) {
      // Lane j's maximum is the largest of the entries j, j + 16, ...; the
      // m largest lane maxima are m distinct entries, so the row's top m
      // all reach the m-th largest lane maximum. Only those are offered.
      int32_t lanes[kChunk];
      std::memcpy(lanes, &laneMax, sizeof lanes);
      int32_t bound = m <= kChunk ? kthLargestLane(lanes, m - 1) : -1;
      uint64_t *tops = a.rowTops + r * m;
      auto offer = [&](int64_t t) {
        I32x16 b;
        std::memcpy(&b, row + t, sizeof b);
        b &= 0x7fffffff;
        for (uint32_t hit = laneMask(b >= bound); hit; hit &= hit - 1) {
          int j = __builtin_ctz(hit);
          insertTop(tops, m, key(t + j, b[j]));
        }
      };
      // Few chunks reach the bound: test four at a time on their maximum.
      int64_t t = 0;
      for (; t + 4 * kChunk <= full; t += 4 * kChunk) {
        I32x16 q[4];
        std::memcpy(q, row + t, sizeof q);
        for (I32x16 &x : q)
          x &= 0x7fffffff;
        I32x16 mx0 = q[0] > q[1] ? q[0] : q[1];
        I32x16 mx1 = q[2] > q[3] ? q[2] : q[3];
        I32x16 mx = mx0 > mx1 ? mx0 : mx1;
        if (!__builtin_reduce_or(mx >= bound))
          continue;
        for (int64_t u = t; u < t + 4 * kChunk; u += kChunk)
          offer(u);
      }
      for (; t < full; t += kChunk)
        offer(t);
    }
  }
  return count;
}
} // namespace

void TopKProjector::observe(const float *w, int64_t block, unsigned slot) {
  if (keepsAll())
    return;
  ObserveArgs a;
  blockRows(block, a.rowLo, a.rowHi);
  a.w = w;
  a.cols = cols;
  a.axis = axis;
  a.m = perUnit;
  a.lo = loBits;
  a.hi = hiBits;
  a.rowTops = axis == UnitAxis::Rows ? unitTops.data() : nullptr;
  a.colTops = axis == UnitAxis::Cols
                  ? unitTops.data() + static_cast<size_t>(slot) * cols * perUnit
                  : nullptr;
  a.colMin = axis == UnitAxis::Cols
                 ? colMin.data() + static_cast<size_t>(slot) * cols
                 : nullptr;
  a.cands = &cands[block];
  a.candVals = recordKept ? &candVals[block] : nullptr;
  a.aboveIdx = recordKept ? &aboveIdx[block] : nullptr;
  a.aboveVals = recordKept ? &aboveVals[block] : nullptr;
  aboveCount[block] = observeRows(a);
}

void TopKProjector::select(const float *w, ThreadPool &pool) {
  forced.clear();
  blockForced.assign(nBlocks + 1, 0);
  if (keepsAll())
    return;
  // The forced set in ascending index order, and how many of them the
  // "above" counts include.
  const int64_t m = perUnit;
  int64_t forcedAbove = 0;
  auto take = [&](uint64_t key) {
    forcedAbove += static_cast<int32_t>(key >> 32) > hiBits;
    return keyIndex(key);
  };
  if (axis == UnitAxis::Rows && m > 0) {
    for (int64_t r = 0; r < rows; ++r) {
      const uint64_t *tops = unitTops.data() + r * m;
      size_t first = forced.size();
      for (int64_t t = 0; t < m; ++t)
        if (tops[t])
          forced.push_back(take(tops[t]));
      std::sort(forced.begin() + first, forced.end());
    }
  } else if (axis == UnitAxis::Cols && m > 0) {
    // Merge the slots' lists per column, then order by row with a counting
    // sort (columns are visited in ascending order, so rows stay sorted).
    std::vector<uint64_t> merged(cols * m, 0), gathered(nSlots * m);
    std::vector<int32_t> perRow(rows + 1, 0);
    for (int64_t c = 0; c < cols; ++c) {
      for (unsigned s = 0; s < nSlots; ++s)
        std::copy_n(unitTops.data() + (static_cast<size_t>(s) * cols + c) * m,
                    m, gathered.data() + s * m);
      std::partial_sort(gathered.begin(), gathered.begin() + m, gathered.end(),
                        std::greater<uint64_t>());
      for (int64_t t = 0; t < m; ++t) {
        merged[c * m + t] = gathered[t];
        if (gathered[t])
          ++perRow[keyIndex(gathered[t]) / cols + 1];
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      perRow[r + 1] += perRow[r];
    forced.resize(perRow[rows]);
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t t = 0; t < m; ++t)
        if (uint64_t key = merged[c * m + t])
          forced[perRow[keyIndex(key) / cols]++] = take(key);
  }
  for (int64_t b = 0, f = 0; b < nBlocks; ++b) {
    int64_t end = std::min(rows, (b + 1) * rowsPerBlock) * cols;
    while (f < static_cast<int64_t>(forced.size()) && forced[f] < end)
      ++f;
    blockForced[b + 1] = f;
  }

  const int64_t r = budget - static_cast<int64_t>(forced.size());
  if (r <= 0) {
    tBits = kNoBits;
    tIdx = 0;
    fellBack = false;
    return;
  }
  int64_t above = -forcedAbove;
  for (int64_t a : aboveCount)
    above += a;
  // Candidates other than forced entries (both lists ascend by index).
  selectKeys.clear();
  size_t fi = 0;
  for (const std::vector<uint64_t> &blockCands : cands)
    for (uint64_t key : blockCands) {
      uint32_t idx = keyIndex(key);
      while (fi < forced.size() && forced[fi] < idx)
        ++fi;
      if (fi < forced.size() && forced[fi] == idx)
        continue;
      selectKeys.push_back(key);
    }
  if (!alwaysExact && above < r &&
      r <= above + static_cast<int64_t>(selectKeys.size())) {
    uint64_t t =
        selectKthLargest(selectKeys, static_cast<size_t>(r - above - 1));
    tBits = static_cast<int32_t>(t >> 32);
    tIdx = keyIndex(t);
    fellBack = false;
    return;
  }
  if (!alwaysExact && loBits == 1 &&
      r > above + static_cast<int64_t>(selectKeys.size())) {
    // The band held every nonzero candidate and the budget is larger: the
    // threshold lies among exact zeros, so every nonzero entry is kept.
    tBits = 0;
    tIdx = 0;
    fellBack = false;
    return;
  }
  exactThreshold(w, pool);
  fellBack = true;
}

void TopKProjector::exactThreshold(const float *w, ThreadPool &pool) {
  // Radix select on the top 16 of the 31 magnitude bits, forced entries
  // excluded, then the exact rank inside the threshold bucket.
  const int64_t n = rows * cols;
  constexpr int kShift = 15;
  constexpr size_t kBins = size_t(1) << 16;
  std::vector<uint32_t> hist(static_cast<size_t>(pool.size()) * kBins, 0);
  parallelBlocks(pool, n, kBlockElems,
                 [&](int64_t, int64_t lo, int64_t hi, unsigned slot) {
                   uint32_t *h = hist.data() + slot * kBins;
                   for (int64_t i = lo; i < hi; ++i)
                     ++h[absBits(w[i]) >> kShift];
                 });
  std::vector<int64_t> total(kBins, 0);
  for (unsigned s = 0; s < pool.size(); ++s)
    for (size_t b = 0; b < kBins; ++b)
      total[b] += hist[s * kBins + b];
  for (uint32_t idx : forced)
    --total[absBits(w[idx]) >> kShift];
  int64_t need = budget - static_cast<int64_t>(forced.size());
  size_t bucket = kBins;
  while (bucket-- > 0) {
    if (total[bucket] >= need)
      break;
    need -= total[bucket];
  }
  const int64_t nBlk = (n + kBlockElems - 1) / kBlockElems;
  std::vector<std::vector<uint64_t>> found(nBlk);
  parallelBlocks(pool, n, kBlockElems,
                 [&](int64_t blk, int64_t lo, int64_t hi, unsigned) {
                   for (int64_t i = lo; i < hi; ++i) {
                     uint32_t b = absBits(w[i]);
                     if ((b >> kShift) != bucket)
                       continue;
                     uint32_t idx = static_cast<uint32_t>(i);
                     if (std::binary_search(forced.begin(), forced.end(), idx))
                       continue;
                     found[blk].push_back(makeKey(b, idx));
                   }
                 });
  selectKeys.clear();
  for (const std::vector<uint64_t> &f : found)
    selectKeys.insert(selectKeys.end(), f.begin(), f.end());
  uint64_t t = selectKthLargest(selectKeys, static_cast<size_t>(need - 1));
  tBits = static_cast<int32_t>(t >> 32);
  tIdx = keyIndex(t);
}

namespace {
/// apply() on [begin, end): an entry is kept iff its key >= (tb, ti) or it
/// is forced. Chunks compare magnitudes in vectors; lanes equal to tb and
/// forced lanes, both rare, are patched on a scalar path. A chunk is only
/// stored when it changes, so an already-sparse matrix is not rewritten.
CIRC_KERNEL void applyRange(float *w, int64_t begin, int64_t end, int32_t tb,
                            uint32_t ti, float decay, const uint32_t *fNext,
                            const uint32_t *fEnd, std::vector<uint32_t> &out) {
  const int64_t full = begin + (end - begin) / kChunk * kChunk;
  int64_t i = begin;
  while (i < full) {
    int64_t nzAt[kSegment];
    uint32_t nzLanes[kSegment];
    int64_t nNz = 0;
    const int64_t segEnd = std::min(full, i + kSegment * kChunk);
    for (; i < segEnd; i += kChunk) {
      F32x16 v;
      std::memcpy(&v, w + i, sizeof v);
      I32x16 vb = reinterpret_cast<I32x16 &>(v);
      I32x16 b = vb & 0x7fffffff;
      I32x16 keep = b > tb;
      bool forcedHere = fNext < fEnd && *fNext < i + kChunk;
      if (forcedHere || __builtin_reduce_or(b == tb)) {
        for (uint32_t ties = laneMask(b == tb); ties; ties &= ties - 1) {
          int j = __builtin_ctz(ties);
          if (static_cast<uint32_t>(i + j) <= ti)
            keep[j] = -1;
        }
        for (; fNext < fEnd && *fNext < i + kChunk; ++fNext)
          keep[*fNext - i] = -1;
      }
      F32x16 decayed = v - decay * v;
      I32x16 nb = reinterpret_cast<I32x16 &>(decayed) & keep;
      if (__builtin_reduce_or(nb ^ vb))
        std::memcpy(w + i, &nb, sizeof nb);
      uint32_t nz = laneMask((nb & 0x7fffffff) != 0);
      nzAt[nNz] = i;
      nzLanes[nNz] = nz;
      nNz += nz != 0;
    }
    for (int64_t h = 0; h < nNz; ++h)
      for (uint32_t nz = nzLanes[h]; nz; nz &= nz - 1)
        pushIndex(out, static_cast<uint32_t>(nzAt[h] + __builtin_ctz(nz)));
  }
  for (; i < end; ++i) {
    float v = w[i];
    int32_t b = static_cast<int32_t>(absBits(v));
    bool keep = b > tb || (b == tb && static_cast<uint32_t>(i) <= ti);
    for (; fNext < fEnd && *fNext <= i; ++fNext)
      keep |= *fNext == i;
    float nv = keep ? v - decay * v : 0.0f;
    w[i] = nv;
    if (nv != 0.0f)
      pushIndex(out, static_cast<uint32_t>(i));
  }
}

/// Writes [begin, end) as zeros except at the ascending positions idx[0..n)
/// (values val), without reading the old contents: whole aligned chunks go
/// out as non-temporal stores. Records the nonzero positions.
CIRC_KERNEL void writeKept(float *w, int64_t begin, int64_t end,
                           const uint32_t *idx, const float *val, int64_t n,
                           std::vector<uint32_t> &out) {
  int64_t k = 0;
  auto scalar = [&](int64_t i) {
    float x = 0.0f;
    if (k < n && idx[k] == i)
      x = val[k++];
    w[i] = x;
    if (x != 0.0f)
      pushIndex(out, static_cast<uint32_t>(i));
  };
  int64_t i = begin;
  for (; i < end && (reinterpret_cast<uintptr_t>(w + i) & 63) != 0; ++i)
    scalar(i);
  for (; i + kChunk <= end; i += kChunk) {
    F32x16 chunk = {};
    uint32_t nz = 0;
    for (; k < n && idx[k] < i + kChunk; ++k) {
      int j = static_cast<int>(idx[k] - i);
      chunk[j] = val[k];
      nz |= static_cast<uint32_t>(val[k] != 0.0f) << j;
    }
#if defined(__x86_64__)
    __builtin_nontemporal_store(chunk, reinterpret_cast<F32x16 *>(w + i));
#else
    std::memcpy(w + i, &chunk, sizeof chunk);
#endif
    for (; nz; nz &= nz - 1)
      pushIndex(out, static_cast<uint32_t>(i + __builtin_ctz(nz)));
  }
  for (; i < end; ++i)
    scalar(i);
#if defined(__x86_64__)
  __builtin_ia32_sfence(); // order the streaming stores before the handoff
#endif
}
} // namespace

void TopKProjector::apply(float *w, int64_t block, float decay) {
  int64_t lo, hi;
  blockRows(block, lo, hi);
  const uint32_t *fBegin = forced.data() + blockForced[block];
  const uint32_t *fEnd = forced.data() + blockForced[block + 1];
  if (!recordKept || fellBack) {
    // keepsAll(): a threshold below every key.
    applyRange(w, lo * cols, hi * cols, keepsAll() ? -1 : tBits, tIdx, decay,
               fBegin, fEnd, keptList[block]);
    return;
  }
  // The kept entries of the block, merged by position from the three sorted
  // sources observe() and select() left: entries above the band, band
  // candidates at or above the threshold, and forced entries (read here,
  // before the block is written). Values are decayed as they are taken.
  auto keeps = [&](uint32_t bits, uint32_t i) {
    int32_t b = static_cast<int32_t>(bits);
    return b > tBits || (b == tBits && i <= tIdx);
  };
  static thread_local std::vector<uint32_t> mergedIdx;
  static thread_local std::vector<float> mergedVal;
  mergedIdx.clear();
  mergedVal.clear();
  const std::vector<uint32_t> &ai = aboveIdx[block];
  const std::vector<float> &av = aboveVals[block];
  const std::vector<uint64_t> &ck = cands[block];
  const std::vector<float> &cv = candVals[block];
  size_t a = 0, c = 0;
  const uint32_t *f = fBegin;
  auto skip = [&] {
    while (a < ai.size() && !keeps(absBits(av[a]), ai[a]))
      ++a;
    while (c < ck.size() &&
           !keeps(static_cast<uint32_t>(ck[c] >> 32), keyIndex(ck[c])))
      ++c;
  };
  const uint32_t kEnd = 0xffffffffu;
  for (skip();; skip()) {
    uint32_t ia = a < ai.size() ? ai[a] : kEnd;
    uint32_t ic = c < ck.size() ? keyIndex(ck[c]) : kEnd;
    uint32_t iff = f < fEnd ? *f : kEnd;
    uint32_t i = std::min({ia, ic, iff});
    if (i == kEnd)
      break;
    float v = ia == i ? av[a] : ic == i ? cv[c] : w[i];
    a += ia == i;
    c += ic == i;
    f += iff == i;
    mergedIdx.push_back(i);
    mergedVal.push_back(v - decay * v);
  }
  writeKept(w, lo * cols, hi * cols, mergedIdx.data(), mergedVal.data(),
            static_cast<int64_t>(mergedIdx.size()), keptList[block]);
}

const std::vector<uint32_t> &TopKProjector::finish() {
  size_t total = 0;
  for (const std::vector<uint32_t> &k : keptList)
    total += k.size();
  result.clear();
  result.reserve(total);
  for (const std::vector<uint32_t> &k : keptList)
    result.insert(result.end(), k.begin(), k.end());
  return result;
}

int64_t TopKProjector::project(float *w, int64_t k, float decay,
                               ThreadPool &pool, SparseIndex *index) {
  begin(k, pool.size(), [&](int64_t i) { return w[i]; });
  pool.run(numBlocks(), [&](int64_t b, unsigned slot) { observe(w, b, slot); });
  select(w, pool);
  pool.run(numBlocks(), [&](int64_t b, unsigned) { apply(w, b, decay); });
  const std::vector<uint32_t> &kept = finish();
  if (index)
    index->assign(w, rows, cols, kept, pool);
  return static_cast<int64_t>(kept.size());
}

namespace {
/// Schedules the phases of a batch of projections over the pool's threads
/// as a pipeline: a job's phases run in order (begin; prepare + observe per
/// block; select; apply per block; finish), the earliest job with work goes
/// first, and only a window of jobs is in flight, so a matrix is usually
/// still in cache when apply() rewrites what observe() read, while one
/// thread's serial phase (select, finish) overlaps the other's blocks.
class BatchPipeline {
public:
  BatchPipeline(std::vector<ProjectionJob> &jobs, ThreadPool &pool)
      : jobs(jobs), pool(pool), state(jobs.size()) {}

  void run() {
    pool.run(pool.size(), [&](int64_t, unsigned slot) { work(slot); });
    if (error)
      std::rethrow_exception(error);
  }
  int64_t kept(size_t j) const { return state[j].kept; }

private:
  enum Phase { Begin, Observe, Select, Apply, Finish, Done };
  static constexpr size_t kWindow = 2;
  struct JobState {
    Phase phase = Begin;
    bool serialTaken = false;
    int64_t nextBlock = 0, doneBlocks = 0, kept = 0;
  };
  struct Task {
    size_t job;
    Phase phase;
    int64_t block;
  };

  bool blockPhase(Phase p) const { return p == Observe || p == Apply; }

  /// Under the lock: the next runnable task, if any.
  bool next(Task &t) {
    for (size_t j = first; j < jobs.size() && j < first + kWindow; ++j) {
      JobState &s = state[j];
      if (s.phase == Done)
        continue;
      if (blockPhase(s.phase)) {
        if (s.nextBlock < jobs[j].projector->numBlocks()) {
          t = {j, s.phase, s.nextBlock++};
          return true;
        }
      } else if (!s.serialTaken) {
        s.serialTaken = true;
        t = {j, s.phase, 0};
        return true;
      }
    }
    return false;
  }

  void complete(const Task &t) {
    JobState &s = state[t.job];
    if (blockPhase(t.phase) &&
        ++s.doneBlocks < jobs[t.job].projector->numBlocks())
      return;
    s.phase = static_cast<Phase>(s.phase + 1);
    s.serialTaken = false;
    s.nextBlock = s.doneBlocks = 0;
    while (first < jobs.size() && state[first].phase == Done)
      ++first;
  }

  void execute(const Task &t, unsigned slot) {
    ProjectionJob &job = jobs[t.job];
    TopKProjector &p = *job.projector;
    switch (t.phase) {
    case Begin:
      if (job.preview)
        p.begin(job.budget, pool.size(), job.preview);
      else
        p.begin(job.budget, pool.size(), [&](int64_t i) { return job.w[i]; });
      break;
    case Observe:
      if (job.prepare) {
        int64_t lo, hi;
        p.blockRows(t.block, lo, hi);
        job.prepare(lo * p.numCols(), hi * p.numCols());
      }
      p.observe(job.w, t.block, slot);
      break;
    case Select:
      p.select(job.w, pool);
      break;
    case Apply:
      p.apply(job.w, t.block, job.decay);
      break;
    case Finish: {
      const std::vector<uint32_t> &list = p.finish();
      if (job.index)
        job.index->assign(job.w, p.numRows(), p.numCols(), list, pool);
      state[t.job].kept = static_cast<int64_t>(list.size());
      break;
    }
    case Done:
      break;
    }
  }

  void work(unsigned slot) {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      Task t;
      if (error || first >= jobs.size()) {
        ready.notify_all();
        return;
      }
      if (!next(t)) {
        ready.wait(lock);
        continue;
      }
      lock.unlock();
      try {
        execute(t, slot);
      } catch (...) {
        lock.lock();
        if (!error)
          error = std::current_exception();
        continue;
      }
      lock.lock();
      complete(t);
      ready.notify_all();
    }
  }

  std::vector<ProjectionJob> &jobs;
  ThreadPool &pool;
  std::vector<JobState> state;
  size_t first = 0; ///< jobs before it are done
  std::mutex mutex;
  std::condition_variable ready;
  std::exception_ptr error;
};
} // namespace

int64_t projectBatch(std::vector<ProjectionJob> &jobs, ThreadPool &pool) {
  BatchPipeline pipeline(jobs, pool);
  pipeline.run();
  int64_t total = 0;
  for (size_t j = 0; j < jobs.size(); ++j)
    total += pipeline.kept(j);
  return total;
}

int64_t projectTopK(float *w, const ParamSpec &spec, int64_t budget,
                    int64_t minPerUnit, float decay, ThreadPool &pool,
                    SparseIndex *index, bool alwaysExact) {
  int64_t rows, cols;
  matrixShape(spec, rows, cols);
  TopKProjector p(rows, cols, spec.unitAxis, minPerUnit);
  p.setAlwaysExact(alwaysExact);
  return p.project(w, budget, decay, pool, index);
}

} // namespace circ::rt
