//===- ModelBuilder.cpp - C++ builder API for circ models -------*- C++ -*-===//
//
// The DSL methods create one circ op each with shapes derived from their
// operands; attentionBlock/mlpBlock/unembed/forward compose them exactly as
// the paper's §1.1 dataflow. buildModel drives them for a whole module.
//
//===----------------------------------------------------------------------===//

#include "circ/Builder/ModelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;
using namespace mlir::circ;
using ::circ::ModelConfig;
using Site = ::circ::NodeLocation;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

static RankedTensorType typeOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}

/// `x`'s shape with the last dimension replaced by `width`, f32, no encoding.
static RankedTensorType withWidth(Value x, int64_t width) {
  SmallVector<int64_t> shape(typeOf(x).getShape());
  shape.back() = width;
  return RankedTensorType::get(shape, Float32Type::get(x.getContext()));
}

/// Lookup result: the ids' shape plus the table's row width.
static RankedTensorType lookupType(Value ids, Value table) {
  SmallVector<int64_t> shape(typeOf(ids).getShape());
  shape.push_back(typeOf(table).getDimSize(1));
  return RankedTensorType::get(shape, Float32Type::get(ids.getContext()));
}

static std::string layerPrefix(int64_t layer) {
  return "h." + std::to_string(layer) + ".";
}

//===----------------------------------------------------------------------===//
// Creation
//===----------------------------------------------------------------------===//

/// Everything a model function is made of.
static void loadDialects(MLIRContext &ctx) {
  ctx.loadDialect<CircDialect, func::FuncDialect, tensor::TensorDialect,
                  arith::ArithDialect>();
}

ModelBuilder::ModelBuilder(MLIRContext *ctx, const ModelConfig &config,
                           const ModelBuildOptions &options)
    : cfg(config), opts(options), b(ctx) {}

FailureOr<ModelBuilder> ModelBuilder::create(ModuleOp module,
                                             StringRef funcName,
                                             const ModelConfig &config,
                                             const ModelBuildOptions &options,
                                             bool withTargets) {
  SmallVector<FunctionInput, 1> inputs;
  if (withTargets)
    inputs.push_back({"targets", FunctionInput::Shape::Tokens});
  return create(module, funcName, config, options, inputs);
}

FailureOr<ModelBuilder> ModelBuilder::create(ModuleOp module,
                                             StringRef funcName,
                                             const ModelConfig &config,
                                             const ModelBuildOptions &options,
                                             ArrayRef<FunctionInput> inputs) {
  MLIRContext *ctx = module.getContext();
  loadDialects(*ctx);
  if (failed(verifyModelConfig(*ctx, config, options)))
    return failure();

  if (funcName.empty())
    return emitError(options.locate(ctx, "function"))
           << "the model function needs a name";
  if (SymbolTable::lookupSymbolIn(module, funcName))
    return emitError(options.locate(ctx, "function"))
           << "the module already has a symbol named '" << funcName << "'";

  ModelBuilder mb(ctx, config, options);

  Type i32 = IntegerType::get(ctx, 32);
  int64_t batch = options.batch > 0 ? options.batch : ShapedType::kDynamic;
  int64_t seq = options.seqLen > 0 ? options.seqLen : config.ctx;
  auto ids = RankedTensorType::get({batch, seq}, i32);
  auto perSequence = RankedTensorType::get({batch}, i32);

  SmallVector<Type> argTypes = {ids};
  SmallVector<DictionaryAttr> argAttrs = {DictionaryAttr::get(ctx)};
  for (const FunctionInput &input : inputs) {
    if (!mb.inputIndex.try_emplace(input.name, argTypes.size()).second)
      return emitError(options.locate(ctx, "function"))
             << "function '" << funcName << "' has two inputs named '"
             << input.name << "'";
    argTypes.push_back(input.shape == FunctionInput::Shape::Tokens
                           ? ids
                           : perSequence);
    argAttrs.push_back(DictionaryAttr::get(ctx));
  }
  Builder attrs(ctx);
  auto addArg = [&](StringRef name, RankedTensorType type) {
    mb.paramIndex[name] = argTypes.size();
    argTypes.push_back(type);
    argAttrs.push_back(attrs.getDictionaryAttr(attrs.getNamedAttr(
        CircDialect::kParamAttrName, attrs.getStringAttr(name))));
  };
  for (const ::circ::ParamSpec &p : ::circ::modelParameters(config))
    addArg(p.name, getParamType(ctx, config, p));
  if (options.withMaskGates) {
    for (const MaskGateParam &gate : maskGateParameters(config)) {
      auto vec = RankedTensorType::get({gate.width}, Float32Type::get(ctx));
      addArg(gate.tauName, vec);
      addArg(gate.meanName, vec);
    }
  }

  OpBuilder top = OpBuilder::atBlockEnd(module.getBody());
  mb.func = func::FuncOp::create(top, mb.loc(funcName), funcName,
                                 FunctionType::get(ctx, argTypes, {}),
                                 /*attrs=*/{}, argAttrs);
  mb.b.setInsertionPointToStart(mb.func.addEntryBlock());
  return mb;
}

