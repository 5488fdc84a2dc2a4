//===- CircAttrs.cpp - circ attributes --------------------------*- C++ -*-===//
#include "dialects/Circ/IR/CircAttrs.h"
#include "dialects/Circ/IR/CircDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::circ;

// Densities are f64 decimals (`1.562500e-02`). printFloat falls back to the
// exact digits when six would not round-trip (1/3, 1/1000 of a budget...), so
// print → parse yields the same uniqued attribute. APFloat storage keeps the
// attribute hashable.
static ParseResult parseDensity(AsmParser &parser,
                                FailureOr<llvm::APFloat> &density) {
  // `density = 1` (a dense weight) reads naturally without a trailing dot.
  int64_t whole;
  OptionalParseResult integer = parser.parseOptionalInteger(whole);
  if (integer.has_value()) {
    if (failed(*integer))
      return failure();
    density = llvm::APFloat(static_cast<double>(whole));
    return success();
  }
  llvm::APFloat value(0.0);
  if (parser.parseFloat(llvm::APFloat::IEEEdouble(), value))
    return failure();
  density = value;
  return success();
}

static void printDensity(AsmPrinter &printer, const llvm::APFloat &density) {
  printer.printFloat(density);
}

#include "dialects/Circ/IR/CircEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Circ/IR/CircAttrs.cpp.inc"

LogicalResult
SparsityAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     llvm::APFloat densityValue, int64_t minPerUnit, UnitAxis axis,
                     SparseLayout layout) {
  double density = densityValue.convertToDouble();
  if (!(density > 0.0 && density <= 1.0))
    return emitError() << "#circ.sparsity density must be in (0, 1], got "
                       << density;
  if (minPerUnit < 0)
    return emitError() << "#circ.sparsity min_per_unit must be >= 0, got "
                       << minPerUnit;
  // The minimum-nonzeros rule is per unit (neuron or channel); embeddings
  // have no units, so a nonzero minimum there would be silently ignored.
  if (axis == UnitAxis::none && minPerUnit != 0)
    return emitError() << "#circ.sparsity min_per_unit must be 0 when axis = "
                          "none (no units to keep nonzeros for), got "
                       << minPerUnit;
  return success();
}

void CircDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Circ/IR/CircAttrs.cpp.inc"
      >();
}
