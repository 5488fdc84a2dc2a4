//===- ElementwiseTest.cpp - JIT runs of elementwise ops and rmsnorm ------===//
//
// Each case compiles a one-op function with the full CPU pipeline (OpenMP,
// polynomial math, vector tails) and checks it against a double-precision
// loop written here.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtils.h"

using namespace circ::test;

namespace {

TEST(Elementwise, ResidualAddWithVectorTail) {
  Compiled c(R"(
    func.func @f(%a: tensor<3x5x37xf32>, %b: tensor<3x5x37xf32>) -> tensor<3x5x37xf32> {
      %0 = circ.residual_add %a, %b : tensor<3x5x37xf32>
      return %0 : tensor<3x5x37xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 a = randomF32({3, 5, 37}, 1), b = randomF32({3, 5, 37}, 2), out({3, 5, 37});
  c.call("f", {a.arg(), b.arg(), out.arg()});
  std::vector<double> expected(a.size());
  for (int64_t i = 0; i < a.size(); ++i)
    expected[i] = double(a[i]) + double(b[i]);
  expectClose(out, expected, 1e-6, 0, "sum");
}

TEST(Elementwise, GeluMatchesErfForm) {
  Compiled c(R"(
    func.func @f(%x: tensor<4x100xf32>) -> tensor<4x100xf32> {
      %0 = circ.gelu %x : tensor<4x100xf32>
      return %0 : tensor<4x100xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 x = randomF32({4, 100}, 3, -6.0f, 6.0f), out({4, 100});
  c.call("f", {x.arg(), out.arg()});
  std::vector<double> expected(x.size());
  for (int64_t i = 0; i < x.size(); ++i)
    expected[i] = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
  // Relative accuracy holds in the negative tail too (no 1 + erf cancellation).
  expectClose(out, expected, 2e-6, 1e-30, "gelu");
}

TEST(Elementwise, MaskGateMeanAndZero) {
  Compiled c(R"(
    func.func @mean(%x: tensor<6x20xf32>, %tau: tensor<20xf32>, %mu: tensor<20xf32>) -> tensor<6x20xf32> {
      %0 = circ.mask_gate %x, %tau, %mu {ablation = #circ.ablation<mean>} : tensor<6x20xf32>, tensor<20xf32>, tensor<20xf32>
      return %0 : tensor<6x20xf32>
    }
    func.func @zero(%x: tensor<6x20xf32>, %tau: tensor<20xf32>) -> tensor<6x20xf32> {
      %0 = circ.mask_gate %x, %tau {ablation = #circ.ablation<zero>} : tensor<6x20xf32>, tensor<20xf32>
      return %0 : tensor<6x20xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 x = randomF32({6, 20}, 4), tau = randomF32({20}, 5), mu = randomF32({20}, 6);
  tau[3] = 0.0f; // H(0) = 1: kept
  F32 outMean({6, 20}), outZero({6, 20});
  c.call("mean", {x.arg(), tau.arg(), mu.arg(), outMean.arg()});
  c.call("zero", {x.arg(), tau.arg(), outZero.arg()});
  std::vector<float> expMean(x.size()), expZero(x.size());
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t i = 0; i < 20; ++i) {
      bool keep = tau[i] >= 0.0f;
      expMean[r * 20 + i] = keep ? x[r * 20 + i] : mu[i];
      expZero[r * 20 + i] = keep ? x[r * 20 + i] : 0.0f;
    }
  expectClose(outMean, expMean, 0, 0, "mean gate");
  expectClose(outZero, expZero, 0, 0, "zero gate");
}

TEST(Elementwise, AddPositionsUsesPositionRow) {
  Compiled c(R"(
    func.func @f(%x: tensor<2x3x18xf32>, %t: tensor<5x18xf32>) -> tensor<2x3x18xf32> {
      %0 = circ.add_positions %x, %t : tensor<2x3x18xf32>, tensor<5x18xf32>
      return %0 : tensor<2x3x18xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 x = randomF32({2, 3, 18}, 7), t = randomF32({5, 18}, 8), out({2, 3, 18});
  c.call("f", {x.arg(), t.arg(), out.arg()});
  std::vector<double> expected(x.size());
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t p = 0; p < 3; ++p)
      for (int64_t i = 0; i < 18; ++i)
        expected[(b * 3 + p) * 18 + i] =
            double(x[(b * 3 + p) * 18 + i]) + double(t[p * 18 + i]);
  expectClose(out, expected, 1e-6, 0, "positions");
}

TEST(Normalization, RMSNormRows) {
  Compiled c(R"(
    func.func @f(%x: tensor<7x45xf32>, %g: tensor<45xf32>) -> tensor<7x45xf32> {
      %0 = circ.rmsnorm %x, %g {epsilon = 1.0e-5 : f64} : tensor<7x45xf32>, tensor<45xf32>
      return %0 : tensor<7x45xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 x = randomF32({7, 45}, 9, -3.0f, 3.0f), g = randomF32({45}, 10), out({7, 45});
  c.call("f", {x.arg(), g.arg(), out.arg()});
  std::vector<double> expected(x.size());
  for (int64_t r = 0; r < 7; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < 45; ++i)
      ss += double(x[r * 45 + i]) * x[r * 45 + i];
    double inv = 1.0 / std::sqrt(ss / 45 + 1e-5);
    for (int64_t i = 0; i < 45; ++i)
      expected[r * 45 + i] = x[r * 45 + i] * inv * g[i];
  }
  expectClose(out, expected, 1e-5, 1e-7, "rmsnorm");
}

TEST(Calls, WrongShapeIsReported) {
  Compiled c(R"(
    func.func @f(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
      %0 = circ.gelu %x : tensor<4x16xf32>
      return %0 : tensor<4x16xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 x({4, 8}), out({4, 16});
  std::string error;
  EXPECT_TRUE(mlir::failed(c.module_().call("f", {x.arg(), out.arg()}, error)));
  EXPECT_EQ(error, "buffer #0 has size 16 along axis 1, got 8");
}

} // namespace
