//===- CodegenTestUtils.h - helpers for JIT execution tests -----*- C++ -*-===//
//
// Parse a circ module from text, compile it with the CPU pipeline, call it
// with host buffers, and compare results with tolerances.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TEST_UNIT_CODEGEN_CODEGENTESTUTILS_H
#define CIRC_TEST_UNIT_CODEGEN_CODEGENTESTUTILS_H

#include "circ/InitAllDialects.h"
#include "circ/Target/JIT.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace circ::test {

/// A host buffer with its shape.
template <typename T>
struct Buffer {
  std::vector<int64_t> shape;
  std::vector<T> data;

  Buffer() = default;
  explicit Buffer(std::vector<int64_t> s) : shape(std::move(s)) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    data.assign(n, T());
  }
  Buffer(std::initializer_list<int64_t> s)
      : Buffer(std::vector<int64_t>(s)) {}
  int64_t size() const { return static_cast<int64_t>(data.size()); }
  T &operator[](int64_t i) { return data[i]; }
  const T &operator[](int64_t i) const { return data[i]; }
  mlir::circ::BufferArg arg() {
    return {data.data(), shape, {}};
  }
};

using F32 = Buffer<float>;
using I32 = Buffer<int32_t>;

/// Owns a context and a JIT-compiled module.
class Compiled {
public:
  Compiled(const std::string &source, bool parallel = true,
           int64_t vectorWidth = 16, int64_t tileTokens = 0) {
    mlir::DialectRegistry registry;
    mlir::circ::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
    if (!module)
      return;
    mlir::circ::CPUPipelineOptions options;
    options.parallel = parallel;
    options.vectorWidth = vectorWidth;
    options.tileTokens = tileTokens;
    // Kernel tests pass the buffers of the layout their IR states, so the
    // circ-level rewrites (layout selection, fusion) stay off.
    options.optimize = false;
    auto jit = mlir::circ::JITModule::compile(*module, options);
    if (mlir::succeeded(jit))
      this->jit = std::move(*jit);
  }
  bool ok() const { return jit != nullptr; }

  /// Calls `name`; fails the test on a call error.
  void call(const std::string &name,
            std::vector<mlir::circ::BufferArg> args) {
    std::string error;
    ASSERT_TRUE(mlir::succeeded(jit->call(name, args, error))) << error;
  }
  mlir::circ::JITModule &module_() { return *jit; }

private:
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<mlir::circ::JITModule> jit;
};

inline F32 randomF32(std::vector<int64_t> shape, uint32_t seed,
                     float lo = -1.0f, float hi = 1.0f) {
  F32 b(std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float &v : b.data)
    v = dist(gen);
  return b;
}

/// A sparse weight [rows, cols] with every layout's buffers built from its
/// dense values (the nonzeros are the support).
struct SparseWeight {
  F32 dense;
  I32 rowPtr, colIdx, colPtr, rowIdx;
  F32 values, valuesT;
  I32 ellRowIdx, ellColIdx; ///< ELL by rows [rows, r] / by columns [cols, r]
  F32 ellRowValues, ellColValues;

