//===- ModelConfigAttr.cpp - model config checks and IR form ----*- C++ -*-===//
//
// Validation of a ModelConfig against what the builder needs, its
// `circ.model` dictionary form and back, and the IR types of parameters.
//
//===----------------------------------------------------------------------===//

#include "circ/Builder/ModelBuilder.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"

#include <limits>

using namespace mlir;
using namespace mlir::circ;

//===----------------------------------------------------------------------===//
// Node locations
//===----------------------------------------------------------------------===//

// The runtime enum and the dialect enum list the eight sites in the same
// order (both follow the paper's `afrac_loctypes`).
NodeLocation mlir::circ::toSite(::circ::NodeLocation loc) {
  return static_cast<NodeLocation>(static_cast<int>(loc));
}

::circ::NodeLocation mlir::circ::fromSite(NodeLocation site) {
  return static_cast<::circ::NodeLocation>(static_cast<int>(site));
}

std::vector<MaskGateParam>
mlir::circ::maskGateParameters(const ::circ::ModelConfig &config) {
  std::vector<MaskGateParam> gates;
  for (int64_t l = 0; l < config.nLayer; ++l) {
    for (int s = 0; s < ::circ::kNumNodeLocations; ++s) {
      auto site = static_cast<::circ::NodeLocation>(s);
      std::string prefix =
          "h." + std::to_string(l) + "." + ::circ::nodeLocationName(site);
      gates.push_back(
          {prefix + ".tau", prefix + ".mean", l, site, config.siteWidth(site)});
    }
  }
  return gates;
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

Location ModelBuildOptions::locate(MLIRContext *ctx, StringRef key) const {
  if (locationFor)
    return locationFor(key);
  return NameLoc::get(StringAttr::get(ctx, key));
}

/// ModelConfig::validate() starts every message with the setting it is
/// about; this maps that setting to its diagnostic key.
static StringRef keyOfMessage(StringRef message) {
  static const std::pair<StringRef, StringRef> prefixes[] = {
      {"layers", "layers"},
      {"d_model", "d_model"},
      {"d_head", "d_head"},
      {"d_mlp", "d_mlp"},
      {"ctx", "ctx"},
      {"vocab", "vocab"},
      {"activation", "activations"},
      {"weight", "weights"},
      {"min_per_unit", "min_per_unit"},
      {"embedding", "embeddings"}};
  for (auto [prefix, key] : prefixes)
    if (message.starts_with(prefix))
      return key;
  return "model";
}

LogicalResult mlir::circ::verifyModelConfig(MLIRContext &ctx,
                                            const ::circ::ModelConfig &config,
                                            const ModelBuildOptions &options) {
  bool ok = true;
  auto error = [&](StringRef key) {
    ok = false;
    return emitError(options.locate(&ctx, key));
  };
  std::vector<std::string> problems = config.validate();
  for (const std::string &message : problems)
    error(keyOfMessage(message)) << message;
  if (config.vocab > std::numeric_limits<int32_t>::max())
    error("vocab") << "vocab (" << config.vocab
                   << ") exceeds the range of the i32 token ids";
  if (options.batch < 0)
    error("batch") << "batch must be >= 0 (0 = dynamic), got " << options.batch;
  if (options.seqLen < 0)
    error("seq_len") << "seq_len must be >= 0 (0 = ctx), got "
                     << options.seqLen;
  else if (config.ctx > 0 && options.seqLen > config.ctx)
    error("seq_len") << "seq_len (" << options.seqLen
                     << ") exceeds the context length ctx (" << config.ctx
                     << ")";
  if (options.funcName.empty())
    error("function") << "the model function needs a name";
  else if (options.withLoss && options.funcName == "loss")
    error("function") << "function name 'loss' is taken by the loss function "
                         "(withLoss); choose another";
  return success(ok);
}

//===----------------------------------------------------------------------===//
// circ.model
//===----------------------------------------------------------------------===//

DictionaryAttr
mlir::circ::getModelConfigAttr(MLIRContext *ctx,
                               const ::circ::ModelConfig &config) {
  ctx->getOrLoadDialect<CircDialect>();
  Builder b(ctx);
  SmallVector<Attribute> sites;
  for (int s = 0; s < ::circ::kNumNodeLocations; ++s) {
    auto site = static_cast<::circ::NodeLocation>(s);
    if (::circ::contains(config.abstopkSites, site))
      sites.push_back(NodeLocationAttr::get(ctx, toSite(site)));
  }
  NamedAttrList attrs;
  attrs.append("layers", b.getI64IntegerAttr(config.nLayer));
  attrs.append("d_model", b.getI64IntegerAttr(config.dModel));
  attrs.append("d_head", b.getI64IntegerAttr(config.dHead));
  attrs.append("d_mlp", b.getI64IntegerAttr(config.dMlp));
  attrs.append("ctx", b.getI64IntegerAttr(config.ctx));
  attrs.append("vocab", b.getI64IntegerAttr(config.vocab));
  attrs.append("activation_fraction",
               b.getF64FloatAttr(config.activationFraction));
  attrs.append("abstopk_sites", b.getArrayAttr(sites));
  attrs.append("weight_density", b.getF64FloatAttr(config.weightDensity));
  attrs.append("embed_density", b.getF64FloatAttr(config.embedDensity));
  attrs.append("min_per_unit", b.getI64IntegerAttr(config.minPerUnit));
  attrs.append("attention_sink", b.getBoolAttr(config.attentionSink));
  attrs.append("bigram_table", b.getBoolAttr(config.bigramTable));
  attrs.append("positional_table", b.getBoolAttr(config.positionalTable));
  return attrs.getDictionary(ctx);
}

FailureOr<::circ::ModelConfig> mlir::circ::readModelConfig(ModuleOp module) {
  auto dict =
      module->getAttrOfType<DictionaryAttr>(CircDialect::kModelAttrName);
  if (!dict)
    return module.emitError()
           << "module has no '" << CircDialect::kModelAttrName
           << "' dictionary; it was not built from a model config";
  bool ok = true;
  auto fail = [&](StringRef key, StringRef what) {
    ok = false;
    module.emitError() << "'" << CircDialect::kModelAttrName << "' needs '"
                       << key << "' as " << what;
  };
  auto readInt = [&](StringRef key, int64_t &out) {
    if (auto attr = dict.getAs<IntegerAttr>(key))
      out = attr.getInt();
    else
      fail(key, "an integer");
  };
  auto readFloat = [&](StringRef key, double &out) {
    if (auto attr = dict.getAs<FloatAttr>(key))
      out = attr.getValueAsDouble();
    else
      fail(key, "a float");
  };
  auto readBool = [&](StringRef key, bool &out) {
    if (auto attr = dict.getAs<BoolAttr>(key))
      out = attr.getValue();
    else
      fail(key, "a bool");
  };
  ::circ::ModelConfig config;
  readInt("layers", config.nLayer);
  readInt("d_model", config.dModel);
  readInt("d_head", config.dHead);
  readInt("d_mlp", config.dMlp);
  readInt("ctx", config.ctx);
  readInt("vocab", config.vocab);
  readFloat("activation_fraction", config.activationFraction);
  readFloat("weight_density", config.weightDensity);
  readFloat("embed_density", config.embedDensity);
  readInt("min_per_unit", config.minPerUnit);
  readBool("attention_sink", config.attentionSink);
  readBool("bigram_table", config.bigramTable);
  readBool("positional_table", config.positionalTable);
  config.abstopkSites = 0;
  auto sites = dict.getAs<ArrayAttr>("abstopk_sites");
  if (!sites)
    fail("abstopk_sites", "an array of #circ.site");
  for (Attribute a : sites ? sites.getValue() : ArrayRef<Attribute>()) {
    auto site = llvm::dyn_cast<NodeLocationAttr>(a);
    if (!site) {
      fail("abstopk_sites", "an array of #circ.site");
      break;
    }
    config.abstopkSites |= 1u << static_cast<unsigned>(site.getValue());
  }
  if (!ok)
    return failure();
  std::vector<std::string> problems = config.validate();
  for (const std::string &message : problems)
    module.emitError() << "'" << CircDialect::kModelAttrName
                       << "' describes an invalid model: " << message;
  if (!problems.empty())
    return failure();
  return config;
}

//===----------------------------------------------------------------------===//
// Parameter types
//===----------------------------------------------------------------------===//

SparsityAttr mlir::circ::getParamSparsity(MLIRContext *ctx,
                                          const ::circ::ModelConfig &config,
                                          const ::circ::ParamSpec &param) {
  if (!param.isSparse())
    return {};
  // Embeddings anneal to their own budget (paper §2.1); wpe counts as one of
  // the "other 2-D parameters" on the block-matrix budget. The minimum per
  // unit applies only to block matrices, which are the ones with a unit axis.
  bool embedding = param.kind == ::circ::ParamKind::TokenEmbedding ||
                   param.kind == ::circ::ParamKind::Unembedding;
  double density = embedding ? config.embedDensity : config.weightDensity;
  if (density >= 1.0)
    return {};
  UnitAxis axis = UnitAxis::none;
  if (param.unitAxis == ::circ::UnitAxis::Rows)
    axis = UnitAxis::rows;
  else if (param.unitAxis == ::circ::UnitAxis::Cols)
    axis = UnitAxis::cols;
  int64_t minPerUnit = axis == UnitAxis::none ? 0 : config.minPerUnit;
  return SparsityAttr::get(ctx, density, minPerUnit, axis, SparseLayout::csr);
}

RankedTensorType mlir::circ::getParamType(MLIRContext *ctx,
                                          const ::circ::ModelConfig &config,
                                          const ::circ::ParamSpec &param) {
  return RankedTensorType::get(param.shape, Float32Type::get(ctx),
                               getParamSparsity(ctx, config, param));
}
