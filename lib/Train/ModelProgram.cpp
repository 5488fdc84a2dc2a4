//===- ModelProgram.cpp - a model compiled for the CPU, bound to weights -*- C++ -*-===//
#include "circ/Train/ModelProgram.h"

#include "circ/Builder/ModelBuilder.h"
#include "circ/InitAllDialects.h"
#include "dialects/Circ/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <map>

using namespace mlir;
using namespace mlir::circ;
using ::circ::rt::Error;
using ::circ::rt::Expected;

namespace {
/// Collects the diagnostics of a failing stage into one message.
struct DiagnosticCollector {
  explicit DiagnosticCollector(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          llvm::raw_string_ostream os(text);
          os << "\n  " << d.getLocation() << ": " << d.str();
          return success();
        }) {}
  std::string text;
  ScopedDiagnosticHandler handler;
};

/// The gradient function circ-differentiate adds for `@loss`.
constexpr llvm::StringLiteral kLossGrad = "loss_grad";
} // namespace

ModelProgram::ModelProgram(const ::circ::ModelConfig &config,
                           const ModelProgramOptions &options)
    : cfg(config), opts(options) {
  if (opts.seqLen == 0)
    opts.seqLen = cfg.ctx;
}

ModelProgram::~ModelProgram() = default;

Expected<std::unique_ptr<ModelProgram>>
ModelProgram::create(const ::circ::ModelConfig &config,
                     const ModelProgramOptions &options) {
  std::unique_ptr<ModelProgram> program(new ModelProgram(config, options));
  DialectRegistry registry;
  registerAllDialects(registry);
  program->context = std::make_unique<MLIRContext>(registry);
  MLIRContext &ctx = *program->context;
  ctx.loadAllAvailableDialects();
  DiagnosticCollector diags(ctx);
  auto fail = [&](const char *stage) {
    return Error::failure(std::string("cannot compile the model: ") + stage +
                          " failed:" + diags.text);
  };

  ModelBuildOptions build;
  build.batch = program->opts.batch;
  build.seqLen = program->opts.seqLen;
  build.withLoss = options.loss || options.lossGrad;
  build.withTaskLoss = options.taskLoss || options.taskLossGrad;
  build.withActivations = options.activations;
  build.withMaskGates = options.maskGates;
  FailureOr<OwningOpRef<ModuleOp>> module = buildModel(ctx, config, build);
  if (failed(module))
    return fail("building the model");

  for (auto [lossName, wanted] :
       {std::pair<StringRef, bool>{"loss", options.lossGrad},
        {"task_loss", options.taskLossGrad}}) {
    if (!wanted)
      continue;
    PassManager pm(&ctx);
    CircDifferentiateOptions differentiate;
    differentiate.funcName = lossName.str();
    differentiate.params.assign(options.gradParams.begin(),
                                options.gradParams.end());
    pm.addPass(createCircDifferentiate(differentiate));
    if (failed(pm.run(**module)))
      return fail(("differentiating @" + lossName).str().c_str());
  }
  // Compile only what was asked for.
  for (auto [name, keep] :
       {std::pair<StringRef, bool>{"forward", options.forward},
        {"loss", options.loss},
        {"task_loss", options.taskLoss}}) {
    if (keep)
      continue;
    if (auto fn = (*module)->lookupSymbol<func::FuncOp>(name))
      fn.erase();
  }
  // Gradient results name their parameter (`circ.grad`).
  for (auto fn : (*module)->getOps<func::FuncOp>()) {
    std::vector<std::string> &grads = program->resultGrads[fn.getName()];
    for (unsigned r = 0, e = fn.getNumResults(); r < e; ++r) {
      auto name = fn.getResultAttrOfType<StringAttr>(r, "circ.grad");
      grads.push_back(name ? name.str() : std::string());
    }
  }

  CPUPipelineOptions pipeline;
  pipeline.vectorWidth = options.vectorWidth;
  pipeline.parallel = options.parallel;
  FailureOr<std::unique_ptr<JITModule>> jit =
      JITModule::compile(**module, pipeline);
  if (failed(jit))
    return fail("compiling for the CPU");
  program->jit = std::move(*jit);
  return program;
}

