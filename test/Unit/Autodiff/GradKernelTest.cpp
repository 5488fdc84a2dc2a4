//===- GradKernelTest.cpp - JIT runs of the gradient ops ------------------===//
//
// Every circ.*_grad op compiled alone with the full CPU pipeline and checked
// against central finite differences, in double precision, of the naive
// reference forward (test/Reference): the kernel's vector-Jacobian product
// with a random cotangent dy must equal d/dθ <dy, f(θ)>. Where the forward
// is linear in θ (lookups, the weight gradient of a large projection) a
// naive loop written here is the oracle. Shapes have vector tails, several
// tiles and dynamic batch sizes where the kernels branch on them.
//
//===----------------------------------------------------------------------===//

#include "../Codegen/CodegenTestUtils.h"
#include "Reference/Reference.h"

#include <functional>

using namespace circ::test;
namespace ref = circ::reference;
using Tensor = ref::Tensor;

namespace {

Tensor toDouble(const F32 &b) { return Tensor(b.data.begin(), b.data.end()); }

F32 toF32(const Tensor &t, std::vector<int64_t> shape) {
  F32 b(std::move(shape));
  for (size_t i = 0; i < t.size(); ++i)
    b.data[i] = static_cast<float>(t[i]);
  return b;
}

double dotProduct(const Tensor &a, const Tensor &b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    s += a[i] * b[i];
  return s;
}

/// d/dθ <dy, f(θ)> by central differences.
Tensor numericVjp(const std::function<Tensor(const Tensor &)> &f,
                  Tensor theta, const Tensor &dy, double h = 1e-5) {
  Tensor grad(theta.size());
  for (size_t i = 0; i < theta.size(); ++i) {
    double saved = theta[i];
    theta[i] = saved + h;
    double up = dotProduct(dy, f(theta));
    theta[i] = saved - h;
    double down = dotProduct(dy, f(theta));
    theta[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/// Keeps about a fraction `keep` of the entries and zeroes the rest (the
/// activation sparsity of an AbsTopK site, or a pruned weight).
void sparsify(F32 &b, double keep, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (float &v : b.data)
    if (u(gen) >= keep)
      v = 0.0f;
}

//===----------------------------------------------------------------------===//
// Activations and normalisation
//===----------------------------------------------------------------------===//

TEST(GradKernels, GeluGradMatchesDifferences) {
  Compiled c(R"(
    func.func @f(%dy: tensor<3x37xf32>, %x: tensor<3x37xf32>) -> tensor<3x37xf32> {
      %0 = circ.gelu_grad %dy, %x : tensor<3x37xf32>
      return %0 : tensor<3x37xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 dy = randomF32({3, 37}, 1), x = randomF32({3, 37}, 2, -4.0f, 4.0f),
      out({3, 37});
  c.call("f", {dy.arg(), x.arg(), out.arg()});
  Tensor expected = numericVjp(
      [](const Tensor &t) {
        Tensor y(t.size());
        for (size_t i = 0; i < t.size(); ++i)
          y[i] = ref::gelu(t[i]);
        return y;
      },
      toDouble(x), toDouble(dy));
  expectClose(out, expected, 1e-4, 1e-6, "dx");
}

TEST(GradKernels, AbsTopKGradRoutesToKeptEntries) {
  const int64_t rows = 6, width = 37, k = 9;
  Compiled c(R"(
    func.func @f(%dy: tensor<?x37xf32>, %y: tensor<?x37xf32>) -> tensor<?x37xf32> {
      %0 = circ.abs_topk_grad %dy, %y {k = 9 : i64} : tensor<?x37xf32>
      return %0 : tensor<?x37xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 x = randomF32({rows, width}, 3), dy = randomF32({rows, width}, 4);
  // Row 3 has 4 nonzeros (< k): the selection keeps them and the first five
  // exact zeros, which must receive the gradient too. Row 5 is all zeros.
  for (int64_t i = 0; i < width; ++i) {
    if (i % 9 != 1)
      x[3 * width + i] = 0.0f;
    x[5 * width + i] = 0.0f;
  }
  std::vector<char> kept;
  Tensor y = ref::absTopK(toDouble(x), rows, width, k, &kept);
  F32 yf = toF32(y, {rows, width}), out({rows, width});
  c.call("f", {dy.arg(), yf.arg(), out.arg()});
  Tensor expected(rows * width);
  for (int64_t i = 0; i < rows * width; ++i)
    expected[i] = kept[i] ? dy[i] : 0.0;
  expectClose(out, expected, 0, 0, "dx vs the reference's kept set");
  // Away from ties the kept set is locally constant: differences agree.
  Tensor fd = numericVjp(
      [&](const Tensor &t) { return ref::absTopK(t, rows, width, k); },
      toDouble(x), toDouble(dy), 1e-7);
  for (int64_t r : {0, 1, 2, 4})
    for (int64_t i = 0; i < width; ++i)
      EXPECT_NEAR(out[r * width + i], fd[r * width + i], 1e-6)
          << "row " << r << " col " << i;
}

/// Gate gradients for both ablations, at temperature 0.7, with tau exactly
/// 0 (kept) and negative (pruned) entries.
void checkMaskGate(bool meanAblation) {
  const int64_t rows = 10, width = 20;
  const double temperature = 0.7;
  std::string source =
      meanAblation ? R"(
    func.func @f(%dy: tensor<2x5x20xf32>, %x: tensor<2x5x20xf32>, %t: tensor<20xf32>, %m: tensor<20xf32>) -> (tensor<2x5x20xf32>, tensor<20xf32>, tensor<20xf32>) {
      %a, %b, %c = circ.mask_gate_grad %dy, %x, %t, %m {ablation = #circ.ablation<mean>, temperature = 0.7 : f64} : tensor<2x5x20xf32>, tensor<20xf32>, tensor<20xf32>
      return %a, %b, %c : tensor<2x5x20xf32>, tensor<20xf32>, tensor<20xf32>
    })"
                   : R"(
    func.func @f(%dy: tensor<2x5x20xf32>, %x: tensor<2x5x20xf32>, %t: tensor<20xf32>) -> (tensor<2x5x20xf32>, tensor<20xf32>) {
      %a, %b = circ.mask_gate_grad %dy, %x, %t {ablation = #circ.ablation<zero>, temperature = 0.7 : f64} : tensor<2x5x20xf32>, tensor<20xf32>
      return %a, %b : tensor<2x5x20xf32>, tensor<20xf32>
    })";
  Compiled c(source);
  ASSERT_TRUE(c.ok());
  F32 dy = randomF32({2, 5, 20}, 5), x = randomF32({2, 5, 20}, 6),
      tau = randomF32({20}, 7), mean = randomF32({20}, 8);
  tau[4] = 0.0f;
  if (!meanAblation)
    std::fill(mean.data.begin(), mean.data.end(), 0.0f);
  F32 dx({2, 5, 20}), dtau({20}), dmean({20});
  if (meanAblation)
    c.call("f", {dy.arg(), x.arg(), tau.arg(), mean.arg(), dx.arg(),
                 dtau.arg(), dmean.arg()});
  else
    c.call("f", {dy.arg(), x.arg(), tau.arg(), dx.arg(), dtau.arg()});

  ref::Gate gate{toDouble(tau), toDouble(mean), {}};
  Tensor dyD = toDouble(dy);
  expectClose(dx,
              numericVjp(
                  [&](const Tensor &t) {
                    return ref::applyGate(t, rows, width, gate);
                  },
                  toDouble(x), dyD),
              1e-5, 1e-7, "input grad");
  // dL/dm by differences on a relaxed mask at m = H(tau), times the
  // surrogate dm/dtau.
  Tensor mask(width);
  for (int64_t i = 0; i < width; ++i)
    mask[i] = gate.maskAt(i);
  Tensor dm = numericVjp(
      [&](const Tensor &m) {
        ref::Gate relaxed = gate;
        relaxed.relaxed = m;
        return ref::applyGate(toDouble(x), rows, width, relaxed);
      },
      mask, dyD);
  Tensor expectedTau(width);
  for (int64_t i = 0; i < width; ++i)
    expectedTau[i] = dm[i] * ref::gateSurrogate(tau[i], temperature);
  expectClose(dtau, expectedTau, 1e-5, 1e-7, "tau grad");
  if (meanAblation)
    expectClose(dmean,
                numericVjp(
                    [&](const Tensor &m) {
                      ref::Gate g = gate;
                      g.mean = m;
                      return ref::applyGate(toDouble(x), rows, width, g);
                    },
                    toDouble(mean), dyD),
                1e-5, 1e-7, "mean grad");
}

TEST(GradKernels, MaskGateGradMeanAblation) { checkMaskGate(true); }
TEST(GradKernels, MaskGateGradZeroAblation) { checkMaskGate(false); }

TEST(GradKernels, RMSNormGradMatchesDifferences) {
  const int64_t rows = 6, width = 37;
  Compiled c(R"(
    func.func @f(%dy: tensor<2x3x37xf32>, %x: tensor<2x3x37xf32>, %g: tensor<37xf32>) -> (tensor<2x3x37xf32>, tensor<37xf32>) {
      %a, %b = circ.rmsnorm_grad %dy, %x, %g : tensor<2x3x37xf32>, tensor<37xf32>
      return %a, %b : tensor<2x3x37xf32>, tensor<37xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 dy = randomF32({2, 3, 37}, 9), x = randomF32({2, 3, 37}, 10),
      gain = randomF32({37}, 11, 0.5f, 1.5f), dx({2, 3, 37}), dg({37});
  c.call("f", {dy.arg(), x.arg(), gain.arg(), dx.arg(), dg.arg()});
  Tensor gD = toDouble(gain), xD = toDouble(x), dyD = toDouble(dy);
  expectClose(dx,
              numericVjp(
                  [&](const Tensor &t) {
                    return ref::rmsNorm(t, rows, width, gD);
                  },
                  xD, dyD),
              1e-4, 1e-6, "input grad");
  expectClose(dg,
              numericVjp(
                  [&](const Tensor &t) {
                    return ref::rmsNorm(xD, rows, width, t);
                  },
                  gD, dyD),
              1e-4, 1e-6, "gain grad");
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// q, k, v (and sink) gradients of one attention shape.
void checkAttention(int64_t batch, int64_t seq, int64_t heads, int64_t dHead,
                    bool withSink) {
  const int64_t width = heads * dHead;
  std::string t = "tensor<?x" + std::to_string(seq) + "x" +
                  std::to_string(width) + "xf32>";
  std::string s = "tensor<" + std::to_string(heads) + "xf32>";
  std::string h = std::to_string(heads);
  std::string source =
      withSink
          ? "func.func @f(%dy: " + t + ", %q: " + t + ", %k: " + t +
                ", %v: " + t + ", %o: " + t + ", %s: " + s + ") -> (" + t +
                ", " + t + ", " + t + ", " + s + ") {\n" +
                "%a, %b, %c, %d = circ.attention_grad %dy, %q, %k, %v, %o, %s "
                "{num_heads = " + h + " : i64} : " + t + ", " + s + "\n" +
                "return %a, %b, %c, %d : " + t + ", " + t + ", " + t + ", " +
                s + "\n}"
          : "func.func @f(%dy: " + t + ", %q: " + t + ", %k: " + t +
                ", %v: " + t + ", %o: " + t + ") -> (" + t + ", " + t + ", " +
                t + ") {\n" +
                "%a, %b, %c = circ.attention_grad %dy, %q, %k, %v, %o "
                "{num_heads = " + h + " : i64} : " + t + "\n" +
                "return %a, %b, %c : " + t + ", " + t + ", " + t + "\n}";
  Compiled c(source);
  ASSERT_TRUE(c.ok());
  std::vector<int64_t> shape = {batch, seq, width};
  F32 dy = randomF32(shape, 12), q = randomF32(shape, 13, -1.5f, 1.5f),
      k = randomF32(shape, 14, -1.5f, 1.5f), v = randomF32(shape, 15),
      sink = randomF32({heads}, 16);
  Tensor qD = toDouble(q), kD = toDouble(k), vD = toDouble(v),
         sinkD = withSink ? toDouble(sink) : Tensor(), dyD = toDouble(dy);
  auto attend = [&](const Tensor &q, const Tensor &k, const Tensor &v,
                    const Tensor &sk) {
    return ref::attention(q, k, v, batch, seq, heads, dHead, sk);
  };
  F32 o = toF32(attend(qD, kD, vD, sinkD), shape);
  F32 dq(shape), dk(shape), dv(shape), ds({heads});
  std::vector<mlir::circ::BufferArg> args = {dy.arg(), q.arg(), k.arg(),
                                             v.arg(),  o.arg()};
  if (withSink)
    args.push_back(sink.arg());
  for (F32 *out : {&dq, &dk, &dv})
    args.push_back(out->arg());
  if (withSink)
    args.push_back(ds.arg());
  c.call("f", args);
  expectClose(dq,
              numericVjp([&](const Tensor &t) { return attend(t, kD, vD, sinkD); },
                         qD, dyD),
              1e-4, 2e-6, "dq");
  expectClose(dk,
              numericVjp([&](const Tensor &t) { return attend(qD, t, vD, sinkD); },
                         kD, dyD),
              1e-4, 2e-6, "dk");
  expectClose(dv,
              numericVjp([&](const Tensor &t) { return attend(qD, kD, t, sinkD); },
                         vD, dyD),
              1e-4, 2e-6, "dv");
  if (withSink)
    expectClose(ds,
                numericVjp([&](const Tensor &t) { return attend(qD, kD, vD, t); },
                           sinkD, dyD),
                1e-4, 2e-6, "dsink");
}

TEST(GradKernels, AttentionGradWithSink) { checkAttention(2, 9, 2, 16, true); }
TEST(GradKernels, AttentionGradWithoutSink) {
  checkAttention(2, 8, 2, 16, false);
}
TEST(GradKernels, AttentionGradNarrowHeadsOddLength) {
  checkAttention(1, 7, 3, 8, true);
}
TEST(GradKernels, AttentionGradWideHeads) { checkAttention(1, 5, 1, 40, true); }

//===----------------------------------------------------------------------===//
// Lookups
//===----------------------------------------------------------------------===//

TEST(GradKernels, EmbedGradScatterAddsRowsAndSkipsBadIds) {
  const int64_t tokens = 12, vocab = 7, width = 37;
  Compiled c(R"(
    func.func @f(%dy: tensor<3x4x37xf32>, %ids: tensor<3x4xi32>) -> tensor<7x37xf32> {
      %0 = circ.embed_grad %dy, %ids : tensor<3x4x37xf32>, tensor<3x4xi32> -> tensor<7x37xf32>
      return %0 : tensor<7x37xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 dy = randomF32({3, 4, width}, 17), out({vocab, width});
  I32 ids({3, 4});
  ids.data = {0, 3, 3, 6, -1, 3, 7, 0, 2, 2, 3, 6}; // -1 and 7: not tokens
  c.call("f", {dy.arg(), ids.arg(), out.arg()});
  Tensor expected(vocab * width, 0.0);
  for (int64_t n = 0; n < tokens; ++n)
    if (ids[n] >= 0 && ids[n] < vocab)
      for (int64_t i = 0; i < width; ++i)
        expected[ids[n] * width + i] += dy[n * width + i];
  expectClose(out, expected, 1e-6, 1e-7, "table grad");
}

TEST(GradKernels, AddPositionsGradSumsOverBatch) {
  Compiled c(R"(
    func.func @f(%dy: tensor<?x5x18xf32>) -> tensor<9x18xf32> {
      %0 = circ.add_positions_grad %dy : tensor<?x5x18xf32> -> tensor<9x18xf32>
      return %0 : tensor<9x18xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 dy = randomF32({3, 5, 18}, 18), out({9, 18});
  std::fill(out.data.begin(), out.data.end(), 7.0f); // must be overwritten
  c.call("f", {dy.arg(), out.arg()});
  Tensor expected(9 * 18, 0.0);
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t t = 0; t < 5; ++t)
      for (int64_t i = 0; i < 18; ++i)
        expected[t * 18 + i] += dy[(b * 5 + t) * 18 + i];
  expectClose(out, expected, 1e-6, 1e-7, "table grad");
}

//===----------------------------------------------------------------------===//
// Projections
//===----------------------------------------------------------------------===//

/// A weight [out, in] with about `density` of its entries nonzero, and the
/// buffers of its layout in the calling convention's order.
struct SparseWeight {
  F32 dense;
  std::vector<F32> f32Buffers;
  std::vector<I32> i32Buffers;
  std::vector<mlir::circ::BufferArg> args;

  SparseWeight(int64_t out, int64_t in, double density, uint32_t seed,
               const std::string &layout) {
    dense = randomF32({out, in}, seed);
    sparsify(dense, density, seed + 1);
    args.push_back(dense.arg());
    if (layout == "csr") {
      I32 rowPtr({out + 1}), colPtr({in + 1});
      std::vector<int32_t> colIdx, rowIdx;
      std::vector<float> values, valuesT;
      for (int64_t n = 0; n < out; ++n) {
        rowPtr[n] = static_cast<int32_t>(colIdx.size());
        for (int64_t k = 0; k < in; ++k)
          if (dense[n * in + k] != 0.0f) {
            colIdx.push_back(k);
            values.push_back(dense[n * in + k]);
          }
      }
      rowPtr[out] = static_cast<int32_t>(colIdx.size());
      for (int64_t k = 0; k < in; ++k) {
        colPtr[k] = static_cast<int32_t>(rowIdx.size());
        for (int64_t n = 0; n < out; ++n)
          if (dense[n * in + k] != 0.0f) {
            rowIdx.push_back(n);
            valuesT.push_back(dense[n * in + k]);
          }
      }
      colPtr[in] = static_cast<int32_t>(rowIdx.size());
      int64_t nnz = static_cast<int64_t>(colIdx.size());
      i32Buffers = {rowPtr, I32({nnz}), colPtr, I32({nnz})};
      i32Buffers[1].data = colIdx;
      i32Buffers[3].data = rowIdx;
      f32Buffers = {F32({nnz}), F32({nnz})};
      f32Buffers[0].data = values;
      f32Buffers[1].data = valuesT;
      args.insert(args.end(),
                  {i32Buffers[0].arg(), i32Buffers[1].arg(),
                   f32Buffers[0].arg(), i32Buffers[2].arg(),
                   i32Buffers[3].arg(), f32Buffers[1].arg()});
    } else if (layout == "ell_rows" || layout == "ell_cols") {
      bool rows = layout == "ell_rows";
      int64_t units = rows ? out : in, span = rows ? in : out, r = 1;
      auto at = [&](int64_t u, int64_t j) {
        return rows ? dense[u * in + j] : dense[j * in + u];
      };
      for (int64_t u = 0; u < units; ++u) {
        int64_t count = 0;
        for (int64_t j = 0; j < span; ++j)
          count += at(u, j) != 0.0f;
        r = std::max(r, count);
      }
      // Padding: value 0 at index 0 (any in-range index).
      I32 idx({units, r});
      F32 val({units, r});
      for (int64_t u = 0; u < units; ++u) {
        int64_t e = 0;
        for (int64_t j = 0; j < span; ++j)
          if (at(u, j) != 0.0f) {
            idx[u * r + e] = static_cast<int32_t>(j);
            val[u * r + e] = at(u, j);
            ++e;
          }
      }
      i32Buffers = {idx};
      f32Buffers = {val};
      args.insert(args.end(), {i32Buffers[0].arg(), f32Buffers[0].arg()});
    }
  }
};

/// proj_grad_input with each weight layout, against differences of the
/// reference projection; the gradient rows are AbsTopK-sparse.
void checkGradInput(const std::string &layout, const std::string &encoding) {
  const int64_t rows = 6, out = 21, in = 37;
  std::string w = "tensor<21x37xf32" + encoding + ">";
  Compiled c("func.func @f(%dy: tensor<2x3x21xf32>, %w: " + w +
             ") -> tensor<2x3x37xf32> {\n"
             "%0 = circ.proj_grad_input %dy, %w : tensor<2x3x21xf32>, " +
             w + " -> tensor<2x3x37xf32>\n"
             "return %0 : tensor<2x3x37xf32>\n}");
  ASSERT_TRUE(c.ok());
  SparseWeight weight(out, in, 0.3, 19, layout);
  F32 dy = randomF32({2, 3, out}, 21), dx({2, 3, in});
  sparsify(dy, 0.25, 22);
  std::vector<mlir::circ::BufferArg> args = {dy.arg()};
  args.insert(args.end(), weight.args.begin(), weight.args.end());
  args.push_back(dx.arg());
  c.call("f", args);
  Tensor wD = toDouble(weight.dense);
  expectClose(dx,
              numericVjp(
                  [&](const Tensor &t) {
                    return ref::linear(t, rows, wD, out, in, {});
                  },
                  toDouble(randomF32({2, 3, in}, 23)), toDouble(dy)),
              1e-5, 1e-6, "dx (" + layout + ")");
}

TEST(GradKernels, ProjGradInputDense) { checkGradInput("dense", ""); }
TEST(GradKernels, ProjGradInputCsr) {
  checkGradInput("csr", ", #circ.sparsity<density = 3.0e-01, min_per_unit = "
                        "0, axis = none, layout = csr>");
}
TEST(GradKernels, ProjGradInputEllRows) {
  checkGradInput("ell_rows", ", #circ.sparsity<density = 3.0e-01, "
                             "min_per_unit = 1, axis = rows, layout = ell>");
}
TEST(GradKernels, ProjGradInputEllCols) {
  checkGradInput("ell_cols", ", #circ.sparsity<density = 3.0e-01, "
                             "min_per_unit = 1, axis = cols, layout = ell>");
}

/// proj_grad_weight and proj_grad_bias, small enough for differences of
/// the reference, with and without the sparse-input path.
void checkGradWeightSmall(bool sparseInput) {
  const int64_t rows = 6, out = 21, in = 37;
  std::string attrs = sparseInput ? "{sparse_grad, sparse_input}" : "";
  Compiled c("func.func @f(%dy: tensor<2x3x21xf32>, %x: tensor<2x3x37xf32>) "
             "-> (tensor<21x37xf32>, tensor<21xf32>) {\n"
             "%0 = circ.proj_grad_weight %dy, %x " +
             attrs +
             " : tensor<2x3x21xf32>, tensor<2x3x37xf32> -> tensor<21x37xf32>\n"
             "%1 = circ.proj_grad_bias %dy : tensor<2x3x21xf32> -> "
             "tensor<21xf32>\n"
             "return %0, %1 : tensor<21x37xf32>, tensor<21xf32>\n}");
  ASSERT_TRUE(c.ok());
  F32 dy = randomF32({2, 3, out}, 24), x = randomF32({2, 3, in}, 25),
      dw({out, in}), db({out});
  sparsify(dy, 0.25, 26);
  if (sparseInput)
    sparsify(x, 0.25, 27);
  c.call("f", {dy.arg(), x.arg(), dw.arg(), db.arg()});
  Tensor xD = toDouble(x), dyD = toDouble(dy);
  Tensor w0 = toDouble(randomF32({out, in}, 28)),
         b0 = toDouble(randomF32({out}, 29));
  expectClose(dw,
              numericVjp(
                  [&](const Tensor &t) {
                    return ref::linear(xD, rows, t, out, in, b0);
                  },
                  w0, dyD),
              1e-5, 1e-6, "dW");
  expectClose(db,
              numericVjp(
                  [&](const Tensor &t) {
                    return ref::linear(xD, rows, w0, out, in, t);
                  },
                  b0, dyD),
              1e-5, 1e-6, "db");
}

TEST(GradKernels, ProjGradWeightAndBias) { checkGradWeightSmall(false); }
TEST(GradKernels, ProjGradWeightSparseInput) { checkGradWeightSmall(true); }

/// Several output tiles in both directions (partial last tiles), a dynamic
/// token count and both paths, against a naive dYᵀX.
void checkGradWeightTiled(bool sparseInput) {
  const int64_t tokens = 13, out = 300, in = 150;
  std::string attrs = sparseInput ? "{sparse_input}" : "";
  Compiled c("func.func @f(%dy: tensor<?x300xf32>, %x: tensor<?x150xf32>) "
             "-> tensor<300x150xf32> {\n"
             "%0 = circ.proj_grad_weight %dy, %x " +
             attrs +
             " : tensor<?x300xf32>, tensor<?x150xf32> -> tensor<300x150xf32>\n"
             "return %0 : tensor<300x150xf32>\n}");
  ASSERT_TRUE(c.ok());
  F32 dy = randomF32({tokens, out}, 30), x = randomF32({tokens, in}, 31),
      dw({out, in});
  sparsify(dy, 0.25, 32);
  sparsify(x, sparseInput ? 0.25 : 1.0, 33);
  c.call("f", {dy.arg(), x.arg(), dw.arg()});
  Tensor expected(out * in, 0.0);
  for (int64_t r = 0; r < tokens; ++r)
    for (int64_t n = 0; n < out; ++n)
      for (int64_t k = 0; k < in; ++k)
        expected[n * in + k] += double(dy[r * out + n]) * x[r * in + k];
  expectClose(dw, expected, 1e-5, 1e-6, "dW");
}

TEST(GradKernels, ProjGradWeightTiledDense) { checkGradWeightTiled(false); }
TEST(GradKernels, ProjGradWeightTiledSparseInput) {
  checkGradWeightTiled(true);
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

TEST(GradKernels, NextTokenLossGradIgnoresMissingTargets) {
  const int64_t batch = 2, seq = 5, vocab = 33;
  Compiled c(R"(
    func.func @f(%g: tensor<f32>, %l: tensor<2x5x33xf32>, %t: tensor<2x5xi32>) -> tensor<2x5x33xf32> {
      %0 = circ.next_token_loss_grad %g, %l, %t : tensor<2x5x33xf32>, tensor<2x5xi32>
      return %0 : tensor<2x5x33xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 logits = randomF32({batch, seq, vocab}, 34, -3.0f, 3.0f),
      out({batch, seq, vocab}), g({});
  g.data = {1.7f};
  I32 targets({batch, seq});
  targets.data = {4, 0, 32, 7, -1, 11, 11, 3, 20, -1};
  c.call("f", {g.arg(), logits.arg(), targets.arg(), out.arg()});
  std::vector<int64_t> t(targets.data.begin(), targets.data.end());
  Tensor expected = numericVjp(
      [&](const Tensor &l) {
        return Tensor{1.7 * ref::crossEntropy(l, vocab, t, nullptr)};
      },
      toDouble(logits), {1.0});
  expectClose(out, expected, 1e-4, 1e-7, "dlogits");
}

TEST(GradKernels, ContrastLossGradTouchesOnlyCandidates) {
  const int64_t batch = 3, seq = 6, vocab = 10;
  Compiled c(R"(
    func.func @f(%g: tensor<f32>, %l: tensor<3x6x10xf32>, %p: tensor<3xi32>, %c: tensor<3xi32>, %w: tensor<3xi32>) -> tensor<3x6x10xf32> {
      %0 = circ.contrast_loss_grad %g, %l, %p, %c, %w : tensor<3x6x10xf32>, tensor<3xi32>
      return %0 : tensor<3x6x10xf32>
    })");
  ASSERT_TRUE(c.ok());
  F32 logits = randomF32({batch, seq, vocab}, 35, -3.0f, 3.0f),
      out({batch, seq, vocab}), g({});
  g.data = {0.8f};
  I32 pos({3}), correct({3}), wrong({3});
  pos.data = {2, 5, 0};
  correct.data = {3, 0, 4};
  wrong.data = {7, 9, 4}; // the last prompt compares a token with itself
  c.call("f", {g.arg(), logits.arg(), pos.arg(), correct.arg(), wrong.arg(),
               out.arg()});
  std::vector<ref::ContrastPrompt> prompts;
  for (int64_t b = 0; b < batch; ++b)
    prompts.push_back({b, pos[b], correct[b], wrong[b]});
  Tensor expected = numericVjp(
      [&](const Tensor &l) {
        return Tensor{0.8 * ref::contrastLoss(l, seq, vocab, prompts, nullptr)};
      },
      toDouble(logits), {1.0});
  expectClose(out, expected, 1e-4, 1e-7, "dlogits");
}

} // namespace
