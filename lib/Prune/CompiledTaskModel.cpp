//===- CompiledTaskModel.cpp - pruning on generated code --------*- C++ -*-===//

#include "circ/Prune/CompiledTaskModel.h"

#include "circ/Train/ModelProgram.h"

#include <chrono>
#include <cstring>

using namespace circ;
using namespace circ::prune;
using rt::Error;
using rt::Expected;

CompiledTaskModel::CompiledTaskModel(const ModelConfig &config,
                                     const CompiledTaskModelOptions &options)
    : cfg(config), opts(options), space(config) {
  if (opts.seqLen == 0)
    opts.seqLen = config.ctx;
  if (opts.activationSeqLen == 0)
    opts.activationSeqLen = config.ctx;
}

CompiledTaskModel::~CompiledTaskModel() = default;

Expected<std::unique_ptr<CompiledTaskModel>>
CompiledTaskModel::create(const ModelConfig &config, rt::ParamStore &weights,
                          const CompiledTaskModelOptions &options) {
  std::unique_ptr<CompiledTaskModel> m(new CompiledTaskModel(config, options));
  m->weights = &weights;
  if (m->opts.batch < 2 || m->opts.batch % 2)
    return Error::failure("the pruning batch must be a positive even number "
                          "of prompts (whole pairs), not " +
                          std::to_string(m->opts.batch));

  // τ and the ablation values: one dense vector each per gate slice.
  std::vector<ParamSpec> specs;
  for (const GateSlice &g : m->space.gates()) {
    m->tauIndex.push_back(specs.size());
    specs.push_back({g.tauName, {g.width}, ParamKind::Bias});
    m->meanIndex.push_back(specs.size());
    specs.push_back({g.meanName, {g.width}, ParamKind::Bias});
  }
  Expected<std::unique_ptr<rt::ParamStore>> store =
      rt::ParamStore::create(std::move(specs));
  if (!store)
    return store.takeError();
  m->gateStore = std::move(*store);

  auto started = std::chrono::steady_clock::now();
  mlir::circ::ModelProgramOptions task;
  task.batch = m->opts.batch;
  task.seqLen = m->opts.seqLen;
  task.loss = task.lossGrad = false;
  task.forward = true;
  task.taskLossGrad = true;
  task.maskGates = true;
  task.parallel = options.parallel;
  for (const GateSlice &g : m->space.gates())
    task.gradParams.push_back(g.tauName);
  auto program = mlir::circ::ModelProgram::create(config, task);
  if (!program)
    return program.takeError();
  m->task = std::move(*program);

  if (m->opts.activationBatch > 0) {
    mlir::circ::ModelProgramOptions acts;
    acts.batch = m->opts.activationBatch;
    acts.seqLen = m->opts.activationSeqLen;
    acts.loss = acts.lossGrad = false;
    acts.activations = true;
    acts.maskGates = true;
    acts.parallel = options.parallel;
    auto actProgram = mlir::circ::ModelProgram::create(config, acts);
    if (!actProgram)
      return actProgram.takeError();
    m->acts = std::move(*actProgram);
  }
  m->compileTime = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - started)
                       .count();
  m->logits.resize(m->opts.batch * m->opts.seqLen * config.vocab);
  return m;
}

Error CompiledTaskModel::loadGates(const Gates &gates) {
  if (static_cast<int64_t>(gates.tau.size()) != space.size() ||
      static_cast<int64_t>(gates.ablation.size()) != space.size())
    return Error::failure("gate values for " +
                          std::to_string(gates.tau.size()) +
                          " nodes given to a model with " +
                          std::to_string(space.size()));
  for (size_t g = 0; g < space.gates().size(); ++g) {
    const GateSlice &slice = space.gates()[g];
    std::memcpy(gateStore->values(tauIndex[g]), gates.tau.data() + slice.offset,
                slice.width * sizeof(float));
    std::memcpy(gateStore->values(meanIndex[g]),
                gates.ablation.data() + slice.offset,
                slice.width * sizeof(float));
  }
  return Error::success();
}

Error CompiledTaskModel::checkRows(const PromptSet &rows) const {
  if (rows.size() != opts.batch || rows.seqLen != opts.seqLen)
    return Error::failure("a batch of " + std::to_string(rows.size()) + " x " +
                          std::to_string(rows.seqLen) +
                          " prompt tokens given to a model compiled for " +
                          std::to_string(opts.batch) + " x " +
                          std::to_string(opts.seqLen));
  return Error::success();
}

Expected<double> CompiledTaskModel::lossAndTauGrad(const PromptSet &rows,
                                                   const Gates &gates,
                                                   std::vector<float> &grad) {
  if (Error e = checkRows(rows))
    return e;
  if (Error e = loadGates(gates))
    return e;
  float loss = 0;
  if (Error e = task->call("task_loss_grad",
                           {rows.tokens.data(), rows.positions.data(),
                            rows.correct.data(), rows.wrong.data()},
                           {weights, gateStore.get()}, {&loss}))
    return e;
  grad.resize(space.size());
  for (size_t g = 0; g < space.gates().size(); ++g) {
    const GateSlice &slice = space.gates()[g];
    std::memcpy(grad.data() + slice.offset, gateStore->grads(tauIndex[g]),
                slice.width * sizeof(float));
  }
  return static_cast<double>(loss);
}

Error CompiledTaskModel::margins(const PromptSet &rows, const Gates &gates,
                                 float *out) {
  if (Error e = checkRows(rows))
    return e;
  if (Error e = loadGates(gates))
    return e;
  if (Error e = task->call("forward", {rows.tokens.data()},
                           {weights, gateStore.get()}, {logits.data()}))
    return e;
  const int64_t v = cfg.vocab;
  for (int64_t r = 0; r < opts.batch; ++r) {
    const float *row = logits.data() + (r * opts.seqLen + rows.positions[r]) * v;
    out[r] = row[rows.correct[r]] - row[rows.wrong[r]];
  }
  return Error::success();
}

Error CompiledTaskModel::activations(const int32_t *tokens, const Gates &gates,
                                     std::vector<std::vector<float>> &out) {
  if (!acts)
    return Error::failure("this pruning model was compiled without "
                          "@activations");
  if (Error e = loadGates(gates))
    return e;
  const size_t n = space.gates().size();
  out.resize(n);
  std::vector<void *> outputs(n);
  for (size_t g = 0; g < n; ++g) {
    out[g].resize(opts.activationBatch * opts.activationSeqLen *
                  space.gates()[g].width);
    outputs[g] = out[g].data();
  }
  return acts->call("activations", {tokens}, {weights, gateStore.get()},
                    outputs);
}
