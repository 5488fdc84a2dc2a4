//===- LoweringUtils.h - building blocks of the circ kernels ----*- C++ -*-===//
//
// What every op-family lowering in this folder (and the gradient lowerings
// that follow the same scheme) uses: a KernelBuilder that emits index, f32
// and vector arithmetic, scf loops and masked vector loops with little
// ceremony; buffer allocation for op results; the view of a sparse weight's
// expanded buffers; and the pattern base class carrying the options.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_LIB_CONVERSION_CIRCTOLOOPS_LOWERINGUTILS_H
#define CIRC_LIB_CONVERSION_CIRCTOLOOPS_LOWERINGUTILS_H

#include "circ/Conversion/CircToLoops.h"
#include "dialects/Circ/IR/CircOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::circ {

//===----------------------------------------------------------------------===//
// KernelBuilder
//===----------------------------------------------------------------------===//

/// An ImplicitLocOpBuilder with the vocabulary of the kernels. Arithmetic
/// helpers dispatch on the operand type (index / integer / f32 / vector of
/// f32), so one spelling serves scalar and vector code. Float ops carry the
/// `contract` fast-math flag (FMA formation), reductions `reassoc`.
/// Comparison predicates: ordered for floats, signed for integers.
enum class Cmp { lt, le, gt, ge, eq, ne };
/// Horizontal vector reductions.
enum class Reduce { add, max, min };

class KernelBuilder : public ImplicitLocOpBuilder {
public:
  KernelBuilder(Location loc, OpBuilder &builder, int64_t vectorWidth)
      : ImplicitLocOpBuilder(loc, builder), vectorWidth(vectorWidth) {}

  /// f32 lanes of the vectors of this kernel.
  int64_t vectorWidth;

  using BodyFn = function_ref<void(KernelBuilder &, Value)>;
  using ParallelBodyFn = function_ref<void(KernelBuilder &, ValueRange)>;
  using IterBodyFn =
      function_ref<SmallVector<Value>(KernelBuilder &, Value, ValueRange)>;
  /// Body of a vector loop: the induction variable (first element of the
  /// vector) and the lane mask, null in full iterations.
  using VectorBodyFn = function_ref<void(KernelBuilder &, Value, Value)>;
  using VectorIterBodyFn = function_ref<SmallVector<Value>(
      KernelBuilder &, Value, Value, ValueRange)>;

  // Constants.
  Value index(int64_t v);
  Value f32(double v);
  Value i32(int64_t v);
  Value i1(bool v);
  /// A vector of `lanes` copies of a scalar (or of a constant).
  Value splat(Value scalar, int64_t lanes);
  Value splat(double v, int64_t lanes);
  VectorType vecType(int64_t lanes, Type elt = {});

  // Arithmetic; `a` and `b` have the same type.
  Value add(Value a, Value b);
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  /// Unsigned division / remainder for indices and integers.
  Value div(Value a, Value b);
  Value rem(Value a, Value b);
  Value min(Value a, Value b);
  Value max(Value a, Value b);
  Value neg(Value a);
  /// a * b + c.
  Value fma(Value a, Value b, Value c);
  Value abs(Value a);
  Value exp(Value a);
  Value erf(Value a);
  Value sqrt(Value a);
  Value log(Value a);
  Value cmp(Cmp pred, Value a, Value b);
  Value select(Value cond, Value a, Value b);
  Value andi(Value a, Value b);
  Value ori(Value a, Value b);
  /// Horizontal reduction of a vector (reassociating).
  Value reduce(Reduce kind, Value vector);

  // Casts.
  Value toIndex(Value integer);
  Value toI32(Value index);
  Value toF32(Value integerOrIndex);
  /// Reinterprets f32 bits as i32 and back (scalars or vectors).
  Value bitsOf(Value f);
  Value floatOf(Value bits);

