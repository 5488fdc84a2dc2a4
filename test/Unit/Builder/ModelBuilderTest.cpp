//===- ModelBuilderTest.cpp - the C++ builder API ---------------*- C++ -*-===//
//
// Builds models of several shapes and checks them against expectations
// computed here from the config alone (argument names and shapes, op counts,
// encodings, dataflow), round-trips them through text, and checks that bad
// configurations are rejected with their messages at the right location.
//
//===----------------------------------------------------------------------===//

#include "circ/Builder/ModelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringMap.h"
#include "gtest/gtest.h"

#include <tuple>

using namespace mlir;
using namespace mlir::circ;
using ::circ::ModelConfig;
using Site = ::circ::NodeLocation;

namespace {

/// Collects every diagnostic as "<key>: <message>", where the key is the
/// ModelBuildOptions key whose location the diagnostic points at.
struct DiagnosticLog {
  explicit DiagnosticLog(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          std::string key = "?";
          if (auto file = llvm::dyn_cast<FileLineColLoc>(d.getLocation()))
            key = file.getFilename().str();
          messages.push_back(key + ": " + d.str());
          return success();
        }) {}

  bool contains(llvm::StringRef text) const {
    for (const std::string &m : messages)
      if (llvm::StringRef(m).contains(text))
        return true;
    return false;
  }

  std::string all() const {
    std::string s;
    for (const std::string &m : messages)
      s += m + "\n";
    return s;
  }

  std::vector<std::string> messages;
  ScopedDiagnosticHandler handler;
};

/// Options whose locations spell the key as a file name, so a test can tell
/// where a diagnostic points.
ModelBuildOptions keyedOptions(MLIRContext &ctx) {
  ModelBuildOptions options;
  options.locationFor = [&ctx](llvm::StringRef key) -> Location {
    return FileLineColLoc::get(&ctx, key, 1, 1);
  };
  return options;
}

ModelConfig smallConfig() {
  ModelConfig c;
  c.nLayer = 2;
  c.dModel = 32;
  c.dHead = 8;
  c.dMlp = 64;
  c.ctx = 16;
  c.vocab = 40;
  return c;
}

llvm::StringMap<int> countOps(func::FuncOp fn) {
  llvm::StringMap<int> counts;
  fn.walk([&](Operation *op) { ++counts[op->getName().getStringRef()]; });
  return counts;
}

llvm::StringRef paramName(func::FuncOp fn, unsigned arg) {
  auto name = fn.getArgAttrOfType<StringAttr>(arg, CircDialect::kParamAttrName);
  return name ? name.getValue() : llvm::StringRef();
}

/// The sparsity the config asks for, spelled out per parameter kind
/// (paper §2.1): matrices at the weight density with the minimum along their
/// unit axis; wte/lm_head at the embedding density; wpe at the weight
/// density without units; everything else dense.
struct ExpectedSparsity {
  bool sparse;
  double density;
  int64_t minPerUnit;
  UnitAxis axis;
};

ExpectedSparsity expectedSparsity(const ModelConfig &c,
                                  const ::circ::ParamSpec &p) {
  switch (p.kind) {
  case ::circ::ParamKind::Matrix:
    return {c.weightDensity < 1.0, c.weightDensity, c.minPerUnit,
            p.unitAxis == ::circ::UnitAxis::Rows ? UnitAxis::rows
                                                 : UnitAxis::cols};
  case ::circ::ParamKind::PositionalTable:
    return {c.weightDensity < 1.0, c.weightDensity, 0, UnitAxis::none};
  case ::circ::ParamKind::TokenEmbedding:
  case ::circ::ParamKind::Unembedding:
    return {c.embedDensity < 1.0, c.embedDensity, 0, UnitAxis::none};
  default:
    return {false, 1.0, 0, UnitAxis::none};
  }
}

/// Width of the channels at a node location: H·dh = d_model for q/k/v,
/// d_mlp for the MLP neurons, d_model for the residual reads and writes.
int64_t expectedSiteWidth(const ModelConfig &c, Site site) {
  return site == Site::MlpNeuron ? c.dMlp : c.dModel;
}

//===----------------------------------------------------------------------===//
// Models of several shapes
//===----------------------------------------------------------------------===//

