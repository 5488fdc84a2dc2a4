//===- TopK.cpp - L0 projection of weight matrices (paper §2.1) -*- C++ -*-===//
#include "circ_runtime/TopK.h"

#include "circ_runtime/SparseIndex.h"
#include "circ_runtime/ThreadPool.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

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
// Entries of the strided sample that bounds the threshold.
static constexpr int64_t kSampleSize = 1 << 14;
// Vector-friendly chunk for the streaming passes.
static constexpr int64_t kChunk = 16;
// Above this, bits compare greater than every |w| (bit 31 is the sign).
static constexpr uint32_t kAboveAll = 0x80000000u;

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
  for (int64_t b = 0; b < nBlocks; ++b) {
    cands[b].clear();
    keptList[b].clear();
  }
  if (axis == UnitAxis::Rows)
    unitTops.assign(rows * perUnit, 0);
  if (axis == UnitAxis::Cols) {
    unitTops.assign(static_cast<size_t>(nSlots) * cols * perUnit, 0);
    colNeed.assign(static_cast<size_t>(nSlots) * cols, 0);
  }
  if (keepsAll())
    return;
  const int64_t r = budget - f;
  if (r == 0 || alwaysExact) { // nothing to bound: no entry is a candidate
    hiBits = loBits = 0xffffffffu;
    return;
  }
  // The threshold ranks between r and r + f among all entries (forced ones
  // may sit on either side). Bound it with a strided sample, 3.5 sigma of
  // binomial noise on each side; observe() checks the bounds exactly.
  const int64_t s = std::min(n, kSampleSize);
  std::vector<uint64_t> sample(s);
  for (int64_t j = 0; j < s; ++j) {
    int64_t pos = ((2 * j + 1) * n) / (2 * s);
    sample[j] = makeKey(absBits(valueAt(pos)), static_cast<uint32_t>(j));
  }
  auto sigma = [&](double q) {
    return 3.5 * std::sqrt(static_cast<double>(s) * q * (1.0 - q)) + 2.0;
  };
  double qLo = static_cast<double>(r) / n;
  double qHi = std::min(1.0, static_cast<double>(r + f) / n);
  double jHi = std::floor(qLo * s - sigma(qLo));
  double jLo = std::ceil(qHi * s + sigma(qHi));
  std::vector<uint64_t> scratch;
  if (jHi < 0) {
    hiBits = 0xffffffffu;
  } else {
    scratch = sample;
    hiBits = static_cast<uint32_t>(
        selectKthLargest(scratch, static_cast<size_t>(jHi)) >> 32);
  }
  if (jLo >= s) {
    loBits = 0;
  } else {
    scratch = sample;
    loBits = static_cast<uint32_t>(
        selectKthLargest(scratch, static_cast<size_t>(jLo)) >> 32);
  }
}

/// Inserts `key` into the descending list tops[0..m) (0 = empty) and returns
/// the bound an entry's bits must reach to enter next time. Entries of a unit
/// arrive in ascending index order, so an equal magnitude never displaces.
static inline uint32_t insertTop(uint64_t *tops, int64_t m, uint64_t key) {
  int64_t i = m - 1;
  if (key <= tops[i])
    return tops[i] ? static_cast<uint32_t>(tops[i] >> 32) + 1 : 0;
  while (i > 0 && tops[i - 1] < key) {
    tops[i] = tops[i - 1];
    --i;
  }
  tops[i] = key;
  return tops[m - 1] ? static_cast<uint32_t>(tops[m - 1] >> 32) + 1 : 0;
}