  // Memory.
  Value load(Value memref, ValueRange indices);
  void store(Value value, Value memref, ValueRange indices);
  /// Loads `lanes` contiguous elements along the last axis; with a mask,
  /// masked-off lanes read `passthru` (zero when null).
  Value vload(int64_t lanes, Value memref, ValueRange indices,
              Value mask = {}, Value passthru = {});
  void vstore(Value value, Value memref, ValueRange indices, Value mask = {});
  /// A dimension of a memref: a constant when static.
  Value dim(Value memref, int64_t axis);
  /// memref.alloc (or alloca on the stack), 64-byte aligned.
  Value alloc(MemRefType type, ValueRange dynamicSizes = {});
  Value stackAlloc(MemRefType type, ValueRange dynamicSizes = {});
  /// A view of rows [offset, offset + size) of a [rows, cols] memref.
  Value rows(Value memref2d, Value offset, Value size);

  // Control flow.
  void forLoop(Value lb, Value ub, Value step, BodyFn body);
  SmallVector<Value> forLoop(Value lb, Value ub, Value step, ValueRange inits,
                             IterBodyFn body);
  /// scf.parallel over the box [lbs, ubs) with `steps`.
  void parallelFor(ValueRange lbs, ValueRange ubs, ValueRange steps,
                   ParallelBodyFn body);
  void ifThen(Value cond, function_ref<void(KernelBuilder &)> thenBody);
  SmallVector<Value>
  ifThenElse(Value cond, TypeRange results,
             function_ref<SmallVector<Value>(KernelBuilder &)> thenBody,
             function_ref<SmallVector<Value>(KernelBuilder &)> elseBody);
  /// Iterates [0, n) in vectors of `vectorWidth` lanes: full vectors, then
  /// one masked tail iteration when n is not a multiple of the width.
  void vectorLoop(Value n, VectorBodyFn body);
  SmallVector<Value> vectorLoop(Value n, ValueRange inits,
                                VectorIterBodyFn body);
  /// The mask of the first `count` lanes.
  Value laneMask(Value count, int64_t lanes);
};

//===----------------------------------------------------------------------===//
// Math shared by forward and gradient kernels
//===----------------------------------------------------------------------===//

/// The standard normal CDF Φ(x) = erfc(−x/√2)/2 of an f32 scalar or vector,
/// with relative error below 1e-6 everywhere, the negative tail included
/// (no 1 + erf cancellation): erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2),
/// P the Chebyshev fit of Numerical Recipes' erfcc (fractional error
/// < 1.2e-7), with z² split exactly into hi + lo by an FMA.
Value emitNormalCdf(KernelBuilder &b, Value x);

/// Exact-form GELU, x·Φ(x).
Value emitGelu(KernelBuilder &b, Value x);

/// log Σ_v exp(logits[row, v]) of one row of a [rows, V] memref, shifted by
/// the row maximum so no exp overflows.
Value emitRowLogSumExp(KernelBuilder &b, Value logits, Value row);

//===----------------------------------------------------------------------===//
// Row kernels shared by ops and their fused forms (circ.fused_proj)
//===----------------------------------------------------------------------===//

/// Maps a value of column `col` (a vector with lane mask `mask`, null for
/// full vectors, or a scalar with a null mask) just before it is stored.
using RowFinishFn =
    function_ref<Value(KernelBuilder &, Value v, Value col, Value mask)>;

/// circ.mask_gate on the value(s) of column(s) `col`: tau[c] ≥ 0 ? v :
/// (mean[c], or 0 when `mean` is null). Scalar or vector like `v`.
Value emitMaskGate(KernelBuilder &b, Value v, Value tau, Value mean, Value col,
                   Value mask);

/// AbsTopK of one row: row `dstRow` of `dst` gets the k entries of largest
/// magnitude of row `srcRow` of `src` (both [rows, W] memrefs, ties to the
/// lower index) and zeros elsewhere, every stored value passed through
/// `finish` when given (Activation.cpp).
void emitAbsTopKRow(KernelBuilder &b, Value src, Value srcRow, Value dst,
                    Value dstRow, int64_t k, RowFinishFn finish = nullptr);

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