using Shape = std::tuple<int /*layers*/, bool /*sink*/, bool /*bigram*/,
                         bool /*positional*/, bool /*gates*/, bool /*sparse*/>;

class ModelShapes : public ::testing::TestWithParam<Shape> {
protected:
  ModelConfig config() const {
    auto [layers, sink, bigram, positional, gates, sparse] = GetParam();
    ModelConfig c = smallConfig();
    c.nLayer = layers;
    c.attentionSink = sink;
    c.bigramTable = bigram;
    c.positionalTable = positional;
    if (sparse) {
      c.weightDensity = 1.0 / 16;
      c.embedDensity = 0.25;
    }
    return c;
  }
  bool gates() const { return std::get<4>(GetParam()); }
};

TEST_P(ModelShapes, BuildsVerifiedModelWithExpectedSignatureAndOps) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ModelConfig c = config();
  ModelBuildOptions options;
  options.withMaskGates = gates();
  options.withLoss = true;
  auto module = buildModel(ctx, c, options);
  ASSERT_TRUE(succeeded(module)) << log.all();
  ASSERT_TRUE(succeeded(verify(**module)));
  auto fn = (*module)->lookupSymbol<func::FuncOp>("forward");
  ASSERT_TRUE(fn);

  // Arguments: tokens, every parameter in order, then the gates.
  std::vector<::circ::ParamSpec> params = ::circ::modelParameters(c);
  size_t gateArgs = gates() ? 2 * 8 * c.nLayer : 0;
  ASSERT_EQ(fn.getNumArguments(), 1 + params.size() + gateArgs);
  auto tokens = llvm::cast<RankedTensorType>(fn.getArgumentTypes()[0]);
  EXPECT_TRUE(tokens.isDynamicDim(0));
  EXPECT_EQ(tokens.getDimSize(1), c.ctx);
  EXPECT_TRUE(tokens.getElementType().isInteger(32));
  for (auto [i, p] : llvm::enumerate(params)) {
    unsigned arg = 1 + i;
    EXPECT_EQ(paramName(fn, arg), p.name);
    auto type = llvm::cast<RankedTensorType>(fn.getArgumentTypes()[arg]);
    EXPECT_EQ(
        std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
        p.shape)
        << p.name;
    ExpectedSparsity want = expectedSparsity(c, p);
    auto got = llvm::dyn_cast_or_null<SparsityAttr>(type.getEncoding());
    ASSERT_EQ(bool(got), want.sparse) << p.name;
    if (got) {
      EXPECT_DOUBLE_EQ(got.getDensityValue(), want.density) << p.name;
      EXPECT_EQ(got.getMinPerUnit(), want.minPerUnit) << p.name;
      EXPECT_EQ(got.getAxis(), want.axis) << p.name;
      EXPECT_EQ(got.getLayout(), SparseLayout::csr) << p.name;
    }
  }
  unsigned arg = 1 + params.size();
  for (int64_t l = 0; gates() && l < c.nLayer; ++l) {
    for (int s = 0; s < 8; ++s) {
      auto site = static_cast<Site>(s);
      std::string prefix =
          "h." + std::to_string(l) + "." + ::circ::nodeLocationName(site);
      for (const char *suffix : {".tau", ".mean"}) {
        EXPECT_EQ(paramName(fn, arg), prefix + suffix);
        auto type = llvm::cast<RankedTensorType>(fn.getArgumentTypes()[arg]);
        EXPECT_EQ(type.getShape(),
                  llvm::ArrayRef<int64_t>{expectedSiteWidth(c, site)});
        ++arg;
      }
    }
  }

  // Result: logits [?, ctx, vocab].
  ASSERT_EQ(fn.getNumResults(), 1u);
  auto logits = llvm::cast<RankedTensorType>(fn.getResultTypes()[0]);
  EXPECT_TRUE(logits.isDynamicDim(0));
  EXPECT_EQ(logits.getShape().drop_front(),
            (llvm::ArrayRef<int64_t>{c.ctx, c.vocab}));

  // Op counts per kind, from the paper's dataflow.
  llvm::StringMap<int> n = countOps(fn);
  int64_t L = c.nLayer;
  EXPECT_EQ(n["circ.embed"], 1);
  EXPECT_EQ(n["circ.add_positions"], c.positionalTable ? 1 : 0);
  EXPECT_EQ(n["circ.rmsnorm"], 2 * L + 1);
  EXPECT_EQ(n["circ.proj"], 4 * L + 1);
  EXPECT_EQ(n["circ.abs_topk"], 8 * L);
  EXPECT_EQ(n["circ.gelu"], L);
  EXPECT_EQ(n["circ.attention"], L);
  EXPECT_EQ(n["circ.residual_add"], 2 * L);
  EXPECT_EQ(n["tensor.extract_slice"], 3 * L);
  EXPECT_EQ(n["circ.mask_gate"], gates() ? 8 * L : 0);
  EXPECT_EQ(n["circ.bigram"], c.bigramTable ? 1 : 0);
  EXPECT_EQ(n["arith.addf"], c.bigramTable ? 1 : 0);
  EXPECT_EQ(n["circ.next_token_loss"], 0);
  fn.walk([&](AttentionOp op) {
    EXPECT_EQ(bool(op.getSink()), c.attentionSink);
    EXPECT_EQ(op.getNumHeads(), c.dModel / c.dHead);
  });
  // Every node location carries its site, layer and k = floor(0.25·width).
  fn.walk([&](AbsTopKOp op) {
    ASSERT_TRUE(op.getSite() && op.getLayer());
    Site site = fromSite(*op.getSite());
    EXPECT_EQ(op.getWidth(), expectedSiteWidth(c, site));
    EXPECT_EQ(op.getEffectiveK(), op.getWidth() / 4);
    EXPECT_LT(static_cast<int64_t>(*op.getLayer()), L);
  });

  // The loss function: tokens, targets, the same parameters; one loss.
  auto loss = (*module)->lookupSymbol<func::FuncOp>("loss");
  ASSERT_TRUE(loss);
  EXPECT_EQ(loss.getNumArguments(), fn.getNumArguments() + 1);
  EXPECT_EQ(loss.getArgumentTypes()[1], fn.getArgumentTypes()[0]);
  EXPECT_EQ(paramName(loss, 2), "wte.weight");
  ASSERT_EQ(loss.getNumResults(), 1u);
  EXPECT_EQ(loss.getResultTypes()[0],
            RankedTensorType::get({}, Float32Type::get(&ctx)));
  EXPECT_EQ(countOps(loss)["circ.next_token_loss"], 1);

  // The module records the config it was built from.
  FailureOr<ModelConfig> back = readModelConfig(**module);
  ASSERT_TRUE(succeeded(back)) << log.all();
  EXPECT_EQ(back->nLayer, c.nLayer);
  EXPECT_EQ(back->dModel, c.dModel);
  EXPECT_EQ(back->dHead, c.dHead);
  EXPECT_EQ(back->dMlp, c.dMlp);
  EXPECT_EQ(back->ctx, c.ctx);
  EXPECT_EQ(back->vocab, c.vocab);
  EXPECT_EQ(back->activationFraction, c.activationFraction);
  EXPECT_EQ(back->abstopkSites, c.abstopkSites);
  EXPECT_EQ(back->weightDensity, c.weightDensity);
  EXPECT_EQ(back->embedDensity, c.embedDensity);
  EXPECT_EQ(back->minPerUnit, c.minPerUnit);
  EXPECT_EQ(back->attentionSink, c.attentionSink);
  EXPECT_EQ(back->bigramTable, c.bigramTable);
  EXPECT_EQ(back->positionalTable, c.positionalTable);
}

