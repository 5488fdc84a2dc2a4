//===- CudaParameterStore.h - a model's parameters on the GPU ---*- C++ -*-===//
//
// Device memory for everything a training step touches per parameter: the
// dense fp32 values, their gradient, the two Adam moments (dense, so pruned
// weights can regrow) and, for sparse matrices, the per-step sparse index in
// the two layouts the kernels read (CSR for y = W x, CSC for dx = W^T dy; int32
// positions with copies of the values, as circ_runtime/SparseIndex.h). Index
// buffers grow geometrically as the support changes and never shrink.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_CUDAPARAMETERSTORE_H
#define CIRC_RUNTIME_CUDAPARAMETERSTORE_H

#include "circ_runtime/Cuda.h"
#include "circ_runtime/ModelConfig.h"

namespace circ::rt::cuda {

/// The dense slots every parameter has.
enum class Slot { Values, Grad, AdamM, AdamV };

/// A host sparse index to upload (CSR and CSC of a rows x cols matrix).
struct SparseIndexView {
  int64_t rows = 0, cols = 0, nnz = 0;
  const int32_t *rowPtr = nullptr; ///< rows + 1
  const int32_t *colIdx = nullptr; ///< nnz
  const float *rowValues = nullptr;
  const int32_t *colPtr = nullptr; ///< cols + 1
  const int32_t *rowIdx = nullptr; ///< nnz
  const float *colValues = nullptr;
};

class DeviceParameterStore {
public:
  struct Entry {
    ParamSpec spec;
    Buffer values, grad, adamM, adamV;
    // Sparse matrices only: CSR then CSC, sized for `capacity` nonzeros.
    Buffer rowPtr, colIdx, rowValues, colPtr, rowIdx, colValues;
    int64_t nnz = 0, capacity = 0;
  };

  /// Allocates the dense slots of every parameter and zero-fills them.
  static Expected<DeviceParameterStore> create(const Device &device,
                                               std::vector<ParamSpec> params);

  size_t size() const { return entries.size(); }
  const Entry &operator[](size_t i) const { return entries[i]; }
  /// Index of the parameter named `name` ("h.0.mlp.c_fc.weight").
  Expected<size_t> find(const std::string &name) const;

  /// Copies a whole slot (numel floats) to or from the device.
  Error upload(size_t param, Slot slot, const float *host);
  Error download(size_t param, Slot slot, float *host) const;
  /// Replaces the sparse index of a sparse matrix parameter; the view's
  /// shape must match the parameter's.
  Error uploadIndex(size_t param, const SparseIndexView &index);

  /// Device bytes held (all slots and index capacity).
  size_t deviceBytes() const;

private:
  explicit DeviceParameterStore(Device device) : device(std::move(device)) {}
  Error checkParam(size_t param) const;
  Device device;
  std::vector<Entry> entries;
};

} // namespace circ::rt::cuda

#endif // CIRC_RUNTIME_CUDAPARAMETERSTORE_H
