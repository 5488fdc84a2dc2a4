//===- FusedProjectionTest.cpp - JIT runs of circ.fused_proj --------------===//
//
// The fused kernel against two oracles, on every weight layout, widths and
// token counts that are not multiples of the vector width or the tile:
//
//  * the unfused ops it replaces (circ.proj → circ.gelu → circ.abs_topk →
//    circ.mask_gate, each its own kernel), compiled from the same weights:
//    without a folded scale the fused kernel computes the same
//    pre-activations in the same order, so the outputs must be identical
//    bit for bit, ties included;
//  * a double-precision loop over the reference's single ops (linear with
//    W·diag(scale), gelu, absTopK, applyGate). Rows whose k-th and
//    (k+1)-th magnitudes are closer than f32 rounding can separate are
//    skipped (a handful; the test asserts it); integer-valued cases have
//    exact pre-activations and so exact selections, ties included.
//
//===----------------------------------------------------------------------===//

#include "../Codegen/CodegenTestUtils.h"
#include "Reference/Reference.h"

#include <algorithm>
#include <cstring>
#include <sstream>

using namespace circ::test;
namespace ref = circ::reference;

namespace {

struct FusedCase {
  const char *name;
  int64_t batch, seq, in, out;
  std::string layout, axis; ///< layout "none": a dense weight type
  double density;
  bool bias, scale, gelu;
  int64_t k;     ///< 0: no AbsTopK
  int gate;      ///< 0: none, 1: zero ablation, 2: mean ablation
  bool integers; ///< small integer values: exact sums and many ties
  int64_t tileTokens;
  bool parallel;
};

std::string tensorType(std::vector<int64_t> shape,
                       const std::string &encoding = "") {
  std::ostringstream os;
  os << "tensor<";
  for (int64_t d : shape)
    os << d << "x";
  os << "f32" << encoding << ">";
  return os.str();
}

std::string weightType(const FusedCase &c) {
  std::string encoding;
  if (c.layout != "none") {
    std::ostringstream os;
    os << ", #circ.sparsity<density = " << c.density
       << ", min_per_unit = 4, axis = " << c.axis << ", layout = " << c.layout
       << ">";
    encoding = os.str();
  }
  return tensorType({c.out, c.in}, encoding);
}

/// @f(x, w, b, g, tau, mean): every operand is always an argument so both
/// forms share one calling convention.
std::string source(const FusedCase &c, bool fused) {
  std::string x = tensorType({c.batch, c.seq, c.in}),
              y = tensorType({c.batch, c.seq, c.out}), w = weightType(c),
              n = tensorType({c.out}), g = tensorType({c.in});
  std::ostringstream s;
  s << "func.func @f(%x: " << x << ", %w: " << w << ", %b: " << n
    << ", %g: " << g << ", %tau: " << n << ", %mu: " << n << ") -> " << y
    << " {\n";
  if (fused) {
    s << "  %r = circ.fused_proj %x, %w";
    if (c.bias)
      s << " bias(%b : " << n << ")";
    if (c.scale)
      s << " scale(%g : " << g << ")";
    if (c.gate)
      s << " gate(%tau : " << n << ")";
    if (c.gate == 2)
      s << " mean(%mu : " << n << ")";
    std::vector<std::string> attrs;
    if (c.gelu)
      attrs.push_back("gelu");
    if (c.k)
      attrs.push_back("k = " + std::to_string(c.k) + " : i64");
    if (!attrs.empty()) {
      s << " {";
      for (size_t i = 0; i < attrs.size(); ++i)
        s << (i ? ", " : "") << attrs[i];
      s << "}";
    }
    s << " : " << x << ", " << w << " -> " << y << "\n";
  } else {
    s << "  %p = circ.proj %x, %w" << (c.bias ? ", %b" : "") << " : " << x
      << ", " << w << (c.bias ? ", " + n : "") << " -> " << y << "\n";
    std::string last = "%p";
    if (c.gelu) {
      s << "  %h = circ.gelu " << last << " : " << y << "\n";
      last = "%h";
    }
    if (c.k) {
      s << "  %a = circ.abs_topk " << last << " {k = " << c.k
        << " : i64} : " << y << "\n";
      last = "%a";
    }
    if (c.gate) {
      s << "  %m = circ.mask_gate " << last << ", %tau"
        << (c.gate == 2 ? ", %mu" : "") << " {ablation = #circ.ablation<"
        << (c.gate == 2 ? "mean" : "zero") << ">} : " << y << ", " << n
        << (c.gate == 2 ? ", " + n : "") << "\n";
      last = "%m";
    }
    s << "  return " << last << " : " << y << "\n}\n";
    return s.str();
  }
  s << "  return %r : " << y << "\n}\n";
  return s.str();
}

/// A JIT-compiled module without the circ-level rewrites, so the unfused
/// chain stays unfused.
class Module {
public:
  explicit Module(const std::string &src, const FusedCase &c) {
    mlir::DialectRegistry registry;
    mlir::circ::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    module = mlir::parseSourceString<mlir::ModuleOp>(src, &context);
    if (!module)
      return;
    mlir::circ::CPUPipelineOptions options;
    options.optimize = false;
    options.parallel = c.parallel;
    options.tileTokens = c.tileTokens;
    auto compiled = mlir::circ::JITModule::compile(*module, options);
    if (mlir::succeeded(compiled))
      jit = std::move(*compiled);
  }
  bool ok() const { return jit != nullptr; }
  void call(std::vector<mlir::circ::BufferArg> args) {
    std::string error;
    ASSERT_TRUE(mlir::succeeded(jit->call("f", args, error))) << error;
  }

private:
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<mlir::circ::JITModule> jit;
};

F32 values(std::vector<int64_t> shape, uint32_t seed, bool integers,
           float lo = -1.0f, float hi = 1.0f) {
  F32 b = randomF32(std::move(shape), seed, lo, hi);
  if (integers)
    for (float &v : b.data)
      v = std::round(v * 2.0f); // {-2, ..., 2}
  return b;
}

void runCase(const FusedCase &c) {
  Module fused(source(c, true), c), unfused(source(c, false), c);
  ASSERT_TRUE(fused.ok()) << source(c, true);
  ASSERT_TRUE(unfused.ok()) << source(c, false);

  uint32_t seed = static_cast<uint32_t>(std::hash<std::string>()(c.name));
  F32 x = values({c.batch, c.seq, c.in}, seed, c.integers);
  F32 dense = randomSparse(c.out, c.in, c.layout == "none" ? 1.0 : c.density, 4,
                           c.axis == "rows", seed + 1);
  if (c.integers)
    for (float &v : dense.data)
      v = v == 0.0f ? 0.0f
                    : std::max(1.0f, std::round(std::fabs(v) * 2.0f)) *
                          (v < 0 ? -1.0f : 1.0f);
  SparseWeight w(dense);
  F32 bias = values({c.out}, seed + 2, c.integers);
  // Scales away from zero, so the folded product is well conditioned.
  F32 gain = values({c.in}, seed + 3, false, 0.5f, 1.5f);
  F32 tau = randomF32({c.out}, seed + 4), mean = randomF32({c.out}, seed + 5);

  auto run = [&](Module &m) {
    F32 out({c.batch, c.seq, c.out});
    std::vector<mlir::circ::BufferArg> args = {x.arg()};
    for (auto &a : w.args(c.layout == "none" ? "dense" : c.layout, c.axis))
      args.push_back(a);
    for (F32 *b : {&bias, &gain, &tau, &mean})
      args.push_back(b->arg());
    args.push_back(out.arg());
    m.call(args);
    return out;
  };
  F32 got = run(fused);

  if (!c.scale) {
    F32 want = run(unfused);
    ASSERT_EQ(got.size(), want.size());
    int reported = 0;
    for (int64_t i = 0; i < got.size(); ++i)
      if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && reported++ < 8)
        ADD_FAILURE() << c.name << ": fused[" << i << "] = " << got[i]
                      << ", unfused " << want[i];
  }

