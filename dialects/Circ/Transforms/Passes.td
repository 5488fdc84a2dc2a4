//===- Passes.td - circ dialect-local passes ---------------*- tablegen -*-===//
//
// Passes that rewrite `circ` operations in place. Organisation: one `def`
// per pass, one `.cpp` per pass named after it, one lit test named after the
// flag in test/Dialect/Circ/Transforms/.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_TD
#define CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

#endif // CIRC_DIALECTS_CIRC_TRANSFORMS_PASSES_TD