TEST_P(ModelShapes, RoundTripsThroughText) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ModelBuildOptions options;
  options.withMaskGates = gates();
  auto module = buildModel(ctx, config(), options);
  ASSERT_TRUE(succeeded(module)) << log.all();
  std::string text;
  llvm::raw_string_ostream(text) << **module;
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, &ctx);
  ASSERT_TRUE(parsed) << log.all();
  ASSERT_TRUE(succeeded(verify(*parsed)));
  std::string again;
  llvm::raw_string_ostream(again) << *parsed;
  EXPECT_EQ(text, again);
}

INSTANTIATE_TEST_SUITE_P(
    Builder, ModelShapes,
    ::testing::Combine(::testing::Values(1, 2, 4), ::testing::Bool(),
                       ::testing::Bool(), ::testing::Bool(), ::testing::Bool(),
                       ::testing::Bool()));

//===----------------------------------------------------------------------===//
// Options and partial activation sparsity
//===----------------------------------------------------------------------===//

TEST(Builder, StaticShapesAndSelectedSites) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ModelConfig c = smallConfig();
  c.abstopkSites = (1u << static_cast<unsigned>(Site::AttnOut)) |
                   (1u << static_cast<unsigned>(Site::MlpNeuron));
  c.activationFraction = 0.5;
  ModelBuildOptions options;
  options.funcName = "model";
  options.batch = 3;
  options.seqLen = 5;
  auto module = buildModel(ctx, c, options);
  ASSERT_TRUE(succeeded(module)) << log.all();
  auto fn = (*module)->lookupSymbol<func::FuncOp>("model");
  ASSERT_TRUE(fn);
  EXPECT_FALSE((*module)->lookupSymbol("loss"));
  EXPECT_EQ(fn.getArgumentTypes()[0],
            RankedTensorType::get({3, 5}, IntegerType::get(&ctx, 32)));
  EXPECT_EQ(fn.getResultTypes()[0],
            RankedTensorType::get({3, 5, c.vocab}, Float32Type::get(&ctx)));
  std::vector<std::pair<Site, int64_t>> seen;
  fn.walk([&](AbsTopKOp op) {
    seen.push_back({fromSite(*op.getSite()), op.getEffectiveK()});
  });
  std::vector<std::pair<Site, int64_t>> want = {{Site::AttnOut, 16},
                                                {Site::MlpNeuron, 32},
                                                {Site::AttnOut, 16},
                                                {Site::MlpNeuron, 32}};
  EXPECT_EQ(seen, want);
}

