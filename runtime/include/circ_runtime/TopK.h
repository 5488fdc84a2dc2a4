//===- TopK.h - L0 projection of weight matrices (paper §2.1) ---*- C++ -*-===//
//
// After every optimizer step each sparse parameter W [rows, cols] is projected
// onto its budget of k nonzeros:
//   1. every unit (a row for UnitAxis::Rows, a column for Cols) force-keeps
//      its top-`minPerUnit` entries by |w|;
//   2. the remaining k - forced entries are the largest |w| among the rest;
//   3. everything else becomes zero.
// Entries are ranked by the key (|w| descending, flat index ascending), a
// total order, so the kept set is unique: identical for any thread count and
// any split of the work. Ranking uses the IEEE bits of |w|, which order like
// the magnitudes (a NaN ranks above +inf).
//
// Selection is O(n) per matrix and costs two streaming passes: a strided
// sample bounds the threshold, `observe` counts entries above the bound,
// collects the few inside it and tracks each unit's top entries, and `apply`
// writes the result. If the sample's bounds miss (rare), `select` falls back
// to an exact radix selection over the matrix. The passes work on row blocks
// so that the optimizer can fuse `observe` with its Adam update.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_TOPK_H
#define CIRC_RUNTIME_TOPK_H

#include "circ_runtime/ModelConfig.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace circ::rt {

class ThreadPool;
struct SparseIndex;

/// Number of units of a [rows, cols] parameter under the min-per-unit rule.
int64_t numUnits(UnitAxis axis, int64_t rows, int64_t cols);

/// Weights a sparse parameter keeps at nonzero fraction `density` (paper
/// §2.1): max(round(density · numel), min(minPerUnit · units, numel)).
int64_t l0Budget(const ParamSpec &spec, double density, int64_t minPerUnit);

/// A parameter viewed as a matrix: rows = shape[0] (1 for a vector), cols =
/// the product of the remaining dimensions.
void matrixShape(const ParamSpec &spec, int64_t &rows, int64_t &cols);

/// Largest-first selection: the value at position `k` (0-based, k <
/// keys.size()) of `keys` sorted in descending order. O(size) by radix
/// bucketing; reorders `keys`.
uint64_t selectKthLargest(std::vector<uint64_t> &keys, size_t k);

class TopKProjector {
public:
  /// rows, cols > 0 and rows * cols < 2^31 (ParamStore guarantees both).
  TopKProjector(int64_t rows, int64_t cols, UnitAxis axis, int64_t minPerUnit);

  int64_t numBlocks() const { return nBlocks; }
  int64_t numRows() const { return rows; }
  int64_t numCols() const { return cols; }
  /// Rows [lo, hi) of block b; blocks depend on the shape only.
  void blockRows(int64_t b, int64_t &lo, int64_t &hi) const;

  /// Starts a projection to `budget` entries. `valueAt(i)` yields the value
  /// flat entry i will have when observed (the optimizer passes its Adam
  /// update, so the sample sees post-update values without a pass).
  void begin(int64_t budget, unsigned slots,
             const std::function<float(int64_t)> &valueAt);
  /// Reads the final values of block b (any order, any thread; `slot` is the
  /// pool slot of the caller).
  void observe(const float *w, int64_t block, unsigned slot);
  /// Serial: forced set and threshold. Reads w (not yet modified).
  void select(const float *w, ThreadPool &pool);
  /// Block b: zeroes dropped entries, applies w <- w - decay * w to kept
  /// ones and records the nonzero ones.
  void apply(float *w, int64_t block, float decay);
  /// Serial: the ascending flat positions of all kept nonzero entries.
  const std::vector<uint32_t> &finish();

  /// All of the above on the pool: projects w to `budget` entries, decays
  /// what is kept, rebuilds `index` (may be null); returns the kept count.
  /// Reusing one projector across steps reuses its scratch memory.
  int64_t project(float *w, int64_t budget, float decay, ThreadPool &pool,
                  SparseIndex *index);

