//===- AbsTopKTest.cpp - JIT runs of abs_topk ------------------------------===//
//
// abs_topk against a naive oracle: sort each row's indices by (|x| desc,
// index asc) and keep the first k, on random rows with many ties, zeros,
// negative values and widths that leave a vector tail.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtils.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace circ::test;

namespace {

std::vector<float> naiveAbsTopK(const F32 &x, int64_t rows, int64_t width,
                                int64_t k) {
  std::vector<float> out(x.size(), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> idx(width);
    std::iota(idx.begin(), idx.end(), 0);
    const float *row = x.data.data() + r * width;
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
      return std::fabs(row[a]) > std::fabs(row[b]);
    });
    for (int64_t i = 0; i < k; ++i)
      out[r * width + idx[i]] = row[idx[i]];
  }
  return out;
}

void checkAbsTopK(int64_t rows, int64_t width, int64_t k, uint32_t seed,
                  bool ties) {
  std::string type = "tensor<" + std::to_string(rows) + "x" +
                     std::to_string(width) + "xf32>";
  Compiled c("func.func @f(%x: " + type + ") -> " + type +
             " {\n  %0 = circ.abs_topk %x {k = " + std::to_string(k) +
             " : i64, site = #circ.site<mlp_neuron>, layer = 0 : i64} : " +
             type + "\n  return %0 : " + type + "\n}");
  ASSERT_TRUE(c.ok());
  F32 x = randomF32({rows, width}, seed, -4.0f, 4.0f), out({rows, width});
  if (ties) // a few distinct magnitudes of both signs, and exact zeros
    for (float &v : x.data)
      v = std::round(v) * 0.5f;
  c.call("f", {x.arg(), out.arg()});
  expectClose(out, naiveAbsTopK(x, rows, width, k), 0, 0,
              "abs_topk w=" + std::to_string(width) + " k=" + std::to_string(k));
}

TEST(AbsTopK, DistinctMagnitudes) { checkAbsTopK(7, 64, 16, 1, false); }
TEST(AbsTopK, VectorTailAndSmallK) { checkAbsTopK(5, 37, 1, 2, false); }
TEST(AbsTopK, TiesGoToLowerIndex) { checkAbsTopK(9, 50, 12, 3, true); }
TEST(AbsTopK, KEqualsWidthKeepsEverything) { checkAbsTopK(3, 20, 20, 4, true); }
TEST(AbsTopK, WideRowQuarterKept) { checkAbsTopK(4, 1024, 256, 5, false); }

} // namespace