  // The double oracle.
  int64_t rows = c.batch * c.seq;
  ref::Tensor xs(x.data.begin(), x.data.end()), ws(c.out * c.in);
  for (int64_t n = 0; n < c.out; ++n)
    for (int64_t k = 0; k < c.in; ++k)
      ws[n * c.in + k] =
          double(dense[n * c.in + k]) * (c.scale ? double(gain[k]) : 1.0);
  ref::Tensor b =
      c.bias ? ref::Tensor(bias.data.begin(), bias.data.end()) : ref::Tensor();
  ref::Tensor z = ref::linear(xs, rows, ws, c.out, c.in, b);
  if (c.gelu)
    for (double &v : z)
      v = ref::gelu(v);
  std::vector<char> decided(rows, 1);
  if (c.k) {
    // Rows whose selection f32 cannot decide: the k-th and (k+1)-th
    // magnitudes closer than a few ulps of the row's scale.
    for (int64_t r = 0; r < rows && c.k < c.out; ++r) {
      std::vector<double> mags;
      for (int64_t n = 0; n < c.out; ++n)
        mags.push_back(std::fabs(z[r * c.out + n]));
      std::sort(mags.rbegin(), mags.rend());
      double gap = mags[c.k - 1] - mags[c.k];
      if (gap != 0.0 && gap < 1e-5 * (mags[0] + 1.0))
        decided[r] = 0;
    }
    z = ref::absTopK(z, rows, c.out, c.k);
  }
  if (c.gate) {
    ref::Gate g;
    g.tau.assign(tau.data.begin(), tau.data.end());
    g.mean.assign(c.out, 0.0);
    if (c.gate == 2)
      g.mean.assign(mean.data.begin(), mean.data.end());
    z = ref::applyGate(z, rows, c.out, g);
  }
  int64_t skipped = 0, reported = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (!decided[r]) {
      ++skipped;
      continue;
    }
    for (int64_t n = 0; n < c.out; ++n) {
      double e = z[r * c.out + n], a = got[r * c.out + n];
      if (!(std::fabs(a - e) <= 1e-5 * std::fabs(e) + 1e-5) && reported++ < 8)
        ADD_FAILURE() << c.name << ": row " << r << " feature " << n << " = "
                      << a << ", oracle " << e;
    }
  }
  EXPECT_LE(skipped, rows / 20 + 1) << c.name;
}

