//===- SparseIndex.cpp - CSR and CSC views of a sparse weight ---*- C++ -*-===//
#include "circ_runtime/SparseIndex.h"

#include "circ_runtime/ThreadPool.h"

#include <algorithm>

namespace circ::rt {

// Work is split in fixed-size chunks so that the layout of the scratch (not
// just the result) is independent of the thread count.
static constexpr int64_t kChunk = 1 << 16;

void SparseIndex::assign(const float *w, int64_t nRows, int64_t nCols,
                         const std::vector<uint32_t> &sorted,
                         ThreadPool &pool) {
  rows = nRows;
  cols = nCols;
  const int64_t m = static_cast<int64_t>(sorted.size());
  const int64_t nChunks = (m + kChunk - 1) / kChunk;

  // Filter out exact zeros: count per chunk, then write at prefix offsets.
  std::vector<int64_t> offset(nChunks + 1, 0);
  parallelBlocks(pool, m, kChunk,
                 [&](int64_t b, int64_t lo, int64_t hi, unsigned) {
                   int64_t n = 0;
                   for (int64_t i = lo; i < hi; ++i)
                     n += w[sorted[i]] != 0.0f;
                   offset[b + 1] = n;
                 });
  for (int64_t b = 0; b < nChunks; ++b)
    offset[b + 1] += offset[b];
  const int64_t nnz = offset[nChunks];
  flat.resize(nnz);
  colIdx.resize(nnz);
  rowValues.resize(nnz);
  parallelBlocks(pool, m, kChunk,
                 [&](int64_t b, int64_t lo, int64_t hi, unsigned) {
                   int64_t out = offset[b];
                   for (int64_t i = lo; i < hi; ++i) {
                     uint32_t e = sorted[i];
                     float v = w[e];
                     if (v == 0.0f)
                       continue;
                     flat[out] = e;
                     colIdx[out] = static_cast<int32_t>(e % nCols);
                     rowValues[out] = v;
                     ++out;
                   }
                 });
  rowPtr.resize(nRows + 1);
  parallelBlocks(pool, nRows + 1, 4096,
                 [&](int64_t, int64_t lo, int64_t hi, unsigned) {
                   for (int64_t r = lo; r < hi; ++r)
                     rowPtr[r] = static_cast<int32_t>(
                         std::lower_bound(flat.begin(), flat.end(),
                                          static_cast<uint64_t>(r * nCols)) -
                         flat.begin());
                 });

  // CSC by a stable counting sort of the CSR entries on their column: each
  // part (a range of rows) counts its columns, then scatters after the parts
  // before it, so rows stay ascending within a column for any part count.
  const unsigned parts = pool.size();
  std::vector<int32_t> counts(static_cast<size_t>(parts) * nCols, 0);
  auto partRows = [&](unsigned p, int64_t &lo, int64_t &hi) {
    lo = nRows * p / parts;
    hi = nRows * (p + 1) / parts;
  };
  pool.run(parts, [&](int64_t p, unsigned) {
    int64_t lo, hi;
    partRows(static_cast<unsigned>(p), lo, hi);
    int32_t *cnt = counts.data() + p * nCols;
    for (int64_t e = rowPtr[lo]; e < rowPtr[hi]; ++e)
      ++cnt[colIdx[e]];
  });
  colPtr.assign(nCols + 1, 0);
  for (int64_t c = 0; c < nCols; ++c) {
    int32_t start = colPtr[c];
    for (unsigned p = 0; p < parts; ++p) {
      int32_t n = counts[p * nCols + c];
      counts[p * nCols + c] = start;
      start += n;
    }
    colPtr[c + 1] = start;
  }
  rowIdx.resize(nnz);
  colValues.resize(nnz);
  pool.run(parts, [&](int64_t p, unsigned) {
    int64_t lo, hi;
    partRows(static_cast<unsigned>(p), lo, hi);
    int32_t *cursor = counts.data() + p * nCols;
    for (int64_t r = lo; r < hi; ++r)
      for (int64_t e = rowPtr[r]; e < rowPtr[r + 1]; ++e) {
        int32_t pos = cursor[colIdx[e]]++;
        rowIdx[pos] = static_cast<int32_t>(r);
        colValues[pos] = rowValues[e];
      }
  });
}

void SparseIndex::assignSupport(const float *w, int64_t nRows, int64_t nCols,
                                ThreadPool &pool) {
  const int64_t n = nRows * nCols;
  const int64_t nChunks = (n + kChunk - 1) / kChunk;
  std::vector<std::vector<uint32_t>> found(nChunks);
  parallelBlocks(pool, n, kChunk,
                 [&](int64_t b, int64_t lo, int64_t hi, unsigned) {
                   for (int64_t i = lo; i < hi; ++i)
                     if (w[i] != 0.0f)
                       found[b].push_back(static_cast<uint32_t>(i));
                 });
  std::vector<uint32_t> sorted;
  for (const std::vector<uint32_t> &f : found)
    sorted.insert(sorted.end(), f.begin(), f.end());
  assign(w, nRows, nCols, sorted, pool);
}

} // namespace circ::rt