/// Allocates the buffer for an op's result of tensor type `type`; dynamic
/// dimensions are taken from the same axes of `shapeSource` (a memref whose
/// leading axes match the result's).
Value allocResult(KernelBuilder &b, RankedTensorType type, Value shapeSource);

/// The row-major view [rows, last] of an identity-layout memref of any rank
/// ≥ 1: all leading axes collapsed into one (rank 1 becomes [1, last]).
Value flattenToRows(KernelBuilder &b, Value memref);

/// Number of elements of a memref (product of its dimensions) as an index.
Value numElements(KernelBuilder &b, Value memref);

/// The expanded buffers of one weight (see CircTypeConverter): the dense
/// values always, plus the index of its layout.
struct WeightBuffers {
  SparseLayout layout = SparseLayout::dense;
  UnitAxis axis = UnitAxis::none;
  Value dense;
  // csr
  Value rowPtr, colIdx, values, colPtr, rowIdx, valuesT;
  // ell: [units, r] indices along the other axis and values.
  Value ellIdx, ellValues;

  /// Interprets the converted operands of a weight of type `type`.
  static WeightBuffers get(RankedTensorType type, ValueRange converted);
};

//===----------------------------------------------------------------------===//
// Pattern base
//===----------------------------------------------------------------------===//

/// Base of every circ-to-loops pattern: the op, the shared type converter
/// and the options. Patterns implement the 1:N `matchAndRewrite` so weight
/// operands arrive as their expanded buffers.
template <typename OpTy>
class CircLoweringPattern : public OpConversionPattern<OpTy> {
public:
  CircLoweringPattern(const TypeConverter &converter, MLIRContext *context,
                      const CircToLoopsOptions &options)
      : OpConversionPattern<OpTy>(converter, context), options(options) {}

protected:
  KernelBuilder kernelBuilder(OpTy op, OpBuilder &rewriter) const {
    return KernelBuilder(op.getLoc(), rewriter, options.vectorWidth);
  }
  /// The single converted value of a tensor operand.
  static Value single(ValueRange converted) {
    assert(converted.size() == 1 && "expected a 1:1 converted operand");
    return converted.front();
  }

  CircToLoopsOptions options;
};

//===----------------------------------------------------------------------===//
// Op families (one file each)
//===----------------------------------------------------------------------===//

void populateElementwiseLoweringPatterns(const TypeConverter &converter,
                                         RewritePatternSet &patterns,
                                         const CircToLoopsOptions &options);
void populateNormalizationLoweringPatterns(const TypeConverter &converter,
                                           RewritePatternSet &patterns,
                                           const CircToLoopsOptions &options);
void populateProjectionLoweringPatterns(const TypeConverter &converter,
                                        RewritePatternSet &patterns,
                                        const CircToLoopsOptions &options);
void populateActivationLoweringPatterns(const TypeConverter &converter,
                                        RewritePatternSet &patterns,
                                        const CircToLoopsOptions &options);
void populateFusedProjectionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options);
void populateAttentionLoweringPatterns(const TypeConverter &converter,
                                       RewritePatternSet &patterns,
                                       const CircToLoopsOptions &options);
void populateEmbeddingLoweringPatterns(const TypeConverter &converter,
                                       RewritePatternSet &patterns,
                                       const CircToLoopsOptions &options);
void populateLossLoweringPatterns(const TypeConverter &converter,
                                  RewritePatternSet &patterns,
                                  const CircToLoopsOptions &options);
/// Every gradient op family (Gradient*.cpp, registered in GradientUtils.cpp).
void populateGradientLoweringPatterns(const TypeConverter &converter,
                                      RewritePatternSet &patterns,
                                      const CircToLoopsOptions &options);

} // namespace mlir::circ

#endif // CIRC_LIB_CONVERSION_CIRCTOLOOPS_LOWERINGUTILS_H
