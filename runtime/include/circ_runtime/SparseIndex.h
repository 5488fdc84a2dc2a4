//===- SparseIndex.h - CSR and CSC views of a sparse weight -----*- C++ -*-===//
//
// The support of a weight matrix W [rows, cols] (row-major, fp32) after an
// optimizer step, in the two layouts the generated kernels use: CSR for the
// forward product y = W x (a row's nonzeros), CSC for the input gradient
// dx = W^T dy (a column's nonzeros). Both are sorted (columns within a row,
// rows within a column), use int32 positions, and carry copies of the values
// so that a kernel streams one array.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_SPARSEINDEX_H
#define CIRC_RUNTIME_SPARSEINDEX_H

#include <cstdint>
#include <vector>

namespace circ::rt {

class ThreadPool;

struct SparseIndex {
  int64_t rows = 0, cols = 0;
  std::vector<int32_t> rowPtr;  ///< rows + 1
  std::vector<int32_t> colIdx;  ///< nnz, CSR order
  std::vector<float> rowValues; ///< nnz, CSR order
  std::vector<uint32_t> flat;   ///< nnz, CSR order: row * cols + col
  std::vector<int32_t> colPtr;  ///< cols + 1
  std::vector<int32_t> rowIdx;  ///< nnz, CSC order
  std::vector<float> colValues; ///< nnz, CSC order

  int64_t nnz() const { return static_cast<int64_t>(colIdx.size()); }

  /// Rebuilds both layouts from the ascending flat positions `sorted` of W,
  /// keeping only positions whose value in `w` is nonzero (a kept weight that
  /// is exactly zero is not part of the support).
  void assign(const float *w, int64_t rows, int64_t cols,
              const std::vector<uint32_t> &sorted, ThreadPool &pool);

  /// Rebuilds both layouts from the nonzeros of `w` (e.g. after loading a
  /// checkpoint, whose weights are dense with explicit zeros).
  void assignSupport(const float *w, int64_t rows, int64_t cols,
                     ThreadPool &pool);
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_SPARSEINDEX_H