Location ModelBuilder::loc(StringRef name, StringRef key) {
  MLIRContext *ctx = b.getContext();
  return NameLoc::get(StringAttr::get(ctx, name), opts.locate(ctx, key));
}

void ModelBuilder::finish(ValueRange results) {
  func::ReturnOp::create(b, loc("return"), results);
  func.setFunctionType(FunctionType::get(
      b.getContext(), func.getArgumentTypes(), results.getTypes()));
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

Value ModelBuilder::tokens() { return func.getArgument(0); }

Value ModelBuilder::targets() { return input("targets"); }

Value ModelBuilder::input(StringRef name) {
  auto it = inputIndex.find(name);
  return it == inputIndex.end() ? Value() : func.getArgument(it->second);
}

Value ModelBuilder::lookupParam(StringRef name) {
  auto it = paramIndex.find(name);
  return it == paramIndex.end() ? Value() : func.getArgument(it->second);
}

Value ModelBuilder::param(StringRef name) {
  if (Value v = lookupParam(name))
    return v;
  llvm::report_fatal_error(llvm::Twine("circ ModelBuilder: function '") +
                           func.getName() + "' has no parameter '" + name +
                           "' (check the model config, or use lookupParam)");
}

Value ModelBuilder::addParam(StringRef name, RankedTensorType type) {
  unsigned index = func.getNumArguments();
  Builder attrs(b.getContext());
  DictionaryAttr dict = attrs.getDictionaryAttr(attrs.getNamedAttr(
      CircDialect::kParamAttrName, attrs.getStringAttr(name)));
  // Inserting an argument into a func.func cannot fail.
  (void)func.insertArgument(index, type, dict, loc(name));
  paramIndex[name] = index;
  return func.getArgument(index);
}

//===----------------------------------------------------------------------===//
// One op each
//===----------------------------------------------------------------------===//

std::string ModelBuilder::opName(Value paramOperand, StringRef kind) {
  if (auto arg = llvm::dyn_cast_or_null<BlockArgument>(paramOperand)) {
    if (auto name = func.getArgAttrOfType<StringAttr>(
            arg.getArgNumber(), CircDialect::kParamAttrName)) {
      StringRef n = name.getValue();
      n.consume_back(".weight");
      return n.str();
    }
  }
  return scope.empty() ? kind.str() : scope + "." + kind.str();
}

Location ModelBuilder::opLoc(Value paramOperand, StringRef kind,
                             StringRef key) {
  return loc(opName(paramOperand, kind), scope.empty() ? key : "layers");
}

Value ModelBuilder::embed(Value ids, Value table) {
  return EmbedOp::create(b, opLoc(table, "embed"), lookupType(ids, table), ids,
                         table);
}

Value ModelBuilder::addPositions(Value x, Value table) {
  return AddPositionsOp::create(b, opLoc(table, "add_positions", "positional"),
                                x.getType(), x, table);
}

Value ModelBuilder::rmsnorm(Value x, Value gain) {
  // A null epsilon keeps the op's default (the f32 machine epsilon).
  return RMSNormOp::create(b, opLoc(gain, "rmsnorm"), x, gain, FloatAttr());
}

Value ModelBuilder::proj(Value x, Value weight, Value bias) {
  return ProjOp::create(b, opLoc(weight, "proj"),
                        withWidth(x, typeOf(weight).getDimSize(0)), x, weight,
                        bias);
}

Value ModelBuilder::gelu(Value x) {
  return GeluOp::create(b, opLoc({}, "gelu"), x);
}

Value ModelBuilder::attention(Value q, Value k, Value v, Value sink) {
  return AttentionOp::create(b, opLoc({}, "attention"), q, k, v, sink,
                             b.getI64IntegerAttr(cfg.nHead()));
}

Value ModelBuilder::residual(Value x, Value delta) {
  return ResidualAddOp::create(b, opLoc({}, "residual_add"), x, delta);
}

Value ModelBuilder::absTopK(Value x, Site site, int64_t layer) {
  int64_t width = typeOf(x).getShape().back();
  int64_t k = cfg.topK(site, width);
  if (k == width)
    return x;
  return absTopK(x, k, site, layer);
}

Value ModelBuilder::absTopK(Value x, int64_t k, Site site, int64_t layer) {
  std::string name = layerPrefix(layer) + ::circ::nodeLocationName(site);
  return AbsTopKOp::create(b, loc(name, "layers"), x, b.getI64IntegerAttr(k),
                           /*fraction=*/FloatAttr(),
                           NodeLocationAttr::get(b.getContext(), toSite(site)),
                           b.getI64IntegerAttr(layer));
}

Value ModelBuilder::maskGate(Value x, Value tau, Value mean, Site site,
                             int64_t layer) {
  std::string name =
      layerPrefix(layer) + ::circ::nodeLocationName(site) + ".mask";
  MLIRContext *ctx = b.getContext();
  return MaskGateOp::create(
      b, loc(name, "layers"), x, tau, mean,
      AblationAttr::get(ctx, Ablation::mean), /*temperature=*/FloatAttr(),
      NodeLocationAttr::get(ctx, toSite(site)), b.getI64IntegerAttr(layer));
}

Value ModelBuilder::node(Value x, Site site, int64_t layer) {
  Value y = absTopK(x, site, layer);
  if (opts.withMaskGates) {
    std::string prefix = layerPrefix(layer) + ::circ::nodeLocationName(site);
    y = maskGate(y, param(prefix + ".tau"), param(prefix + ".mean"), site,
                 layer);
  }
  nodes.push_back({layer, site, y});
  return y;
}

SmallVector<Value> ModelBuilder::splitLastAxis(Value x, int64_t parts) {
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  int64_t width = type.getShape().back() / parts;
  Location where = opLoc({}, "split");
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, where, x);
  sizes.back() = b.getIndexAttr(width);
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  SmallVector<Value> slices;
  for (int64_t i = 0; i < parts; ++i) {
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets.back() = b.getIndexAttr(i * width);
    slices.push_back(
        tensor::ExtractSliceOp::create(b, where, x, offsets, sizes, strides));
  }
  return slices;
}