Error ModelProgram::call(StringRef fn, ArrayRef<const int32_t *> ids,
                         ArrayRef<::circ::rt::ParamStore *> stores,
                         ArrayRef<void *> outputs) {
  const EntryPoint *entry = jit->entryPoint(fn);
  if (!entry)
    return Error::failure(("the program has no function '" + fn + "'").str());
  const std::vector<std::string> &grads = resultGrads[fn];
  // The store holding parameter `name` and its index there.
  auto lookup = [&](const std::string &name)
      -> std::optional<std::pair<::circ::rt::ParamStore *, size_t>> {
    for (::circ::rt::ParamStore *store : stores)
      if (std::optional<size_t> i = store->find(name))
        return std::make_pair(store, *i);
    return std::nullopt;
  };
  // ELL arrays of the weights whose layout is `ell`, built for this call
  // from the store's CSR (row units) or CSC (column units): one list per
  // unit, padded to the longest with index 0 and value 0 (docs/codegen.md).
  struct Ell {
    int64_t units = 0, width = 0;
    std::vector<int32_t> idx;
    std::vector<float> values;
  };
  std::map<std::string, Ell> ells;
  auto ellOf = [&](const std::string &name, const ::circ::ParamSpec &spec,
                   const ::circ::rt::SparseIndex &index) -> const Ell & {
    auto [it, fresh] = ells.try_emplace(name);
    Ell &e = it->second;
    if (!fresh)
      return e;
    const bool byRows = spec.unitAxis != ::circ::UnitAxis::Cols;
    const std::vector<int32_t> &ptr = byRows ? index.rowPtr : index.colPtr;
    const std::vector<int32_t> &pos = byRows ? index.colIdx : index.rowIdx;
    const std::vector<float> &val = byRows ? index.rowValues : index.colValues;
    e.units = byRows ? index.rows : index.cols;
    for (int64_t u = 0; u < e.units; ++u)
      e.width = std::max<int64_t>(e.width, ptr[u + 1] - ptr[u]);
    e.idx.assign(e.units * e.width, 0);
    e.values.assign(e.units * e.width, 0.0f);
    for (int64_t u = 0; u < e.units; ++u)
      for (int32_t j = ptr[u]; j < ptr[u + 1]; ++j) {
        e.idx[u * e.width + (j - ptr[u])] = pos[j];
        e.values[u * e.width + (j - ptr[u])] = val[j];
      }
    return e;
  };
  std::vector<BufferArg> args;
  args.reserve(entry->buffers.size());
  size_t nextId = 0;
  for (const BufferInfo &info : entry->buffers) {
    BufferArg arg;
    arg.shape = info.shape;
    if (info.result >= 0) {
      const std::string &gradOf =
          static_cast<size_t>(info.result) < grads.size()
              ? grads[info.result]
              : std::string();
      if (!gradOf.empty()) {
        auto found = lookup(gradOf);
        if (!found)
          return Error::failure("no parameter store holds '" + gradOf +
                                "' for a gradient of '" + fn.str() + "'");
        arg.data = found->first->grads(found->second);
      } else {
        if (static_cast<size_t>(info.result) >= outputs.size() ||
            !outputs[info.result])
          return Error::failure(("no output buffer for result " +
                                 std::to_string(info.result) + " of '" + fn +
                                 "'").str());
        arg.data = outputs[info.result];
      }
      args.push_back(std::move(arg));
      continue;
    }
    if (info.param.empty()) {
      if (nextId >= ids.size())
        return Error::failure(("'" + fn + "' takes more token inputs than "
                               "were given").str());
      arg.data = const_cast<int32_t *>(ids[nextId++]);
      args.push_back(std::move(arg));
      continue;
    }
    auto found = lookup(info.param);
    if (!found)
      return Error::failure("no parameter store holds '" + info.param + "'");
    auto [store, p] = *found;
    if (info.buffer.empty() || info.buffer == "dense") {
      arg.data = store->values(p);
    } else {
      ::circ::rt::SparseIndex *sparse = store->mutableIndex(p);
      if (!sparse)
        return Error::failure("parameter '" + info.param +
                              "' has no sparse index");
      auto bind = [&](auto &vec) {
        arg.data = vec.data();
        arg.shape = {static_cast<int64_t>(vec.size())};
      };
      if (info.buffer == "row_ptr")
        bind(sparse->rowPtr);
      else if (info.buffer == "col_idx")
        bind(sparse->colIdx);
      else if (info.buffer == "values")
        bind(sparse->rowValues);
      else if (info.buffer == "col_ptr")
        bind(sparse->colPtr);
      else if (info.buffer == "row_idx")
        bind(sparse->rowIdx);
      else if (info.buffer == "values_t")
        bind(sparse->colValues);
      else if (info.buffer == "ell_idx" || info.buffer == "ell_values") {
        const Ell &e = ellOf(info.param, store->spec(p), *sparse);
        arg.data = info.buffer == "ell_idx"
                       ? static_cast<void *>(const_cast<int32_t *>(e.idx.data()))
                       : static_cast<void *>(const_cast<float *>(e.values.data()));
        arg.shape = {e.units, e.width};
      } else
        return Error::failure("parameter '" + info.param + "': buffer '" +
                              info.buffer +
                              "' of its layout is not kept by the runtime");
    }
    args.push_back(std::move(arg));
  }
  std::string error;
  if (failed(jit->call(fn, args, error)))
    return Error::failure(("calling '" + fn + "': " + error).str());
  return Error::success();
}

Expected<float> ModelProgram::lossAndGrad(const int32_t *inputs,
                                          const int32_t *targets,
                                          ::circ::rt::ParamStore &store) {
  float loss = 0;
  if (Error e = call(kLossGrad, {inputs, targets}, {&store}, {&loss}))
    return std::move(e);
  return loss;
}

Expected<float> ModelProgram::loss(const int32_t *inputs,
                                   const int32_t *targets,
                                   ::circ::rt::ParamStore &store) {
  float loss = 0;
  if (Error e = call("loss", {inputs, targets}, {&store}, {&loss}))
    return std::move(e);
  return loss;
}

Error ModelProgram::forward(const int32_t *inputs,
                            ::circ::rt::ParamStore &store, float *logits) {
  return call("forward", {inputs}, {&store}, {logits});
}