void PrintTo(const FusedCase &c, std::ostream *os) { *os << c.name; }

class FusedProjectionTest : public ::testing::TestWithParam<FusedCase> {};

TEST_P(FusedProjectionTest, MatchesUnfusedAndOracle) { runCase(GetParam()); }

// name, batch, seq, in, out, layout, axis, density, bias, scale, gelu, k,
// gate, integers, tileTokens, parallel
const FusedCase kCases[] = {
    // Every epilogue at once on each layout; 3·37 tokens cross tile edges.
    {"dense_all", 3, 37, 40, 72, "none", "rows", 1.0, true, false, true, 18, 2,
     false, 0, true},
    {"csr_all", 3, 37, 40, 72, "csr", "rows", 0.2, true, false, true, 18, 2,
     false, 0, true},
    {"ell_rows_all", 3, 37, 40, 72, "ell", "rows", 0.2, true, false, true, 18,
     2, false, 0, true},
    {"ell_cols_all", 3, 37, 40, 72, "ell", "cols", 0.2, true, false, true, 18,
     2, false, 0, true},
    // Each epilogue step alone, and a gate without AbsTopK (decided per
    // feature on the feature-major tile).
    {"topk_only", 2, 21, 33, 50, "csr", "rows", 0.3, false, false, false, 12, 0,
     false, 16, true},
    {"gelu_only", 2, 21, 33, 50, "csr", "rows", 0.3, true, false, true, 0, 0,
     false, 16, false},
    {"gate_zero_only", 2, 21, 33, 50, "ell", "cols", 0.3, true, false, false, 0,
     1, false, 0, true},
    {"gelu_gate_mean", 1, 70, 24, 40, "none", "rows", 1.0, false, false, true,
     0, 2, false, 32, true},
    // Ties: integer values make many equal magnitudes; index order decides,
    // in the vector keep pass and the scalar tie scan, through the gate.
    {"ties_csr", 2, 29, 20, 48, "csr", "rows", 0.25, true, false, false, 11, 2,
     true, 0, true},
    {"ties_dense_k1", 1, 17, 12, 33, "none", "rows", 1.0, false, false, false,
     1, 1, true, 16, false},
    {"k_equals_width", 1, 9, 16, 20, "csr", "rows", 0.5, true, false, false, 20,
     2, false, 0, true},
    // The folded RMSNorm gain (scale) on every layout, with and without an
    // epilogue (oracle only: the folded product rounds differently).
    {"scale_dense", 2, 19, 40, 36, "none", "rows", 1.0, true, true, false, 0, 0,
     false, 0, true},
    {"scale_csr_all", 2, 19, 40, 36, "csr", "rows", 0.25, true, true, true, 9,
     2, false, 0, true},
    {"scale_ell_rows", 2, 19, 40, 36, "ell", "rows", 0.25, false, true, false,
     9, 0, false, 0, true},
    {"scale_ell_cols", 2, 19, 40, 36, "ell", "cols", 0.25, true, true, false, 0,
     1, false, 0, true},
};

INSTANTIATE_TEST_SUITE_P(Fusion, FusedProjectionTest,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<FusedCase> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
