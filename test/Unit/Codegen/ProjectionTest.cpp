//===- ProjectionTest.cpp - JIT runs of circ.proj on every layout ---------===//
//
// y = x·Wᵀ + b against a double-precision loop, for dense, CSR, ELL by rows
// and ELL by columns, on widths and token counts that are not multiples of
// the vector width or the tile, and with several tile sizes and thread modes.
//
//===----------------------------------------------------------------------===//

#include "CodegenTestUtils.h"

#include <sstream>

using namespace circ::test;

namespace {

struct ProjCase {
  int64_t batch, seq, in, out;
  double density;
  std::string layout, axis;
  bool bias;
  int64_t tileTokens;
  bool parallel;
};

std::string weightType(const ProjCase &c) {
  std::ostringstream os;
  os << "tensor<" << c.out << "x" << c.in << "xf32";
  if (c.layout != "none")
    os << ", #circ.sparsity<density = " << c.density
       << ", min_per_unit = 4, axis = " << c.axis << ", layout = " << c.layout
       << ">";
  os << ">";
  return os.str();
}

void runProj(const ProjCase &c, uint32_t seed) {
  std::ostringstream src;
  std::string x = "tensor<" + std::to_string(c.batch) + "x" +
                  std::to_string(c.seq) + "x" + std::to_string(c.in) + "xf32>";
  std::string y = "tensor<" + std::to_string(c.batch) + "x" +
                  std::to_string(c.seq) + "x" + std::to_string(c.out) + "xf32>";
  std::string b = "tensor<" + std::to_string(c.out) + "xf32>";
  src << "func.func @f(%x: " << x << ", %w: " << weightType(c);
  if (c.bias)
    src << ", %b: " << b;
  src << ") -> " << y << " {\n  %0 = circ.proj %x, %w" << (c.bias ? ", %b" : "")
      << " : " << x << ", " << weightType(c) << (c.bias ? ", " + b : "")
      << " -> " << y << "\n  return %0 : " << y << "\n}\n";
  Compiled compiled(src.str(), c.parallel, 16, c.tileTokens);
  ASSERT_TRUE(compiled.ok()) << src.str();

  F32 input = randomF32({c.batch, c.seq, c.in}, seed);
  SparseWeight w(randomSparse(c.out, c.in, c.density, 4, c.axis == "rows",
                              seed + 1));
  F32 bias = randomF32({c.out}, seed + 2), out({c.batch, c.seq, c.out});
  std::vector<mlir::circ::BufferArg> args = {input.arg()};
  for (auto &a : w.args(c.layout, c.axis))
    args.push_back(a);
  if (c.bias)
    args.push_back(bias.arg());
  args.push_back(out.arg());
  compiled.call("f", args);

  int64_t tokens = c.batch * c.seq;
  std::vector<double> expected(tokens * c.out);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t n = 0; n < c.out; ++n) {
      double s = c.bias ? bias[n] : 0.0;
      for (int64_t k = 0; k < c.in; ++k)
        s += double(input[t * c.in + k]) * w.dense[n * c.in + k];
      expected[t * c.out + n] = s;
    }
  expectClose(out, expected, 1e-5, 1e-5, "proj " + c.layout + "/" + c.axis);
}

TEST(Projection, DenseOddShapes) {
  runProj({2, 7, 37, 21, 1.0, "none", "rows", true, 0, true}, 11);
}

TEST(Projection, DenseLayoutEncoding) {
  runProj({1, 33, 48, 16, 1.0, "dense", "rows", false, 0, false}, 12);
}

TEST(Projection, CsrRows) {
  runProj({3, 11, 64, 40, 0.1, "csr", "rows", true, 0, true}, 13);
}

TEST(Projection, CsrColsTinyDensity) {
  runProj({2, 19, 100, 30, 0.001, "csr", "cols", true, 16, true}, 14);
}

TEST(Projection, EllRows) {
  runProj({2, 9, 50, 33, 0.05, "ell", "rows", true, 32, true}, 15);
}

TEST(Projection, EllCols) {
  runProj({4, 13, 45, 29, 0.05, "ell", "cols", false, 64, true}, 16);
}

TEST(Projection, EllColsSequential) {
  runProj({1, 70, 32, 80, 0.2, "ell", "cols", true, 0, false}, 17);
}

} // namespace
