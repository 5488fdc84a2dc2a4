//===- CircToLoops.h - circ ops to scf.parallel loop nests ------*- C++ -*-===//
//
// The lowering of circ ops (and of their gradient ops) from tensors to
// memrefs and explicit loop nests. The pass `convert-circ-to-loops` applies
// every pattern; a new op family adds one file in lib/Conversion/CircToLoops/
// and registers its patterns from `populateCircToLoopsPatterns`.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_CONVERSION_CIRCTOLOOPS_H
#define CIRC_CONVERSION_CIRCTOLOOPS_H

#include "dialects/Circ/IR/CircAttrs.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::circ {

#define GEN_PASS_DECL_CONVERTCIRCTOLOOPS
#include "circ/Conversion/Passes.h.inc"

/// Knobs shared by every kernel.
struct CircToLoopsOptions {
  /// f32 lanes of the vectors the kernels use.
  int64_t vectorWidth = 16;
  /// Tokens per tile of the projection kernels; 0 picks a tile from the
  /// feature widths so that a tile's scratch stays in L2.
  int64_t tileTokens = 0;
};

/// Tensors become identity-layout memrefs of the same shape. A tensor whose
/// encoding is `#circ.sparsity<..., layout = L>` (a weight) expands into the
/// buffers of layout L, in this order (U = units along `axis`):
///
/// | layout | buffers |
/// |---|---|
/// | dense | dense values [N, K] f32 |
/// | csr | dense [N, K] f32, row_ptr [N+1] i32, col_idx [nnz] i32, values [nnz] f32, col_ptr [K+1] i32, row_idx [nnz] i32, values_t [nnz] f32 |
/// | ell | dense [N, K] f32, ell_idx [U, r] i32, ell_values [U, r] f32 |
///
/// `bsr` has no CPU kernel and is rejected by the pass with a diagnostic.
class CircTypeConverter : public TypeConverter {
public:
  CircTypeConverter();
};

/// The names (the `circ.buffer` argument attribute) of the buffers a weight
/// of the given layout expands into, in argument order.
ArrayRef<StringRef> weightBufferNames(SparseLayout layout);

/// Checks that every op and function in `root` can be lowered (supported
/// layouts, static feature widths); emits an error at the offending op
/// otherwise.
LogicalResult verifyLoweringPreconditions(Operation *root);

/// Every circ op lowering plus the function-signature conversion.
void populateCircToLoopsPatterns(const TypeConverter &converter,
                                 RewritePatternSet &patterns,
                                 const CircToLoopsOptions &options);

/// What is legal after the conversion: no circ op, no tensor-typed value.
void configureCircToLoopsTarget(ConversionTarget &target,
                                const TypeConverter &converter);

} // namespace mlir::circ

#endif // CIRC_CONVERSION_CIRCTOLOOPS_H