TEST(Builder, FractionOneHasNoAbsTopK) {
  MLIRContext ctx;
  ModelConfig c = smallConfig();
  c.activationFraction = 1.0;
  auto module = buildModel(ctx, c, {});
  ASSERT_TRUE(succeeded(module));
  auto fn = (*module)->lookupSymbol<func::FuncOp>("forward");
  EXPECT_EQ(countOps(fn)["circ.abs_topk"], 0);
}

TEST(Builder, OpsAreNamedAfterTheirModelPart) {
  MLIRContext ctx;
  ModelBuildOptions options = keyedOptions(ctx);
  auto module = buildModel(ctx, smallConfig(), options);
  ASSERT_TRUE(succeeded(module));
  auto fn = (*module)->lookupSymbol<func::FuncOp>("forward");
  std::vector<std::string> names;
  fn.walk([&](Operation *op) {
    auto name = llvm::dyn_cast<NameLoc>(op->getLoc());
    auto key = name ? llvm::dyn_cast<FileLineColLoc>(name.getChildLoc())
                    : FileLineColLoc();
    if (key && llvm::isa<ProjOp, AbsTopKOp, AttentionOp, EmbedOp>(op))
      names.push_back(name.getName().str() + "@" + key.getFilename().str());
  });
  ASSERT_GE(names.size(), 8u);
  EXPECT_EQ(names[0], "wte@model");
  EXPECT_EQ(names[1], "h.0.attn_in@layers");
  EXPECT_EQ(names[2], "h.0.attn.c_attn@layers");
  EXPECT_EQ(names[3], "h.0.attn_q@layers");
  EXPECT_EQ(names[6], "h.0.attn.attention@layers");
  EXPECT_EQ(names[7], "h.0.attn.c_proj@layers");
  EXPECT_EQ(names.back(), "lm_head@model");
}

//===----------------------------------------------------------------------===//
// Bad configurations
//===----------------------------------------------------------------------===//

struct BadConfig {
  const char *what;
  std::function<void(ModelConfig &, ModelBuildOptions &)> change;
  const char *key;
  const char *message;
};