Value ModelBuilder::bigram(Value ids, Value table) {
  return BigramOp::create(b, opLoc(table, "bigram", "bigram"),
                          lookupType(ids, table), ids, table);
}

Value ModelBuilder::addLogits(Value lhs, Value rhs) {
  return arith::AddFOp::create(b, opLoc({}, "logits"), lhs, rhs);
}

Value ModelBuilder::nextTokenLoss(Value logits, Value targetIds) {
  return NextTokenLossOp::create(b, opLoc({}, "loss"), logits, targetIds);
}

Value ModelBuilder::contrastLoss(Value logits, Value positions, Value correct,
                                 Value wrong) {
  return ContrastLossOp::create(b, opLoc({}, "task_loss"), logits, positions,
                                correct, wrong);
}

//===----------------------------------------------------------------------===//
// The standard model (paper §1.1)
//===----------------------------------------------------------------------===//

Value ModelBuilder::embedTokens() {
  Value x = embed(tokens(), param("wte.weight"));
  if (cfg.positionalTable)
    x = addPositions(x, param("wpe.weight"));
  return x;
}

LayerBuilder ModelBuilder::layer(int64_t index) {
  return LayerBuilder(*this, index);
}

Value ModelBuilder::unembed(Value x) {
  Value logits = proj(rmsnorm(x, param("ln_f.weight")), param("lm_head.weight"));
  if (cfg.bigramTable)
    logits = addLogits(logits, bigram(tokens(), param("bigram_table")));
  return logits;
}

