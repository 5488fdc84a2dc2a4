//===- Lowering.h - a checked .circ file to a circ module -------*- C++ -*-===//
//
// Builds the model of a checked RunSpec as a `circ` module through the
// builder API (circ/Builder/ModelBuilder.h). Every op is located at the .circ
// key that decided it: a layer's ops at `layers = ...`, AbsTopK at
// `activations = ...`, sparse parameters at `weights = ...`, and so on, as
// `loc("quote.circ":12:3)` (wrapped in the builder's op-name NameLoc). Keys
// left at their default point at the `model` block itself.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_LOWERING_H
#define CIRC_FRONTEND_LOWERING_H

#include "circ/Frontend/RunSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"

#include <cstdint>

namespace mlir::circ {

struct LoweringOptions {
  int64_t batch = 0;          ///< 0: dynamic batch dimension
  int64_t seqLen = 0;         ///< tokens per sequence; 0: the model's ctx
  bool withLoss = false;      ///< also build @loss(tokens, targets, params...)
  bool withMaskGates = false; ///< circ.mask_gate at every node location
};

/// The location of the model key `key` ("layers", "activations", ...; see
/// ModelBuildOptions::locationFor): where its value was written, where the
/// value it was derived from was written, or else the `model` keyword.
Location locationOfModelKey(MLIRContext &ctx,
                            const ::circ::frontend::RunSpec &spec,
                            const ::circ::frontend::SourceFile &source,
                            llvm::StringRef key);

/// Builds and verifies the module. Errors are emitted through `ctx` at the
/// .circ locations above (a SourceMgrDiagnosticHandler renders them against
/// the file) and yield failure.
FailureOr<OwningOpRef<ModuleOp>>
lowerToCirc(MLIRContext &ctx, const ::circ::frontend::RunSpec &spec,
            const ::circ::frontend::SourceFile &source,
            const LoweringOptions &options = {});

} // namespace mlir::circ

#endif // CIRC_FRONTEND_LOWERING_H
