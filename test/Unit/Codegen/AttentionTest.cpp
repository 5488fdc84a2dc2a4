//===- AttentionTest.cpp - JIT runs of causal attention --------------------===//
//
// circ.attention against the textbook formula in double precision: per head,
// a_ij = exp(s_ij) / (exp(sink_h) + Σ_{j'≤i} exp(s_ij')) with
// s_ij = q_i·k_j / sqrt(d_head), output Σ_j a_ij v_j; no sink term without a
// sink operand.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtils.h"

#include <cmath>

using namespace circ::test;

namespace {

std::vector<double> naiveAttention(const F32 &q, const F32 &k, const F32 &v,
                                   const F32 *sink, int64_t batch, int64_t seq,
                                   int64_t heads, int64_t dh) {
  int64_t width = heads * dh;
  std::vector<double> out(batch * seq * width, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < seq; ++i) {
        std::vector<double> s(i + 1);
        double mx = sink ? (*sink)[h] : -INFINITY;
        for (int64_t j = 0; j <= i; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < dh; ++c)
            dot += double(q[(b * seq + i) * width + h * dh + c]) *
                   k[(b * seq + j) * width + h * dh + c];
          s[j] = dot / std::sqrt(double(dh));
          mx = std::max(mx, s[j]);
        }
        double z = sink ? std::exp((*sink)[h] - mx) : 0.0;
        for (int64_t j = 0; j <= i; ++j)
          z += std::exp(s[j] - mx);
        for (int64_t j = 0; j <= i; ++j) {
          double a = std::exp(s[j] - mx) / z;
          for (int64_t c = 0; c < dh; ++c)
            out[(b * seq + i) * width + h * dh + c] +=
                a * v[(b * seq + j) * width + h * dh + c];
        }
      }
  return out;
}

void checkAttention(int64_t batch, int64_t seq, int64_t heads, int64_t dh,
                    bool withSink, uint32_t seed) {
  std::string t = "tensor<" + std::to_string(batch) + "x" +
                  std::to_string(seq) + "x" + std::to_string(heads * dh) +
                  "xf32>";
  std::string st = "tensor<" + std::to_string(heads) + "xf32>";
  std::string src =
      "func.func @f(%q: " + t + ", %k: " + t + ", %v: " + t +
      (withSink ? ", %s: " + st : "") + ") -> " + t +
      " {\n  %0 = circ.attention %q, %k, %v" + (withSink ? ", %s" : "") +
      " {num_heads = " + std::to_string(heads) + " : i64} : " + t +
      (withSink ? ", " + st : "") + "\n  return %0 : " + t + "\n}";
  Compiled c(src);
  ASSERT_TRUE(c.ok()) << src;
  std::vector<int64_t> shape = {batch, seq, heads * dh};
  F32 q = randomF32(shape, seed, -2, 2), k = randomF32(shape, seed + 1, -2, 2),
      v = randomF32(shape, seed + 2), sink = randomF32({heads}, seed + 3, -1, 3),
      out(shape);
  std::vector<mlir::circ::BufferArg> args = {q.arg(), k.arg(), v.arg()};
  if (withSink)
    args.push_back(sink.arg());
  args.push_back(out.arg());
  c.call("f", args);
  expectClose(out,
              naiveAttention(q, k, v, withSink ? &sink : nullptr, batch, seq,
                             heads, dh),
              2e-5, 2e-6, "attention");
}

TEST(Attention, CausalSoftmax) { checkAttention(2, 9, 2, 16, false, 1); }
TEST(Attention, SinkTakesItsShare) { checkAttention(2, 9, 2, 16, true, 5); }
TEST(Attention, HeadDimWithVectorTail) { checkAttention(1, 12, 3, 8, true, 9); }
TEST(Attention, ManyHeadsLongerContext) {
  checkAttention(1, 64, 8, 16, false, 13);
}

} // namespace