  explicit SparseWeight(F32 d) : dense(std::move(d)) {
    int64_t rows = dense.shape[0], cols = dense.shape[1];
    std::vector<int32_t> rp(rows + 1, 0), cp(cols + 1, 0);
    std::vector<int32_t> ci, ri;
    std::vector<float> v, vt;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c)
        if (dense[r * cols + c] != 0.0f) {
          ci.push_back(int32_t(c));
          v.push_back(dense[r * cols + c]);
        }
      rp[r + 1] = int32_t(ci.size());
    }
    for (int64_t c = 0; c < cols; ++c) {
      for (int64_t r = 0; r < rows; ++r)
        if (dense[r * cols + c] != 0.0f) {
          ri.push_back(int32_t(r));
          vt.push_back(dense[r * cols + c]);
        }
      cp[c + 1] = int32_t(ri.size());
    }
    auto vec = [](auto data) {
      using T = typename decltype(data)::value_type;
      Buffer<T> b({int64_t(data.size())});
      b.data = std::move(data);
      return b;
    };
    rowPtr = vec(rp);
    colIdx = vec(ci);
    values = vec(v);
    colPtr = vec(cp);
    rowIdx = vec(ri);
    valuesT = vec(vt);
    ell(rows, rp, ci, v, ellRowIdx, ellRowValues);
    ell(cols, cp, ri, vt, ellColIdx, ellColValues);
  }

  /// Buffers in the calling-convention order of `layout`.
  std::vector<mlir::circ::BufferArg> args(const std::string &layout,
                                          const std::string &axis = "rows") {
    if (layout == "csr")
      return {dense.arg(),  rowPtr.arg(), colIdx.arg(), values.arg(),
              colPtr.arg(), rowIdx.arg(), valuesT.arg()};
    if (layout == "ell")
      return axis == "rows"
                 ? std::vector<mlir::circ::BufferArg>{dense.arg(),
                                                      ellRowIdx.arg(),
                                                      ellRowValues.arg()}
                 : std::vector<mlir::circ::BufferArg>{dense.arg(),
                                                      ellColIdx.arg(),
                                                      ellColValues.arg()};
    return {dense.arg()};
  }

private:
  /// ELL from compressed units: r = the longest unit, padding (0, value 0).
  static void ell(int64_t units, const std::vector<int32_t> &ptr,
                  const std::vector<int32_t> &idx,
                  const std::vector<float> &val, I32 &outIdx, F32 &outVal) {
    int64_t r = 1;
    for (int64_t u = 0; u < units; ++u)
      r = std::max<int64_t>(r, ptr[u + 1] - ptr[u]);
    outIdx = I32({units, r});
    outVal = F32({units, r});
    for (int64_t u = 0; u < units; ++u)
      for (int32_t p = ptr[u]; p < ptr[u + 1]; ++p) {
        outIdx[u * r + (p - ptr[u])] = idx[p];
        outVal[u * r + (p - ptr[u])] = val[p];
      }
  }
};

/// A random [rows, cols] weight keeping about `density` of its entries but
/// at least `minPerUnit` per row (axis rows) or column (axis cols).
inline F32 randomSparse(int64_t rows, int64_t cols, double density,
                        int64_t minPerUnit, bool unitsAreRows, uint32_t seed) {
  F32 w = randomF32({rows, cols}, seed);
  std::mt19937 gen(seed + 1000);
  std::uniform_real_distribution<double> keep(0.0, 1.0);
  for (float &v : w.data)
    if (keep(gen) >= density)
      v = 0.0f;
  int64_t units = unitsAreRows ? rows : cols, len = unitsAreRows ? cols : rows;
  for (int64_t u = 0; u < units; ++u)
    for (int64_t i = 0; i < std::min(minPerUnit, len); ++i) {
      int64_t j = (u * 7 + i * 13) % len;
      float &v = unitsAreRows ? w[u * cols + j] : w[j * cols + u];
      if (v == 0.0f)
        v = 0.5f + 0.01f * float(i);
    }
  return w;
}

/// Every element within `rtol·|expected| + atol` of the expectation.
template <typename Expected>
void expectClose(const F32 &actual, const std::vector<Expected> &expected,
                 double rtol, double atol, const std::string &what) {
  ASSERT_EQ(actual.data.size(), expected.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    double e = static_cast<double>(expected[i]), a = actual.data[i];
    if (!(std::fabs(a - e) <= rtol * std::fabs(e) + atol) && reported++ < 8)
      ADD_FAILURE() << what << "[" << i << "] = " << a << ", expected " << e;
  }
}

} // namespace circ::test

#endif // CIRC_TEST_UNIT_CODEGEN_CODEGENTESTUTILS_H
