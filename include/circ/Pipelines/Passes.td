//===- Passes.td - passes of the circ lowering pipelines ---*- tablegen -*-===//
//
// Small passes the CPU pipeline needs that upstream does not offer as passes.
//
//===----------------------------------------------------------------------===//

#ifndef CIRC_PIPELINES_PASSES_TD
#define CIRC_PIPELINES_PASSES_TD

include "mlir/Pass/PassBase.td"

def CircApproximateMath : Pass<"circ-approximate-math"> {
  let summary = "Replace math.exp/erf/log/tanh on f32 by polynomial approximations";
  let description = [{
    Rewrites `math.exp`, `math.erf`, `math.log`, `math.log1p`, `math.tanh`
    (scalar and vector f32) into the polynomial approximations of MLIR's math
    dialect, so vector code stays vector code (LLVM would otherwise scalarise
    a vector `llvm.exp` into libm calls) and JIT-compiled or AOT objects need
    no libm symbol. The approximations are accurate to a few ulp (checked
    against double precision in the integration tests).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def CircEmitCInterface : Pass<"circ-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Mark every public function for a C-callable wrapper";
  let description = [{
    Sets `llvm.emit_c_interface` on every public `func.func` with a body, so
    `convert-func-to-llvm` emits `_mlir_ciface_<name>`, which takes each memref
    argument as a pointer to its descriptor. That wrapper is the entry point
    the JIT calls and that AOT objects export.
  }];
}

#endif // CIRC_PIPELINES_PASSES_TD
