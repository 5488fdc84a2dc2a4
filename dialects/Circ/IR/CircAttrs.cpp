//===- CircAttrs.cpp - circ attributes --------------------------*- C++ -*-===//
#include "dialects/Circ/IR/CircAttrs.h"
#include "dialects/Circ/IR/CircDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::circ;

// Densities are written as plain decimals (`1.562500e-02`); APFloat storage
// keeps the attribute hashable and uniqued.
static ParseResult parseDensity(AsmParser &parser,
                                FailureOr<llvm::APFloat> &density) {
  double value;
  if (parser.parseFloat(value))
    return failure();
  density = llvm::APFloat(value);
  return success();
}

static void printDensity(AsmPrinter &printer, const llvm::APFloat &density) {
  printer << density.convertToDouble();
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
  return success();
}

void CircDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Circ/IR/CircAttrs.cpp.inc"
      >();
}
