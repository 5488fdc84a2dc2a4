//===- ApproximateMath.cpp - polynomial math for the kernels ----*- C++ -*-===//
#include "circ/Pipelines/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCAPPROXIMATEMATH
#include "circ/Pipelines/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;

namespace {
struct CircApproximateMath
    : circ::impl::CircApproximateMathBase<CircApproximateMath> {
  void runOnOperation() override {
    static const StringRef approximated[] = {"exp",  "expm1", "erf",
                                             "log",  "log1p", "log2",
                                             "tanh"};
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      name.consume_front("math.");
      return llvm::is_contained(approximated, name);
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