class BadConfigs : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigs, AreRejectedWithTheirMessageAtTheirKey) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ModelConfig c = smallConfig();
  ModelBuildOptions options = keyedOptions(ctx);
  GetParam().change(c, options);
  auto module = buildModel(ctx, c, options);
  EXPECT_TRUE(failed(module));
  std::string want = std::string(GetParam().key) + ": " + GetParam().message;
  EXPECT_TRUE(log.contains(want)) << "want: " << want << "\ngot:\n"
                                  << log.all();
}

INSTANTIATE_TEST_SUITE_P(
    Builder, BadConfigs,
    ::testing::Values(
        BadConfig{"HeadDoesNotDivide",
                  [](ModelConfig &c, ModelBuildOptions &) { c.dHead = 12; },
                  "d_head", "d_head (12) must divide d_model (32)"},
        BadConfig{"NegativeLayers",
                  [](ModelConfig &c, ModelBuildOptions &) { c.nLayer = -1; },
                  "layers", "layers must be positive, got -1"},
        BadConfig{"ZeroWidth",
                  [](ModelConfig &c, ModelBuildOptions &) { c.dMlp = 0; },
                  "d_mlp", "d_mlp must be positive, got 0"},
        BadConfig{
            "DensityZero",
            [](ModelConfig &c, ModelBuildOptions &) { c.weightDensity = 0; },
            "weights", "weight density must be in (0, 1]"},
        BadConfig{
            "DensityAboveOne",
            [](ModelConfig &c, ModelBuildOptions &) { c.embedDensity = 1.5; },
            "embeddings", "embedding density must be in (0, 1]"},
        // k = floor(fraction · width) > width.
        BadConfig{"KAboveWidth",
                  [](ModelConfig &c, ModelBuildOptions &) {
                    c.activationFraction = 1.25;
                  },
                  "activations", "activation fraction must be in (0, 1]"},
        BadConfig{
            "NegativeMinPerUnit",
            [](ModelConfig &c, ModelBuildOptions &) { c.minPerUnit = -4; },
            "min_per_unit", "min_per_unit must be >= 0, got -4"},
        BadConfig{"VocabBeyondI32",
                  [](ModelConfig &c, ModelBuildOptions &) {
                    c.vocab = int64_t(1) << 32;
                  },
                  "vocab",
                  "vocab (4294967296) exceeds the range of the i32 token ids"},
        BadConfig{"NegativeBatch",
                  [](ModelConfig &, ModelBuildOptions &o) { o.batch = -2; },
                  "batch", "batch must be >= 0 (0 = dynamic), got -2"},
        BadConfig{"SequenceBeyondContext",
                  [](ModelConfig &, ModelBuildOptions &o) { o.seqLen = 17; },
                  "seq_len",
                  "seq_len (17) exceeds the context length ctx (16)"},
        BadConfig{
            "EmptyFunctionName",
            [](ModelConfig &, ModelBuildOptions &o) { o.funcName.clear(); },
            "function", "the model function needs a name"},
        BadConfig{"FunctionNamedLoss",
                  [](ModelConfig &, ModelBuildOptions &o) {
                    o.funcName = "loss";
                    o.withLoss = true;
                  },
                  "function", "function name 'loss' is taken"}),
    [](const ::testing::TestParamInfo<BadConfig> &info) {
      return std::string(info.param.what);
    });

TEST(Builder, ReportsEveryProblemAtOnce) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ModelConfig c = smallConfig();
  c.nLayer = 0;
  c.weightDensity = 2;
  ModelBuildOptions options = keyedOptions(ctx);
  options.batch = -1;
  EXPECT_TRUE(failed(buildModel(ctx, c, options)));
  EXPECT_EQ(log.messages.size(), 3u) << log.all();
  EXPECT_TRUE(log.contains("layers: layers must be positive"));
  EXPECT_TRUE(log.contains("weights: weight density must be in (0, 1]"));
  EXPECT_TRUE(log.contains("batch: batch must be >= 0"));
}

TEST(Builder, DefaultLocationsNameTheKey) {
  MLIRContext ctx;
  Location seen = UnknownLoc::get(&ctx);
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    seen = d.getLocation();
    return success();
  });
  ModelConfig c = smallConfig();
  c.dHead = 5;
  EXPECT_TRUE(failed(buildModel(ctx, c, {})));
  auto name = llvm::dyn_cast<NameLoc>(seen);
  ASSERT_TRUE(name);
  EXPECT_EQ(name.getName().getValue(), "d_head");
}

