//===- LookupLossTest.cpp - JIT runs of embed, bigram and the losses -----===//
//
// Each case compiles a one-op function with the full CPU pipeline and checks
// it against a double-precision loop written here.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtils.h"

#include <cmath>
#include <map>

using namespace circ::test;

namespace {

TEST(Lookup, EmbedGathersRowsOfSparseTable) {
  Compiled c(R"(
    func.func @f(%ids: tensor<2x3xi32>, %t: tensor<11x37xf32, #circ.sparsity<density = 0.5, min_per_unit = 0, axis = none, layout = csr>>) -> tensor<2x3x37xf32> {
      %0 = circ.embed %ids, %t : tensor<2x3xi32>, tensor<11x37xf32, #circ.sparsity<density = 0.5, min_per_unit = 0, axis = none, layout = csr>> -> tensor<2x3x37xf32>
      return %0 : tensor<2x3x37xf32>
    })");
  ASSERT_TRUE(c.ok());
  const mlir::circ::EntryPoint *entry = c.module_().entryPoint("f");
  ASSERT_NE(entry, nullptr);
  // The table arrives as its csr buffers; the lookup reads only `dense`.
  // The index describes an empty support (no other buffer is read).
  I32 ids({2, 3});
  int32_t picks[] = {0, 10, 3, 3, 7, 1};
  for (int i = 0; i < 6; ++i)
    ids[i] = picks[i];
  F32 table = randomF32({11, 37}, 1), out({2, 3, 37});
  I32 rowPtr({12}), colPtr({38}), none({0});
  F32 noValues({0});
  std::map<std::string, mlir::circ::BufferArg> byName = {
      {"dense", table.arg()},      {"row_ptr", rowPtr.arg()},
      {"col_ptr", colPtr.arg()},   {"col_idx", none.arg()},
      {"row_idx", none.arg()},     {"values", noValues.arg()},
      {"values_t", noValues.arg()}};
  std::vector<mlir::circ::BufferArg> args;
  for (const mlir::circ::BufferInfo &info : entry->buffers)
    args.push_back(info.result == 0        ? out.arg()
                   : info.buffer.empty()   ? ids.arg()
                                           : byName.at(info.buffer));
  c.call("f", args);
  std::vector<float> expected;
  for (int i = 0; i < 6; ++i)
    for (int d = 0; d < 37; ++d)
      expected.push_back(table[picks[i] * 37 + d]);
  expectClose(out, expected, 0, 0, "embed");
}

TEST(Lookup, BigramReturnsTheCurrentTokensRow) {
  Compiled c(R"(
    func.func @f(%ids: tensor<1x4xi32>, %t: tensor<20x20xf32>) -> tensor<1x4x20xf32> {
      %0 = circ.bigram %ids, %t : tensor<1x4xi32>, tensor<20x20xf32> -> tensor<1x4x20xf32>
      return %0 : tensor<1x4x20xf32>
    })");
  ASSERT_TRUE(c.ok());
  I32 ids({1, 4});
  int32_t picks[] = {19, 0, 5, 19};
  for (int i = 0; i < 4; ++i)
    ids[i] = picks[i];
  F32 table = randomF32({20, 20}, 2), out({1, 4, 20});
  c.call("f", {ids.arg(), table.arg(), out.arg()});
  std::vector<float> expected;
  for (int i = 0; i < 4; ++i)
    for (int v = 0; v < 20; ++v)
      expected.push_back(table[picks[i] * 20 + v]);
  expectClose(out, expected, 0, 0, "bigram");
}

TEST(Loss, NextTokenLossIsMeanCrossEntropyOverCountedTargets) {
  Compiled c(R"(
    func.func @f(%l: tensor<2x3x41xf32>, %t: tensor<2x3xi32>) -> tensor<f32> {
      %0 = circ.next_token_loss %l, %t : tensor<2x3x41xf32>, tensor<2x3xi32>
      return %0 : tensor<f32>
    })");
  ASSERT_TRUE(c.ok());
  F32 logits = randomF32({2, 3, 41}, 3, -8.0f, 8.0f), out(std::vector<int64_t>{});
  I32 targets({2, 3});
  // -1 and 41 are outside the vocabulary: not counted.
  int32_t picks[] = {0, 40, -1, 17, 41, 3};
  for (int i = 0; i < 6; ++i)
    targets[i] = picks[i];
  c.call("f", {logits.arg(), targets.arg(), out.arg()});
  double sum = 0;
  int counted = 0;
  for (int r = 0; r < 6; ++r) {
    if (picks[r] < 0 || picks[r] >= 41)
      continue;
    double z = 0;
    for (int v = 0; v < 41; ++v)
      z += std::exp(double(logits[r * 41 + v]));
    sum += std::log(z) - logits[r * 41 + picks[r]];
    ++counted;
  }
  expectClose(out, std::vector<double>{sum / counted}, 1e-5, 0, "loss");
}

TEST(Loss, ContrastLossIsTwoWayCrossEntropyAtEachLastPosition) {
  Compiled c(R"(
    func.func @f(%l: tensor<3x4x10xf32>, %p: tensor<3xi32>, %y: tensor<3xi32>, %n: tensor<3xi32>) -> tensor<f32> {
      %0 = circ.contrast_loss %l, %p, %y, %n : tensor<3x4x10xf32>, tensor<3xi32>
      return %0 : tensor<f32>
    })");
  ASSERT_TRUE(c.ok());
  F32 logits = randomF32({3, 4, 10}, 4, -30.0f, 30.0f), out(std::vector<int64_t>{});
  I32 pos({3}), yes({3}), no({3});
  int32_t p[] = {3, 0, 2}, y[] = {1, 9, 4}, n[] = {2, 0, 4};
  for (int i = 0; i < 3; ++i)
    pos[i] = p[i], yes[i] = y[i], no[i] = n[i];
  c.call("f", {logits.arg(), pos.arg(), yes.arg(), no.arg(), out.arg()});
  double sum = 0;
  for (int i = 0; i < 3; ++i) {
    double a = logits[(i * 4 + p[i]) * 10 + y[i]];
    double b = logits[(i * 4 + p[i]) * 10 + n[i]];
    double m = std::max(a, b);
    sum += -(a - (m + std::log(std::exp(a - m) + std::exp(b - m))));
  }
  expectClose(out, std::vector<double>{sum / 3}, 1e-5, 1e-6, "contrast");
}

} // namespace