  /// True when the projection keeps everything (budget >= numel): observe,
  /// select and apply then only decay.
  bool keepsAll() const { return budget >= rows * cols; }
  int64_t forcedCount() const { return static_cast<int64_t>(forced.size()); }
  /// Whether the last select() needed the exact fallback (for tests/bench).
  bool usedFallback() const { return fellBack; }
  /// Test hook: ignore the sample bounds and always run the exact fallback.
  void setAlwaysExact(bool on) { alwaysExact = on; }

private:
  void exactThreshold(const float *w, ThreadPool &pool);

  int64_t rows, cols;
  UnitAxis axis;
  int64_t perUnit; ///< min(minPerUnit, unit length)
  int64_t rowsPerBlock, nBlocks;
  int64_t budget = 0;
  bool alwaysExact = false, fellBack = false;

  // Sample bounds: entries with |w| bits > hiBits are "above"; entries in
  // [loBits, hiBits] are candidates, recorded with their keys. Magnitude
  // bits compare as int32.
  int32_t hiBits = 0, loBits = 0;
  std::vector<int64_t> aboveCount;          ///< per block
  std::vector<std::vector<uint64_t>> cands; ///< per block, ascending index
  // When recordKept: the candidates' values, and the entries above the band
  // (positions and values), per block in ascending position.
  bool recordKept = false;
  std::vector<std::vector<float>> candVals;
  std::vector<std::vector<uint32_t>> aboveIdx;
  std::vector<std::vector<float>> aboveVals;
  std::vector<std::vector<uint32_t>> keptList; ///< per block, ascending
  // Per-unit top keys, sorted descending, 0 = empty. Rows: one list per row.
  // Cols: one list per (slot, column), merged in select().
  std::vector<uint64_t> unitTops;
  /// Cols: per (slot, column) bits an entry must exceed (-1: list not full)
  std::vector<int32_t> colMin;
  unsigned nSlots = 1;

  // Result of select(): keep iff key >= (tBits, tIdx), or forced.
  int32_t tBits = 0;
  uint32_t tIdx = 0;
  std::vector<uint32_t> forced;     ///< ascending flat positions
  std::vector<int64_t> blockForced; ///< forced[blockForced[b]..] in block b
  std::vector<uint64_t> selectKeys; ///< scratch for select()
  std::vector<int32_t> sampleBits;  ///< scratch for begin()
  std::vector<uint32_t> result;
};

/// One projection of a batch (projectBatch).
struct ProjectionJob {
  TopKProjector *projector;
  float *w;
  int64_t budget;
  float decay;
  SparseIndex *index = nullptr; ///< rebuilt when non-null
  /// Runs on the flat entries [lo, hi) of a block just before observe()
  /// reads them (the optimizer's Adam update); may be empty.
  std::function<void(int64_t lo, int64_t hi)> prepare;
  /// The value entry i will have after `prepare`, for the sample; empty
  /// means w[i].
  std::function<float(int64_t)> preview;
};

/// Projects every job on the pool as a pipeline: each job's phases run in
/// order, blocks of a job in parallel, the earliest job first with a small
/// window of jobs in flight (so apply() finds the matrix observe() just read
/// still in cache, and one job's serial select / finish overlaps another's
/// blocks). Results are those of projecting each job alone, whatever the
/// thread count. Returns the total kept count.
int64_t projectBatch(std::vector<ProjectionJob> &jobs, ThreadPool &pool);

/// Projects w (the parameter `spec`, with fewer than 2^31 entries) onto
/// `budget` entries in place, applies
/// w <- w - decay * w to what is kept, and rebuilds `index` (may be null).
/// Returns the number of kept entries.
int64_t projectTopK(float *w, const ParamSpec &spec, int64_t budget,
                    int64_t minPerUnit, float decay, ThreadPool &pool,
                    SparseIndex *index, bool alwaysExact = false);

} // namespace circ::rt

#endif // CIRC_RUNTIME_TOPK_H