//===----------------------------------------------------------------------===//
// The DSL
//===----------------------------------------------------------------------===//

// A variant a researcher might build: attention-only blocks and a learned
// logit bias (an extra parameter) on the unembedding.
TEST(Builder, DslBuildsAttentionOnlyVariant) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ModelConfig c = smallConfig();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  FailureOr<ModelBuilder> mb =
      ModelBuilder::create(*module, "attn_only", c, {}, /*withTargets=*/false);
  ASSERT_TRUE(succeeded(mb)) << log.all();
  Value bias = mb->addParam(
      "logit_bias", RankedTensorType::get({c.vocab}, Float32Type::get(&ctx)));
  Value x = mb->embedTokens();
  for (int64_t l = 0; l < c.nLayer; ++l)
    x = mb->layer(l).attentionBlock(x);
  Value logits = mb->proj(mb->rmsnorm(x, mb->param("ln_f.weight")),
                          mb->param("lm_head.weight"), bias);
  mb->finish(logits);
  ASSERT_TRUE(succeeded(verify(*module))) << log.all();

  func::FuncOp fn = mb->function();
  EXPECT_EQ(paramName(fn, fn.getNumArguments() - 1), "logit_bias");
  EXPECT_EQ(mb->param("logit_bias"), bias);
  EXPECT_EQ(mb->lookupParam("h.0.attn.sink"), Value());
  EXPECT_EQ(logits.getDefiningOp<ProjOp>().getBias(), bias);
  llvm::StringMap<int> n = countOps(fn);
  EXPECT_EQ(n["circ.gelu"], 0);
  EXPECT_EQ(n["circ.bigram"], 0);
  EXPECT_EQ(n["circ.attention"], c.nLayer);
  EXPECT_EQ(n["circ.proj"], 2 * c.nLayer + 1);
  EXPECT_EQ(n["circ.abs_topk"], 5 * c.nLayer);
  EXPECT_EQ(n["circ.residual_add"], c.nLayer);
}

TEST(Builder, DslRejectsKAboveWidthAtVerification) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ModelConfig c = smallConfig();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  FailureOr<ModelBuilder> mb = ModelBuilder::create(*module, "f", c, {}, false);
  ASSERT_TRUE(succeeded(mb));
  Value x = mb->embedTokens();
  mb->finish(mb->absTopK(x, c.dModel + 1, Site::AttnIn, 0));
  EXPECT_TRUE(failed(verify(*module)));
  EXPECT_TRUE(
      log.contains("'circ.abs_topk' op k = 33 exceeds the input width 32"))
      << log.all();
}

TEST(Builder, DslRejectsDuplicateFunction) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  ModelBuildOptions options = keyedOptions(ctx);
  ASSERT_TRUE(succeeded(
      ModelBuilder::create(*module, "f", smallConfig(), options, false)));
  EXPECT_TRUE(failed(
      ModelBuilder::create(*module, "f", smallConfig(), options, false)));
  EXPECT_TRUE(
      log.contains("function: the module already has a symbol named 'f'"))
      << log.all();
}

TEST(Builder, DslLossHasTargetsAfterTokens) {
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  FailureOr<ModelBuilder> mb =
      ModelBuilder::create(*module, "loss", smallConfig(), {}, true);
  ASSERT_TRUE(succeeded(mb));
  EXPECT_EQ(mb->tokens(), mb->function().getArgument(0));
  EXPECT_EQ(mb->targets(), mb->function().getArgument(1));
  mb->finish(mb->nextTokenLoss(mb->forward(), mb->targets()));
  EXPECT_TRUE(succeeded(verify(*module)));
}

