//===- SparsityAttrTest.cpp - #circ.sparsity construction -------*- C++ -*-===//
#include "dialects/Circ/IR/CircAttrs.h"
#include "dialects/Circ/IR/CircDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

TEST(SparsityAttr, RoundTripsThroughText) {
  MLIRContext ctx;
  ctx.loadDialect<CircDialect>();
  auto attr = SparsityAttr::get(&ctx, 1.0 / 64, 4, UnitAxis::rows,
                                SparseLayout::csr);
  std::string text;
  llvm::raw_string_ostream os(text);
  Attribute(attr).print(os);
  Attribute parsed = parseAttribute(text, &ctx);
  ASSERT_TRUE(parsed) << text;
  EXPECT_EQ(parsed, attr);
  EXPECT_DOUBLE_EQ(llvm::cast<SparsityAttr>(parsed).getDensityValue(), 1.0 / 64);
}

TEST(SparsityAttr, RejectsDensityOutsideUnitInterval) {
  MLIRContext ctx;
  ctx.loadDialect<CircDialect>();
  std::string message;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  Attribute attr = parseAttribute(
      "#circ.sparsity<density = 0.0, min_per_unit = 4, axis = rows, "
      "layout = csr>",
      &ctx);
  EXPECT_FALSE(attr);
  EXPECT_NE(message.find("density must be in (0, 1]"), std::string::npos)
      << message;
}

} // namespace
