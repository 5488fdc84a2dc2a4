//===- Lowering.cpp - a checked .circ file to a circ module -----*- C++ -*-===//
#include "circ/Frontend/Lowering.h"

#include "circ/Builder/ModelBuilder.h"

using namespace mlir;
using namespace mlir::circ;
namespace fe = ::circ::frontend;

static Location fileLoc(MLIRContext &ctx, const fe::SourceFile &source,
                        uint32_t offset) {
  fe::LineCol lc = source.lineCol(offset);
  return FileLineColLoc::get(&ctx, source.path(), lc.line, lc.col);
}

Location mlir::circ::locationOfModelKey(MLIRContext &ctx,
                                        const fe::RunSpec &spec,
                                        const fe::SourceFile &source,
                                        llvm::StringRef key) {
  fe::Origin origin = spec.model.originOf(key);
  if (origin.kind == fe::Origin::Kind::Written)
    return fileLoc(ctx, source, origin.range.begin);
  // A derived value (d_mlp = 4 × d_model) points at what it came from.
  const fe::ModelSpec &m = spec.model;
  const fe::Origin *derived = nullptr;
  if (key == "d_head")
    derived = &m.dHead;
  else if (key == "d_mlp")
    derived = &m.dMlp;
  else if (key == "vocab")
    derived = &m.vocab;
  else if (key == "embeddings")
    derived = &m.embedDensity;
  if (derived && derived->kind == fe::Origin::Kind::Derived &&
      !derived->range.empty())
    return fileLoc(ctx, source, derived->range.begin);
  return fileLoc(ctx, source, m.range.begin);
}

FailureOr<OwningOpRef<ModuleOp>>
mlir::circ::lowerToCirc(MLIRContext &ctx, const fe::RunSpec &spec,
                        const fe::SourceFile &source,
                        const LoweringOptions &options) {
  ModelBuildOptions build;
  build.batch = options.batch;
  build.seqLen = options.seqLen;
  build.withLoss = options.withLoss;
  build.withMaskGates = options.withMaskGates;
  build.locationFor = [&](llvm::StringRef key) {
    return locationOfModelKey(ctx, spec, source, key);
  };
  return buildModel(ctx, spec.model.config, build);
}