TEST(Builder, DslNamedInputsAndNodeValues) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  ModelConfig c = smallConfig();
  using Shape = FunctionInput::Shape;
  FailureOr<ModelBuilder> mb = ModelBuilder::create(
      *module, "task", c, {},
      {{"positions", Shape::PerSequence}, {"labels", Shape::Tokens}});
  ASSERT_TRUE(succeeded(mb)) << log.all();
  func::FuncOp fn = mb->function();
  EXPECT_EQ(mb->input("positions"), fn.getArgument(1));
  EXPECT_EQ(mb->input("labels"), fn.getArgument(2));
  EXPECT_EQ(mb->input("targets"), Value());
  EXPECT_EQ(mb->targets(), Value());
  EXPECT_EQ(cast<RankedTensorType>(fn.getArgument(1).getType()).getRank(), 1);
  EXPECT_EQ(cast<RankedTensorType>(fn.getArgument(2).getType()).getRank(), 2);
  EXPECT_EQ(paramName(fn, 3), "wte.weight");

  // forward() records its eight node locations per layer, in order.
  Value logits = mb->forward();
  ArrayRef<NodeValue> nodes = mb->nodeValues();
  ASSERT_EQ(nodes.size(), size_t(8 * c.nLayer));
  for (auto [i, node] : llvm::enumerate(nodes)) {
    EXPECT_EQ(node.layer, int64_t(i / 8));
    EXPECT_EQ(static_cast<size_t>(node.site), i % 8);
    EXPECT_EQ(cast<RankedTensorType>(node.value.getType()).getShape().back(),
              c.siteWidth(node.site));
  }
  mb->finish(mb->contrastLoss(logits, mb->input("positions"),
                              mb->input("positions"), mb->input("positions")));
  EXPECT_TRUE(succeeded(verify(*module))) << log.all();

  // Two inputs of one name are refused.
  EXPECT_TRUE(failed(ModelBuilder::create(
      *module, "bad", c, keyedOptions(ctx),
      {{"x", Shape::PerSequence}, {"x", Shape::Tokens}})));
  EXPECT_TRUE(log.contains("function 'bad' has two inputs named 'x'"))
      << log.all();
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

TEST(Builder, MaskGateParametersInArgumentOrder) {
  ModelConfig c = smallConfig();
  c.nLayer = 1;
  std::vector<MaskGateParam> gates = maskGateParameters(c);
  ASSERT_EQ(gates.size(), 8u);
  const char *names[] = {"attn_in",  "attn_q", "attn_k",     "attn_v",
                         "attn_out", "mlp_in", "mlp_neuron", "mlp_out"};
  for (int s = 0; s < 8; ++s) {
    EXPECT_EQ(gates[s].tauName, std::string("h.0.") + names[s] + ".tau");
    EXPECT_EQ(gates[s].meanName, std::string("h.0.") + names[s] + ".mean");
    EXPECT_EQ(gates[s].layer, 0);
    EXPECT_EQ(gates[s].width, s == 6 ? 64 : 32);
  }
}

TEST(Builder, SitesConvertBothWays) {
  for (int s = 0; s < 8; ++s) {
    auto site = static_cast<Site>(s);
    EXPECT_EQ(stringifyNodeLocation(toSite(site)),
              ::circ::nodeLocationName(site));
    EXPECT_EQ(fromSite(toSite(site)), site);
  }
}

TEST(Builder, ReadModelConfigRejectsBadAttributes) {
  MLIRContext ctx;
  DiagnosticLog log(ctx);
  ctx.loadDialect<CircDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  EXPECT_TRUE(failed(readModelConfig(*module)));
  EXPECT_TRUE(log.contains("module has no 'circ.model' dictionary"));

  ModelConfig c = smallConfig();
  NamedAttrList attrs(getModelConfigAttr(&ctx, c));
  attrs.set("d_model", StringAttr::get(&ctx, "wide"));
  (*module)->setAttr(CircDialect::kModelAttrName, attrs.getDictionary(&ctx));
  EXPECT_TRUE(failed(readModelConfig(*module)));
  EXPECT_TRUE(log.contains("'circ.model' needs 'd_model' as an integer"))
      << log.all();

  attrs.set("d_model", IntegerAttr::get(IntegerType::get(&ctx, 64), 36));
  (*module)->setAttr(CircDialect::kModelAttrName, attrs.getDictionary(&ctx));
  EXPECT_TRUE(failed(readModelConfig(*module)));
  EXPECT_TRUE(log.contains("'circ.model' describes an invalid model: d_head "
                           "(8) must divide d_model (36)"))
      << log.all();
}

} // namespace
