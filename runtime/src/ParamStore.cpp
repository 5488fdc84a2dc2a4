//===- ParamStore.cpp - a model's parameters and optimizer state -*- C++
//-*-===//
#include "circ_runtime/ParamStore.h"

#include "circ_runtime/Random.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/TopK.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace circ::rt {

static constexpr int64_t kAlignFloats = 16; // 64 bytes

void ParamStore::AlignedFree::operator()(float *p) const { std::free(p); }

Expected<std::unique_ptr<ParamStore>>
ParamStore::create(const ModelConfig &config) {
  std::vector<std::string> errors = config.validate();
  if (!errors.empty()) {
    std::string msg = "invalid model configuration:";
    for (const std::string &e : errors)
      msg += " " + e + ";";
    return Error::failure(msg);
  }
  return create(modelParameters(config));
}

Expected<std::unique_ptr<ParamStore>>
ParamStore::create(std::vector<ParamSpec> specs) {
  for (const ParamSpec &s : specs) {
    int64_t n = s.numel();
    if (n <= 0)
      return Error::failure("parameter '" + s.name + "' has no elements");
    if (s.isSparse() && n >= (int64_t(1) << 31))
      return Error::failure("sparse parameter '" + s.name +
                            "' has 2^31 or more entries");
  }
  std::unique_ptr<ParamStore> store(new ParamStore(std::move(specs)));
  if (Error e = store->allocate())
    return e;
  return store;
}

ParamStore::ParamStore(std::vector<ParamSpec> specs)
    : specs_(std::move(specs)) {
  offsets_.reserve(specs_.size());
  for (const ParamSpec &s : specs_) {
    int64_t n = s.numel();
    offsets_.push_back(paddedNumel_);
    totalNumel_ += n;
    paddedNumel_ += (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
}

Error ParamStore::allocate() {
  size_t bytes =
      static_cast<size_t>(std::max<int64_t>(paddedNumel_, 16)) * sizeof(float);
  for (Buffer *b : {&values_, &grads_, &m_, &v_}) {
    void *p = std::aligned_alloc(64, bytes);
    if (!p)
      return Error::failure("out of memory allocating " +
                            std::to_string(bytes) + " bytes of parameters");
    std::memset(p, 0, bytes);
    b->reset(static_cast<float *>(p));
  }
  try {
    indices_.resize(specs_.size());
    for (size_t i = 0; i < specs_.size(); ++i)
      if (hasIndex(i)) {
        int64_t rows, cols;
        matrixShape(specs_[i], rows, cols);
        indices_[i].rows = rows;
        indices_[i].cols = cols;
        indices_[i].rowPtr.assign(rows + 1, 0);
        indices_[i].colPtr.assign(cols + 1, 0);
      }
  } catch (const std::bad_alloc &) {
    return Error::failure("out of memory allocating sparse indices");
  }
  return Error::success();
}

ParamStore::~ParamStore() = default;

std::optional<size_t> ParamStore::find(std::string_view name) const {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].name == name)
      return i;
  return std::nullopt;
}

Error ParamStore::initialize(uint64_t seed) {
  return initialize(seed, ThreadPool::global());
}

Error ParamStore::initialize(uint64_t seed, ThreadPool &pool) {
  for (size_t p = 0; p < specs_.size(); ++p) {
    const ParamSpec &s = specs_[p];
    float *w = values(p);
    const uint64_t stream = streamOf(s.name);
    parallelBlocks(
        pool, s.numel(), 1 << 15,
        [&](int64_t, int64_t lo, int64_t hi, unsigned) {
          for (int64_t i = lo; i < hi; ++i) {
            switch (s.kind) {
            case ParamKind::Gain:
              w[i] = 1.0f;
              break;
            case ParamKind::Bigram:
              w[i] = static_cast<float>(0.02 * uniformAt(seed, stream, i));
              break;
            default:
              w[i] = s.initStd == 0.0
                         ? 0.0f
                         : static_cast<float>(s.initStd *
                                              normalAt(seed, stream, i));
            }
          }
        });
  }
  zeroGrads();
  zeroMoments();
  return rebuildIndices(pool);
}

void ParamStore::zeroGrads() {
  std::memset(grads_.get(), 0, paddedNumel_ * sizeof(float));
}

void ParamStore::zeroMoments() {
  std::memset(m_.get(), 0, paddedNumel_ * sizeof(float));
  std::memset(v_.get(), 0, paddedNumel_ * sizeof(float));
}

const SparseIndex *ParamStore::index(size_t i) const {
  return hasIndex(i) ? &indices_[i] : nullptr;
}

SparseIndex *ParamStore::mutableIndex(size_t i) {
  return hasIndex(i) ? &indices_[i] : nullptr;
}

Error ParamStore::rebuildIndex(size_t i, ThreadPool &pool) {
  SparseIndex *idx = mutableIndex(i);
  if (!idx)
    return Error::success();
  try {
    idx->assignSupport(values(i), idx->rows, idx->cols, pool);
  } catch (const std::bad_alloc &) {
    return Error::failure("out of memory rebuilding the sparse index of '" +
                          specs_[i].name + "'");
  }
  return Error::success();
}

Error ParamStore::rebuildIndices(ThreadPool &pool) {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (Error e = rebuildIndex(i, pool))
      return e;
  return Error::success();
}

} // namespace circ::rt
