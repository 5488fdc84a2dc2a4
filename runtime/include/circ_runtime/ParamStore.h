//===- ParamStore.h - a model's parameters and optimizer state --*- C++ -*-===//
//
// Every parameter of a model (ModelConfig::modelParameters order) as four
// dense fp32 arrays: values, gradients, Adam first and second moments. As in
// the paper, gradients and moments stay dense so pruned weights can regrow.
// Each parameter's slice is 64-byte aligned inside one allocation per array,
// so generated kernels get raw pointers and whole-model passes (gradient RMS,
// Adam) stream contiguous memory.
//
// A sparse parameter also carries its SparseIndex (CSR + CSC of its
// nonzeros), rebuilt by the optimizer after every projection and by
// rebuildIndex() after weights are loaded or written by hand.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_PARAMSTORE_H
#define CIRC_RUNTIME_PARAMSTORE_H

#include "circ_runtime/Error.h"
#include "circ_runtime/ModelConfig.h"
#include "circ_runtime/SparseIndex.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace circ::rt {

class ThreadPool;

class ParamStore {
public:
  /// The parameters of `config`, all arrays zero. Fails if the config does
  /// not validate or memory runs out.
  static Expected<std::unique_ptr<ParamStore>>
  create(const ModelConfig &config);
  /// Arbitrary parameters (tests, benchmarks), all arrays zero. Fails on an
  /// empty parameter, a sparse one with 2^31 or more entries, or no memory.
  static Expected<std::unique_ptr<ParamStore>>
  create(std::vector<ParamSpec> specs);
  ~ParamStore();
  ParamStore(const ParamStore &) = delete;
  ParamStore &operator=(const ParamStore &) = delete;

  size_t size() const { return specs_.size(); }
  const ParamSpec &spec(size_t i) const { return specs_[i]; }
  const std::vector<ParamSpec> &specs() const { return specs_; }
  std::optional<size_t> find(std::string_view name) const;
  int64_t numel(size_t i) const { return specs_[i].numel(); }
  int64_t totalNumel() const { return totalNumel_; }

  float *values(size_t i) { return values_.get() + offsets_[i]; }
  const float *values(size_t i) const { return values_.get() + offsets_[i]; }
  float *grads(size_t i) { return grads_.get() + offsets_[i]; }
  const float *grads(size_t i) const { return grads_.get() + offsets_[i]; }
  float *adamM(size_t i) { return m_.get() + offsets_[i]; }
  float *adamV(size_t i) { return v_.get() + offsets_[i]; }
  const float *adamM(size_t i) const { return m_.get() + offsets_[i]; }
  const float *adamV(size_t i) const { return v_.get() + offsets_[i]; }

  /// Paper §1.1 initialisation from `seed`: N(0, initStd) for matrices and
  /// embeddings, gains 1, biases / sink / positional table 0, bigram table
  /// uniform [0, 0.02). Entry i of parameter p is a function of (seed, name
  /// of p, i) only (Philox, see Random.h), so any thread count gives the same
  /// bits. Also zeroes gradients and moments and rebuilds every index.
  /// Fails only when memory for the indices runs out.
  Error initialize(uint64_t seed, ThreadPool &pool);
  Error initialize(uint64_t seed);

  void zeroGrads();
  /// Sets both Adam moments of every parameter to zero.
  void zeroMoments();

  /// Whether parameter i has a sparse index (ParamSpec::isSparse()).
  bool hasIndex(size_t i) const { return specs_[i].isSparse(); }
  /// The sparse index of parameter i; null for a dense parameter.
  const SparseIndex *index(size_t i) const;
  SparseIndex *mutableIndex(size_t i);
  /// Rebuilds the index of parameter i (if sparse) from its nonzero values,
  /// e.g. after loading a checkpoint. Fails only when memory runs out.
  Error rebuildIndex(size_t i, ThreadPool &pool);
  Error rebuildIndices(ThreadPool &pool);

private:
  explicit ParamStore(std::vector<ParamSpec> specs);
  Error allocate();

  struct AlignedFree {
    void operator()(float *p) const;
  };
  using Buffer = std::unique_ptr<float[], AlignedFree>;

  std::vector<ParamSpec> specs_;
  std::vector<int64_t> offsets_;
  int64_t totalNumel_ = 0, paddedNumel_ = 0;
  Buffer values_, grads_, m_, v_;
  std::vector<SparseIndex> indices_; // empty for dense parameters
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_PARAMSTORE_H
