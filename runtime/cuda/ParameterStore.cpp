//===- ParameterStore.cpp - a model's parameters on the GPU -----*- C++ -*-===//

#include "circ_runtime/CudaParameterStore.h"

#include <algorithm>

namespace circ::rt::cuda {

Expected<DeviceParameterStore>
DeviceParameterStore::create(const Device &device,
                             std::vector<ParamSpec> params) {
  DeviceParameterStore store(device);
  store.entries.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    Entry &e = store.entries[i];
    e.spec = std::move(params[i]);
    const size_t bytes = size_t(e.spec.numel()) * sizeof(float);
    for (Buffer *b : {&e.values, &e.grad, &e.adamM, &e.adamV}) {
      Expected<Buffer> buffer = device.allocate(bytes);
      if (!buffer)
        return Error::failure("parameter " + e.spec.name + ": " +
                              buffer.message());
      *b = std::move(*buffer);
      if (Error err = b->fill32(0))
        return err;
    }
  }
  return store;
}

Expected<size_t> DeviceParameterStore::find(const std::string &name) const {
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].spec.name == name)
      return i;
  return Error::failure("no parameter named '" + name + "' on the device");
}

Error DeviceParameterStore::checkParam(size_t param) const {
  if (param >= entries.size())
    return Error::failure("parameter index " + std::to_string(param) +
                          " out of range (the store holds " +
                          std::to_string(entries.size()) + ")");
  return Error::success();
}

/// The dense slot `s` of an entry (Buffer& or const Buffer&).
template <typename EntryT> static auto &slotOf(EntryT &e, Slot s) {
  switch (s) {
  case Slot::Grad:
    return e.grad;
  case Slot::AdamM:
    return e.adamM;
  case Slot::AdamV:
    return e.adamV;
  case Slot::Values:
    break;
  }
  return e.values;
}

Error DeviceParameterStore::upload(size_t param, Slot s, const float *host) {
  if (Error e = checkParam(param))
    return e;
  Buffer &b = slotOf(entries[param], s);
  return b.upload(host, b.size());
}

Error DeviceParameterStore::download(size_t param, Slot s, float *host) const {
  if (Error e = checkParam(param))
    return e;
  const Buffer &b = slotOf(entries[param], s);
  return b.download(host, b.size());
}

Error DeviceParameterStore::uploadIndex(size_t param,
                                        const SparseIndexView &index) {
  if (Error e = checkParam(param))
    return e;
  Entry &e = entries[param];
  const std::string what = "sparse index of " + e.spec.name;
  if (!e.spec.isSparse() || e.spec.shape.size() != 2)
    return Error::failure(what + ": the parameter is dense");
  if (index.rows != e.spec.shape[0] || index.cols != e.spec.shape[1])
    return Error::failure(what + ": index is " + std::to_string(index.rows) +
                          "x" + std::to_string(index.cols) +
                          ", the parameter is " +
                          std::to_string(e.spec.shape[0]) + "x" +
                          std::to_string(e.spec.shape[1]));
  if (index.nnz < 0 || index.nnz > index.rows * index.cols)
    return Error::failure(what + ": " + std::to_string(index.nnz) +
                          " nonzeros do not fit the matrix");
  if (index.rowPtr[index.rows] != index.nnz ||
      index.colPtr[index.cols] != index.nnz)
    return Error::failure(what + ": rowPtr/colPtr end at " +
                          std::to_string(index.rowPtr[index.rows]) + "/" +
                          std::to_string(index.colPtr[index.cols]) +
                          ", expected nnz = " + std::to_string(index.nnz));
  auto allocate = [&](Buffer &b, size_t bytes) -> Error {
    Expected<Buffer> fresh = device.allocate(bytes);
    if (!fresh)
      return Error::failure(what + ": " + fresh.message());
    b = std::move(*fresh);
    return Error::success();
  };
  if (e.rowPtr.empty()) {
    if (Error err = allocate(e.rowPtr, (index.rows + 1) * sizeof(int32_t)))
      return err;
    if (Error err = allocate(e.colPtr, (index.cols + 1) * sizeof(int32_t)))
      return err;
  }
  if (index.nnz > e.capacity) {
    // Grow by at least half again so a slowly annealing budget does not
    // reallocate every step.
    int64_t capacity = std::max(index.nnz, e.capacity + e.capacity / 2);
    capacity = std::min(capacity, index.rows * index.cols);
    for (Buffer *b : {&e.colIdx, &e.rowValues, &e.rowIdx, &e.colValues})
      if (Error err = allocate(*b, size_t(capacity) * 4))
        return err;
    e.capacity = capacity;
  }
  const size_t nnzBytes = size_t(index.nnz) * 4;
  struct Copy {
    Buffer &dst;
    const void *src;
    size_t bytes;
  } copies[] = {{e.rowPtr, index.rowPtr, (index.rows + 1) * sizeof(int32_t)},
                {e.colIdx, index.colIdx, nnzBytes},
                {e.rowValues, index.rowValues, nnzBytes},
                {e.colPtr, index.colPtr, (index.cols + 1) * sizeof(int32_t)},
                {e.rowIdx, index.rowIdx, nnzBytes},
                {e.colValues, index.colValues, nnzBytes}};
  for (const Copy &c : copies)
    if (Error err = c.dst.upload(c.src, c.bytes))
      return Error::failure(what + ": " + err.message());
  e.nnz = index.nnz;
  return Error::success();
}

size_t DeviceParameterStore::deviceBytes() const {
  size_t total = 0;
  for (const Entry &e : entries)
    for (const Buffer *b :
         {&e.values, &e.grad, &e.adamM, &e.adamV, &e.rowPtr, &e.colIdx,
          &e.rowValues, &e.colPtr, &e.rowIdx, &e.colValues})
      total += b->size();
  return total;
}

} // namespace circ::rt::cuda