Value ModelBuilder::forward() {
  Value x = embedTokens();
  for (int64_t l = 0; l < cfg.nLayer; ++l) {
    LayerBuilder block = layer(l);
    x = block.attentionBlock(x);
    x = block.mlpBlock(x);
  }
  return unembed(x);
}

Value LayerBuilder::param(StringRef name) const {
  return m.param(layerPrefix(l) + name.str());
}

Value LayerBuilder::node(Value x, Site site) { return m.node(x, site, l); }

Value LayerBuilder::attentionBlock(Value x) {
  ModelBuilder::Scope scope(m, layerPrefix(l) + "attn");
  Value in = node(m.rmsnorm(x, param("ln_1.weight")), Site::AttnIn);
  Value qkv =
      m.proj(in, param("attn.c_attn.weight"), param("attn.c_attn.bias"));
  SmallVector<Value> split = m.splitLastAxis(qkv, 3);
  Value q = node(split[0], Site::AttnQ);
  Value k = node(split[1], Site::AttnK);
  Value v = node(split[2], Site::AttnV);
  Value sink = m.config().attentionSink ? param("attn.sink") : Value();
  Value y = m.attention(q, k, v, sink);
  Value out = node(
      m.proj(y, param("attn.c_proj.weight"), param("attn.c_proj.bias")),
      Site::AttnOut);
  return m.residual(x, out);
}

Value LayerBuilder::mlpBlock(Value x) {
  ModelBuilder::Scope scope(m, layerPrefix(l) + "mlp");
  Value in = node(m.rmsnorm(x, param("ln_2.weight")), Site::MlpIn);
  Value h = node(
      m.gelu(m.proj(in, param("mlp.c_fc.weight"), param("mlp.c_fc.bias"))),
      Site::MlpNeuron);
  Value out =
      node(m.proj(h, param("mlp.c_proj.weight"), param("mlp.c_proj.bias")),
           Site::MlpOut);
  return m.residual(x, out);
}

//===----------------------------------------------------------------------===//
// buildModel
//===----------------------------------------------------------------------===//

FailureOr<OwningOpRef<ModuleOp>>
mlir::circ::buildModel(MLIRContext &ctx, const ModelConfig &config,
                       const ModelBuildOptions &options) {
  loadDialects(ctx);
  if (failed(verifyModelConfig(ctx, config, options)))
    return failure();
  OwningOpRef<ModuleOp> module = ModuleOp::create(options.locate(&ctx, "model"));
  (*module)->setAttr(CircDialect::kModelAttrName,
                     getModelConfigAttr(&ctx, config));

  FailureOr<ModelBuilder> forward = ModelBuilder::create(
      *module, options.funcName, config, options, /*withTargets=*/false);
  if (failed(forward))
    return failure();
  forward->finish(forward->forward());

  if (options.withLoss) {
    FailureOr<ModelBuilder> loss = ModelBuilder::create(
        *module, "loss", config, options, /*withTargets=*/true);
    if (failed(loss))
      return failure();
    loss->finish(loss->nextTokenLoss(loss->forward(), loss->targets()));
  }

  if (options.withTaskLoss) {
    using Shape = FunctionInput::Shape;
    FailureOr<ModelBuilder> task = ModelBuilder::create(
        *module, "task_loss", config, options,
        {{"positions", Shape::PerSequence},
         {"correct", Shape::PerSequence},
         {"wrong", Shape::PerSequence}});
    if (failed(task))
      return failure();
    task->finish(task->contrastLoss(task->forward(), task->input("positions"),
                                    task->input("correct"),
                                    task->input("wrong")));
  }

  if (options.withActivations) {
    FailureOr<ModelBuilder> acts = ModelBuilder::create(
        *module, "activations", config, options, /*withTargets=*/false);
    if (failed(acts))
      return failure();
    Value x = acts->embedTokens();
    for (int64_t l = 0; l < config.nLayer; ++l) {
      LayerBuilder block = acts->layer(l);
      x = block.mlpBlock(block.attentionBlock(x));
    }
    SmallVector<Value> outputs;
    for (const NodeValue &node : acts->nodeValues())
      outputs.push_back(node.value);
    acts->finish(outputs);
  }

  if (failed(verify(*module)))
    return failure();
  return module;
}