namespace {
/// The per-entry work of observe(): the candidate band and, depending on
/// the unit axis, the row's or the column's top list.
template <UnitAxis Axis> struct RowScan {
  uint32_t lo, band;
  int64_t m;
  uint32_t base;
  std::vector<uint64_t> &cands;
  uint64_t *tops; // Rows: this row's list; Cols: this slot's lists
  uint32_t *need; // Cols: per-column entry bound
  uint32_t rowNeed = 0;

  bool interesting(int64_t c, uint32_t b) const {
    bool hit = b - lo <= band;
    if constexpr (Axis == UnitAxis::Rows)
      hit |= b >= rowNeed;
    if constexpr (Axis == UnitAxis::Cols)
      hit |= b >= need[c];
    return hit;
  }
  void visit(int64_t c, uint32_t b) {
    uint32_t idx = base + static_cast<uint32_t>(c);
    if (b - lo <= band)
      cands.push_back(makeKey(b, idx));
    if constexpr (Axis == UnitAxis::Rows)
      if (b >= rowNeed)
        rowNeed = insertTop(tops, m, makeKey(b, idx));
    if constexpr (Axis == UnitAxis::Cols)
      if (b >= need[c])
        need[c] = insertTop(tops + c * m, m, makeKey(b, idx));
  }
};

/// Counts entries above `hi` and visits, in index order, only the entries a
/// chunk's mask marks as interesting. A unit's bound only rises while its
/// row is scanned, so a mask computed before the visits is conservative.
template <UnitAxis Axis>
int64_t scanRow(const float *row, int64_t cols, uint32_t hi,
                RowScan<Axis> &scan) {
  int64_t count = 0, c = 0;
  for (; c + kChunk <= cols; c += kChunk) {
    uint32_t bits[kChunk];
    std::memcpy(bits, row + c, sizeof bits);
    uint32_t mask = 0;
    for (int64_t j = 0; j < kChunk; ++j) {
      uint32_t b = bits[j] & 0x7fffffffu;
      count += b > hi;
      mask |= static_cast<uint32_t>(scan.interesting(c + j, b)) << j;
    }
    while (mask) {
      int j = __builtin_ctz(mask);
      mask &= mask - 1;
      scan.visit(c + j, bits[j] & 0x7fffffffu);
    }
  }
  for (; c < cols; ++c) {
    uint32_t b = absBits(row[c]);
    count += b > hi;
    if (scan.interesting(c, b))
      scan.visit(c, b);
  }
  return count;
}
} // namespace

void TopKProjector::observe(const float *w, int64_t block, unsigned slot) {
  if (keepsAll())
    return;
  int64_t lo, hi;
  blockRows(block, lo, hi);
  const uint32_t band = hiBits - loBits;
  int64_t above = 0;
  std::vector<uint64_t> &out = cands[block];
  auto base = [&](int64_t r) { return static_cast<uint32_t>(r * cols); };
  if (axis == UnitAxis::Rows && perUnit > 0) {
    for (int64_t r = lo; r < hi; ++r) {
      RowScan<UnitAxis::Rows> scan{loBits,  band, perUnit,
                                   base(r), out,  unitTops.data() + r * perUnit,
                                   nullptr};
      above += scanRow(w + r * cols, cols, hiBits, scan);
    }
  } else if (axis == UnitAxis::Cols && perUnit > 0) {
    uint64_t *tops =
        unitTops.data() + static_cast<size_t>(slot) * cols * perUnit;
    uint32_t *need = colNeed.data() + static_cast<size_t>(slot) * cols;
    for (int64_t r = lo; r < hi; ++r) {
      RowScan<UnitAxis::Cols> scan{loBits, band, perUnit, base(r),
                                   out,    tops, need};
      above += scanRow(w + r * cols, cols, hiBits, scan);
    }
  } else {
    for (int64_t r = lo; r < hi; ++r) {
      RowScan<UnitAxis::None> scan{loBits, band,    0,      base(r),
                                   out,    nullptr, nullptr};
      above += scanRow(w + r * cols, cols, hiBits, scan);
    }
  }
  aboveCount[block] = above;
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
    forcedAbove += static_cast<uint32_t>(key >> 32) > hiBits;
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
    tBits = kAboveAll;
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
    tBits = static_cast<uint32_t>(t >> 32);
    tIdx = keyIndex(t);
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
  tBits = static_cast<uint32_t>(t >> 32);
  tIdx = keyIndex(t);
}

