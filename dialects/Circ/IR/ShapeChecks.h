//===- ShapeChecks.h - shape checks shared by the op verifiers --*- C++ -*-===//
//
// Private to the circ IR library: the shape helpers and messages both the
// forward ops (CircOps.cpp) and the gradient ops (CircGradOps.cpp) verify
// with, so the two report the same problem in the same words.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_DIALECTS_CIRC_IR_SHAPECHECKS_H
#define CIRC_DIALECTS_CIRC_IR_SHAPECHECKS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::circ {

inline RankedTensorType tensorType(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}

/// Static dimensions are compared; a dynamic one matches anything.
inline bool dimsMatch(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

inline std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      "x");
  os << "]";
  return s;
}

/// Checks that `v` has rank `rank` and reports `name` otherwise.
inline LogicalResult expectRank(Operation *op, Value v, int64_t rank,
                                StringRef name) {
  if (tensorType(v).getRank() == rank)
    return success();
  return op->emitOpError() << name << " must have rank " << rank
                           << ", got shape "
                           << shapeString(tensorType(v).getShape());
}

/// Checks that `v` is a vector of `width` entries (the per-channel operands:
/// gains, biases, thresholds, means).
inline LogicalResult expectVector(Operation *op, Value v, int64_t width,
                                  StringRef name, StringRef widthName) {
  if (failed(expectRank(op, v, 1, name)))
    return failure();
  int64_t n = tensorType(v).getDimSize(0);
  if (dimsMatch(n, width))
    return success();
  return op->emitOpError() << name << " has " << n << " entries but the "
                           << widthName << " is " << width;
}

/// Node-location layer indices count from 0 (a null attribute passes).
LogicalResult expectLayer(Operation *op, IntegerAttr layer);

/// The shapes of a projection `input · weightᵀ + bias` (circ.proj and
/// circ.fused_proj): weight [N, K], input [..., K], result [..., N], bias
/// [N] when non-null, weight dense or #circ.sparsity encoded.
LogicalResult verifyProjectionShapes(Operation *op, Value input, Value weight,
                                     Value bias, Value result);

} // namespace mlir::circ

#endif // CIRC_DIALECTS_CIRC_IR_SHAPECHECKS_H