namespace {
/// apply() on [begin, end): keep iff key >= (tb, ti) or forced. Chunks
/// first compare magnitudes only (vectorised); lanes equal to tb and forced
/// lanes, both rare, are patched afterwards.
void applyRange(float *w, int64_t begin, int64_t end, uint32_t tb, uint32_t ti,
                float decay, const uint32_t *fNext, const uint32_t *fEnd,
                std::vector<uint32_t> &out) {
  auto finishChunk = [&](int64_t i, int64_t len, uint32_t keep) {
    for (; fNext < fEnd && *fNext < i + len; ++fNext)
      keep |= 1u << (*fNext - i);
    float nv[kChunk];
    uint32_t nonzero = 0;
    bool changed = false;
    for (int64_t j = 0; j < len; ++j) {
      float v = w[i + j];
      nv[j] = (keep >> j) & 1 ? v - decay * v : 0.0f;
      nonzero |= static_cast<uint32_t>(nv[j] != 0.0f) << j;
      changed |= nv[j] != v;
    }
    if (changed)
      std::memcpy(w + i, nv, len * sizeof(float));
    while (nonzero) {
      int j = __builtin_ctz(nonzero);
      nonzero &= nonzero - 1;
      out.push_back(static_cast<uint32_t>(i + j));
    }
  };
  int64_t i = begin;
  for (; i + kChunk <= end; i += kChunk) {
    uint32_t bits[kChunk];
    std::memcpy(bits, w + i, sizeof bits);
    uint32_t keep = 0, tie = 0;
    for (int64_t j = 0; j < kChunk; ++j) {
      uint32_t b = bits[j] & 0x7fffffffu;
      keep |= static_cast<uint32_t>(b > tb) << j;
      tie |= static_cast<uint32_t>(b == tb) << j;
    }
    while (tie) {
      int j = __builtin_ctz(tie);
      tie &= tie - 1;
      keep |= static_cast<uint32_t>(i + j <= ti) << j;
    }
    if (keep == 0 && (fNext == fEnd || *fNext >= i + kChunk)) {
      // Nothing kept: zero the chunk unless it is zero already.
      uint32_t any = 0;
      for (int64_t j = 0; j < kChunk; ++j)
        any |= bits[j] & 0x7fffffffu;
      if (any)
        std::memset(w + i, 0, sizeof bits);
      continue;
    }
    finishChunk(i, kChunk, keep);
  }
  if (i < end) {
    uint32_t keep = 0;
    for (int64_t j = 0; i + j < end; ++j) {
      uint32_t b = absBits(w[i + j]);
      keep |= static_cast<uint32_t>(b > tb || (b == tb && i + j <= ti)) << j;
    }
    finishChunk(i, end - i, keep);
  }
}
} // namespace

void TopKProjector::apply(float *w, int64_t block, float decay) {
  int64_t lo, hi;
  blockRows(block, lo, hi);
  // keepsAll(): a threshold below every key.
  applyRange(w, lo * cols, hi * cols, keepsAll() ? 0 : tBits,
             keepsAll() ? 0xffffffffu : tIdx, decay,
             forced.data() + blockForced[block],
             forced.data() + blockForced[block + 1], keptList[block]);
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

int64_t projectTopK(float *w, const ParamSpec &spec, int64_t budget,
                    int64_t minPerUnit, float decay, ThreadPool &pool,
                    SparseIndex *index, bool alwaysExact) {
  int64_t rows, cols;
  matrixShape(spec, rows, cols);
  TopKProjector p(rows, cols, spec.unitAxis, minPerUnit);
  p.setAlwaysExact(alwaysExact);
  p.begin(budget, pool.size(), [&](int64_t i) { return w[i]; });
  pool.run(p.numBlocks(),
           [&](int64_t b, unsigned slot) { p.observe(w, b, slot); });
  p.select(w, pool);
  pool.run(p.numBlocks(), [&](int64_t b, unsigned) { p.apply(w, b, decay); });
  const std::vector<uint32_t> &kept = p.finish();
  if (index)
    index->assign(w, rows, cols, kept, pool);
  return static_cast<int64_t>(kept.size());
}

} // namespace circ::rt
