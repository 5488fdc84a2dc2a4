//===- Check.cpp - semantic checks and resolution of a .circ file -*- C++
//-*-===//
//
// One handler per key reads its value into the RunSpec (through
// ValueReader, which reports type and range errors); a `finish` step per
// block fills in defaults and derived values and checks relations between
// keys and between blocks. Blocks are processed in dependency order (data,
// model, train, prune, kernel) so later blocks can check against earlier
// ones, whatever order the file writes them in.
//
//===----------------------------------------------------------------------===//

#include "circ/Frontend/Check.h"

#include "Values.h"
#include "circ/Tasks/Tasks.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace circ::frontend;
using namespace circ::frontend::ast;

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 20;
constexpr int64_t kMaxSteps = int64_t(1) << 40;
constexpr int64_t kMaxSeed = int64_t(1) << 53;

const std::vector<BlockKeys> kBlockKeys = {
    {"data", {"files", "tokenizer", "holdout"}},
    {"model",
     {"layers", "d_model", "d_head", "heads", "d_mlp", "ctx", "vocab",
      "activations", "weights", "embeddings", "sink", "bigram", "positional"}},
    {"train",
     {"steps", "tokens", "batch", "optimizer", "lr", "sparsity", "grad_norm",
      "log", "eval", "checkpoint", "out", "seed", "threads"}},
    {"prune",
     {"checkpoint", "target_loss", "ablation", "nodes", "k_coef", "steps", "lr",
      "batch", "bisect", "search", "out", "seed", "threads"}},
    {"kernel", {"layout", "tile", "vector_width", "threads_per_block"}},
};

enum class Kind { Data, Model, Train, Prune, Kernel };

Origin written(const Expr &e) { return {Origin::Kind::Written, e.range, {}}; }
Origin derived(std::string because, SourceRange from = {}) {
  return {Origin::Kind::Derived, from, std::move(because)};
}

std::vector<std::string_view> siteNames() {
  std::vector<std::string_view> names;
  for (int i = 0; i < circ::kNumNodeLocations; ++i)
    names.push_back(circ::nodeLocationName(static_cast<circ::NodeLocation>(i)));
  return names;
}

std::string fileStem(const std::string &path) {
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0)
    base = base.substr(0, dot);
  return base.empty() || base == "-" ? "model" : base;
}

class Checker {
public:
  Checker(const SourceFile &source, DiagnosticEngine &diags)
      : source_(source), diags_(diags), values_(source, diags) {}

  std::optional<RunSpec> run(const File &file);

private:
  using Handler = void (Checker::*)(const Expr &);
  struct KeyHandler {
    std::string_view key;
    Handler handler;
  };

  // Blocks.
  void classify(const File &file);
  void checkTemplates(const File &file);
  void checkClauses(const Block &block, Kind kind);
  void checkReference(const ast::Ident &ref, std::string_view what,
                      const Block *target);
  void dispatch(const Block &block, const std::vector<KeyHandler> &handlers);
  SourceRange at(const Origin &origin, const Block *block) const;

  // data
  void dataFiles(const Expr &e);
  void dataTokenizer(const Expr &e);
  void dataHoldout(const Expr &e);
  // model
  void setDim(const Expr &e, std::string_view key, int64_t &field,
              Origin &origin, int64_t max = kMaxDim);
  void modelLayers(const Expr &e) {
    setDim(e, "layers", model().config.nLayer, model().layers, 4096);
  }
  void modelDModel(const Expr &e) {
    setDim(e, "d_model", model().config.dModel, model().dModel);
  }
  void modelDHead(const Expr &e) {
    setDim(e, "d_head", model().config.dHead, model().dHead);
  }
  void modelHeads(const Expr &e) { setDim(e, "heads", heads_, model().heads); }
  void modelDMlp(const Expr &e) {
    setDim(e, "d_mlp", model().config.dMlp, model().dMlp);
  }
  void modelCtx(const Expr &e) {
    setDim(e, "ctx", model().config.ctx, model().ctx);
  }
  void modelVocab(const Expr &e) {
    setDim(e, "vocab", model().config.vocab, model().vocab);
  }
  void modelActivations(const Expr &e);
  void modelWeights(const Expr &e);
  void modelEmbeddings(const Expr &e);
  void setBool(const Expr &e, std::string_view key, bool &field,
               Origin &origin);
  void modelSink(const Expr &e) {
    setBool(e, "sink", model().config.attentionSink, model().sink);
  }
  void modelBigram(const Expr &e) {
    setBool(e, "bigram", model().config.bigramTable, model().bigram);
  }
  void modelPositional(const Expr &e) {
    setBool(e, "positional", model().config.positionalTable,
            model().positional);
  }
  void finishModel();
  std::optional<circ::NodeLocationSet> sites(const Expr &e,
                                             std::string_view what);
  // train
  template <typename T>
  void setWhole(const Expr &e, std::string_view key, Setting<T> &field,
                Bounds bounds);
  void trainSteps(const Expr &e) {
    setWhole(e, "steps", train().steps, Bounds::between(1, kMaxSteps));
  }
  void trainTokens(const Expr &e) {
    setWhole(e, "tokens", tokens_, Bounds::between(1, kMaxSeed));
  }
  void trainBatch(const Expr &e) {
    setWhole(e, "batch", train().batch, Bounds::between(1, kMaxDim));
  }
  void trainSeed(const Expr &e) {
    setWhole(e, "seed", train().seed, Bounds::between(0, kMaxSeed));
  }
  void trainThreads(const Expr &e) {
    setWhole(e, "threads", train().threads, Bounds::between(0, 4096));
  }
  void trainOptimizer(const Expr &e);
  void trainLr(const Expr &e);
  void trainSparsity(const Expr &e);
  void trainGradNorm(const Expr &e);
  void trainLog(const Expr &e);
  void trainEval(const Expr &e);
  void trainCheckpoint(const Expr &e);
  void trainOut(const Expr &e);
  void finishTrain();
  bool checkPath(const Expr &e, std::string_view path, bool allowStep);
  std::optional<int64_t> interval(const Expr &e, std::string_view what,
                                  int64_t steps);
  // prune
  void pruneTasks(const Expr &e);
  void pruneCheckpoint(const Expr &e);
  void pruneTargetLoss(const Expr &e);
  void pruneAblation(const Expr &e);
  void pruneNodes(const Expr &e);
  void pruneKCoef(const Expr &e);
  void pruneSteps(const Expr &e) {
    setWhole(e, "steps", prune().steps, Bounds::between(1, kMaxSteps));
  }
  void pruneLr(const Expr &e);
  void pruneBatch(const Expr &e) {
    setWhole(e, "batch", prune().batch, Bounds::between(1, kMaxDim));
  }
  void pruneBisect(const Expr &e);
  void pruneSearch(const Expr &e);
  void pruneOut(const Expr &e);
  void pruneSeed(const Expr &e) {
    setWhole(e, "seed", prune().seed, Bounds::between(0, kMaxSeed));
  }
  void pruneThreads(const Expr &e) {
    setWhole(e, "threads", prune().threads, Bounds::between(0, 4096));
  }
  void finishPrune();
  // kernel
  bool kernelTarget(const Block &block);
  void kernelLayout(const Expr &e);
  void kernelTile(const Expr &e);
  void kernelVectorWidth(const Expr &e);
  void kernelThreadsPerBlock(const Expr &e);
  bool isAuto(const Expr &e) const {
    return e.kind == ExprKind::Symbol && e.text == "auto";
  }
  bool requireTarget(const Expr &e, std::string_view key, KernelTarget target);
  void finishKernel();

  ModelSpec &model() { return spec_.model; }
  DataSpec &data() { return *spec_.data; }
  TrainSpec &train() { return *spec_.train; }
  PruneSpec &prune() { return *spec_.prune; }
  KernelSpec &kernel() { return spec_.kernels.back(); }
  bool modelIsSparse() const {
    return spec_.model.config.weightDensity < 1.0 ||
           spec_.model.config.embedDensity < 1.0;
  }

  const SourceFile &source_;
  DiagnosticEngine &diags_;
  ValueReader values_;
  RunSpec spec_;

  const Block *dataBlock_ = nullptr;
  const Block *modelBlock_ = nullptr;
  const Block *trainBlock_ = nullptr;
  const Block *pruneBlock_ = nullptr;
  std::vector<const Block *> kernelBlocks_;
  const Block *current_ = nullptr;

  // Values that only exist while checking.
  int64_t heads_ = 0;
  Setting<int64_t> tokens_;
  const Expr *annealTarget_ = nullptr;
  const Expr *logInterval_ = nullptr;
  const Expr *evalInterval_ = nullptr;
  const Expr *checkpointInterval_ = nullptr;
  bool evalNone_ = false, logNone_ = false, checkpointNone_ = false;
  bool sparsityWritten_ = false;
  bool unknownBlock_ = false;
  /// Built-in task names, then those of the file's task blocks.
  std::vector<std::string> knownTasks_;
};

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

SourceRange Checker::at(const Origin &origin, const Block *block) const {
  if (origin.written() || !block)
    return origin.range;
  return block->kind.range;
}

void Checker::classify(const File &file) {
  std::vector<std::string_view> kinds;
  for (const BlockKeys &bk : kBlockKeys)
    kinds.push_back(bk.kind);
  for (const Block &block : file.blocks) {
    const std::string &k = block.kind.name;
    const Block **slot = nullptr;
    Kind kind;
    if (k == "data") {
      slot = &dataBlock_;
      kind = Kind::Data;
    } else if (k == "model") {
      slot = &modelBlock_;
      kind = Kind::Model;
    } else if (k == "train") {
      slot = &trainBlock_;
      kind = Kind::Train;
    } else if (k == "prune") {
      slot = &pruneBlock_;
      kind = Kind::Prune;
    } else if (k == "kernel") {
      kernelBlocks_.push_back(&block);
      checkClauses(block, Kind::Kernel);
      continue;
    } else {
      diags_.report(DiagID::UnknownBlock, block.kind.range,
                    "unknown block '" + k + "'; expected " + quotedList(kinds) +
                        didYouMean(k, kinds));
      unknownBlock_ = true;
      continue;
    }
    checkClauses(block, kind);
    if (*slot) {
      diags_
          .report(DiagID::DuplicateBlock, block.kind.range,
                  "a second '" + k + "' block; a .circ file has one")
          .note((*slot)->kind.range, "the first is here");
      continue;
    }
    *slot = &block;
  }
}

void Checker::checkClauses(const Block &block, Kind kind) {
  const std::string &k = block.kind.name;
  if (block.on && kind != Kind::Train)
    diags_.report(DiagID::UnexpectedClause, block.on->range,
                  "'on <data>' belongs to 'train' blocks, not '" + k + "'");
  bool wantsFor = kind == Kind::Prune || kind == Kind::Kernel;
  if (block.target && !wantsFor)
    diags_.report(DiagID::UnexpectedClause, block.forKeyword,
                  "'for' belongs to 'prune' and 'kernel' blocks, not '" + k +
                      "'");
  if (!block.target && kind == Kind::Prune)
    diags_.report(DiagID::MissingClause, block.kind.range,
                  "'prune' needs the tasks to prune for, as in "
                  "'prune for single_double_quote { ... }'");
  if (!block.target && kind == Kind::Kernel)
    diags_.report(DiagID::MissingClause, block.kind.range,
                  "'kernel' needs a target, as in 'kernel for cpu { ... }'");
}

void Checker::checkReference(const ast::Ident &ref, std::string_view what,
                             const Block *target) {
  if (target && target->name && target->name->name == ref.name)
    return;
  Diagnostic &diag = [&]() -> Diagnostic & {
    if (!target)
      return diags_.report(DiagID::UnknownReference, ref.range,
                           "no " + std::string(what) + " block named '" +
                               ref.name + "'");
    std::vector<std::string_view> names;
    if (target->name)
      names.push_back(target->name->name);
    return diags_.report(DiagID::UnknownReference, ref.range,
                         "no " + std::string(what) + " named '" + ref.name +
                             "'" + didYouMean(ref.name, names));
  }();
  if (target)
    diag.note(target->name ? target->name->range : target->kind.range,
              target->name ? "the " + std::string(what) + " is named '" +
                                 target->name->name + "'"
                           : "the " + std::string(what) + " block has no name");
}

void Checker::dispatch(const Block &block,
                       const std::vector<KeyHandler> &handlers) {
  current_ = &block;
  std::vector<std::string_view> keys;
  for (const KeyHandler &h : handlers)
    keys.push_back(h.key);
  std::map<std::string, const Statement *> seen;
  for (const Statement &stmt : block.statements) {
    const std::string &key = stmt.key.name;
    const KeyHandler *handler = nullptr;
    for (const KeyHandler &h : handlers)
      if (h.key == key)
        handler = &h;
    if (!handler) {
      // A key of another block is a likelier slip than a misspelling.
      std::vector<std::string_view> owners;
      for (const BlockKeys &bk : kBlockKeys)
        for (std::string_view other : bk.keys)
          if (other == key)
            owners.push_back(bk.kind);
      std::string message =
          "unknown key '" + key + "' in a '" + block.kind.name + "' block";
      std::string hint = didYouMean(key, keys);
      if (!hint.empty())
        message += hint;
      else if (!owners.empty())
        message += "; '" + key + "' belongs in " + quotedList(owners) +
                   (owners.size() > 1 ? " blocks" : " block");
      diags_.report(DiagID::UnknownKey, stmt.key.range, message);
      continue;
    }
    auto [it, inserted] = seen.emplace(key, &stmt);
    if (!inserted) {
      diags_
          .report(DiagID::DuplicateKey, stmt.key.range,
                  "'" + key + "' is set twice")
          .note(it->second->key.range, "first set here");
      continue;
    }
    (this->*(handler->handler))(*stmt.value);
  }
}

/// Hands the file's task and list blocks to the task library, as one buffer
/// in which everything else is blanked out (so positions stay those of the
/// file), and learns the names of the tasks they define.
void Checker::checkTemplates(const File &file) {
  knownTasks_ = circ::tasks::builtinTaskNames();
  if (file.templates.empty())
    return;
  const std::string &text = source_.text();
  std::string buffer(text.size(), ' ');
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' || text[i] == '\r')
      buffer[i] = text[i];
  for (const TemplateBlock &block : file.templates) {
    buffer.replace(block.range.begin, block.range.end - block.range.begin,
                   source_.slice(block.range));
    spec_.templateBlocks.push_back(block.range);
    // Named even when broken, so `prune for` does not add "unknown task".
    if (block.kind.name == "task" && block.name)
      knownTasks_.push_back(block.name->name);
  }
  circ::tasks::ParseResult result =
      circ::tasks::parseTaskTemplates(buffer, source_.path());
  for (const circ::tasks::Diagnostic &error : result.errors) {
    // The library counts lines and byte columns from 1, as we do.
    uint32_t line = std::max(1u, std::min(error.loc.line, source_.numLines()));
    std::string_view lineText = source_.lineText(line);
    uint32_t begin = static_cast<uint32_t>(lineText.data() - text.data()) +
                     std::min<uint32_t>(error.loc.col ? error.loc.col - 1 : 0,
                                        static_cast<uint32_t>(lineText.size()));
    diags_.report(DiagID::TaskTemplateError, {begin, begin + 1}, error.message);
  }
  if (result.ok())
    spec_.userTasks = std::move(result.tasks);
}

std::optional<RunSpec> Checker::run(const File &file) {
  unsigned errorsBefore = diags_.errorCount();
  spec_.path = source_.path();
  checkTemplates(file);
  classify(file);

  // Names and references.
  if (trainBlock_) {
    if (trainBlock_->name)
      checkReference(*trainBlock_->name, "model", modelBlock_);
    if (trainBlock_->on)
      checkReference(*trainBlock_->on, "data", dataBlock_);
  }
  if (pruneBlock_ && pruneBlock_->name)
    checkReference(*pruneBlock_->name, "model", modelBlock_);
  for (const Block *k : kernelBlocks_)
    if (k->name)
      checkReference(*k->name, "model", modelBlock_);

  if (dataBlock_) {
    spec_.data.emplace();
    data().name = dataBlock_->name ? dataBlock_->name->name : "";
    data().range = dataBlock_->range;
    dispatch(*dataBlock_, {{"files", &Checker::dataFiles},
                           {"tokenizer", &Checker::dataTokenizer},
                           {"holdout", &Checker::dataHoldout}});
  }

  model().name = modelBlock_ && modelBlock_->name ? modelBlock_->name->name
                                                  : fileStem(source_.path());
  if (modelBlock_) {
    // The paper's 1x sweep shape (reference/paper.md §1.2); ModelConfig's own
    // defaults are for tests.
    circ::ModelConfig &c = model().config;
    c.nLayer = 8;
    c.dModel = 256;
    c.dHead = 16;
    c.ctx = 256;
    c.vocab = 2048;
    c.activationFraction = 0.25;
    c.abstopkSites = circ::kAllNodeLocations;
    c.weightDensity = 1.0;
    c.embedDensity = 1.0;
    c.minPerUnit = 4;
    c.attentionSink = false;
    c.bigramTable = true;
    c.positionalTable = false;
    model().range = modelBlock_->range;
    dispatch(*modelBlock_, {{"layers", &Checker::modelLayers},
                            {"d_model", &Checker::modelDModel},
                            {"d_head", &Checker::modelDHead},
                            {"heads", &Checker::modelHeads},
                            {"d_mlp", &Checker::modelDMlp},
                            {"ctx", &Checker::modelCtx},
                            {"vocab", &Checker::modelVocab},
                            {"activations", &Checker::modelActivations},
                            {"weights", &Checker::modelWeights},
                            {"embeddings", &Checker::modelEmbeddings},
                            {"sink", &Checker::modelSink},
                            {"bigram", &Checker::modelBigram},
                            {"positional", &Checker::modelPositional}});
    finishModel();
  } else if (!unknownBlock_) { // an unknown block may be a misspelt model
    uint32_t end = static_cast<uint32_t>(source_.text().size());
    diags_.report(DiagID::MissingModel, {end, end},
                  "no 'model' block; a .circ file describes one model, as in "
                  "'model { layers = 8 }'");
  }

  if (trainBlock_) {
    spec_.train.emplace();
    train().range = trainBlock_->range;
    dispatch(*trainBlock_, {{"steps", &Checker::trainSteps},
                            {"tokens", &Checker::trainTokens},
                            {"batch", &Checker::trainBatch},
                            {"optimizer", &Checker::trainOptimizer},
                            {"lr", &Checker::trainLr},
                            {"sparsity", &Checker::trainSparsity},
                            {"grad_norm", &Checker::trainGradNorm},
                            {"log", &Checker::trainLog},
                            {"eval", &Checker::trainEval},
                            {"checkpoint", &Checker::trainCheckpoint},
                            {"out", &Checker::trainOut},
                            {"seed", &Checker::trainSeed},
                            {"threads", &Checker::trainThreads}});
    finishTrain();
  }

  if (pruneBlock_) {
    spec_.prune.emplace();
    prune().range = pruneBlock_->range;
    current_ = pruneBlock_;
    if (pruneBlock_->target)
      pruneTasks(*pruneBlock_->target);
    dispatch(*pruneBlock_, {{"checkpoint", &Checker::pruneCheckpoint},
                            {"target_loss", &Checker::pruneTargetLoss},
                            {"ablation", &Checker::pruneAblation},
                            {"nodes", &Checker::pruneNodes},
                            {"k_coef", &Checker::pruneKCoef},
                            {"steps", &Checker::pruneSteps},
                            {"lr", &Checker::pruneLr},
                            {"batch", &Checker::pruneBatch},
                            {"bisect", &Checker::pruneBisect},
                            {"search", &Checker::pruneSearch},
                            {"out", &Checker::pruneOut},
                            {"seed", &Checker::pruneSeed},
                            {"threads", &Checker::pruneThreads}});
    finishPrune();
  }

  for (const Block *block : kernelBlocks_) {
    spec_.kernels.emplace_back();
    kernel().range = block->range;
    if (!block->target || !kernelTarget(*block)) {
      spec_.kernels.pop_back();
      continue;
    }
    dispatch(*block, {{"layout", &Checker::kernelLayout},
                      {"tile", &Checker::kernelTile},
                      {"vector_width", &Checker::kernelVectorWidth},
                      {"threads_per_block", &Checker::kernelThreadsPerBlock}});
    finishKernel();
  }

  if (diags_.errorCount() > errorsBefore || diags_.limitReached())
    return std::nullopt;
  return std::move(spec_);
}

//===----------------------------------------------------------------------===//
// data
//===----------------------------------------------------------------------===//

void Checker::dataFiles(const Expr &e) {
  if (e.kind == ExprKind::Symbol) {
    if (values_.symbol(e, "files", {"python_stdlib"}))
      data().files = {{}, written(e)};
    return;
  }
  if (e.kind != ExprKind::String && e.kind != ExprKind::List) {
    values_.wrongType(e, "files",
                      "a glob pattern, a list of them, or 'python_stdlib'");
    return;
  }
  auto items = values_.listOf(e, "files");
  if (!items)
    return;
  std::vector<std::string> globs;
  for (const Expr *item : *items) {
    auto glob = values_.string(*item, "files");
    if (!glob)
      return;
    globs.push_back(*glob);
  }
  data().files = {std::move(globs), written(e)};
}

void Checker::dataTokenizer(const Expr &e) {
  static const std::vector<Form> forms = {{"bpe", {{"vocab", true, false}}}};
  auto m = values_.form(e, "tokenizer", forms);
  if (!m)
    return;
  if (const Expr *vocab = m->arg("vocab")) {
    // Byte-level BPE: 256 byte tokens and <|endoftext|> at least.
    if (auto v = values_.whole(*vocab, "vocab", Bounds::between(257, kMaxDim)))
      data().vocab = {*v, written(*vocab)};
  }
}

void Checker::dataHoldout(const Expr &e) {
  if (auto v = values_.fraction(e, "holdout", Bounds::unitClosedOpen()))
    data().holdout = {*v, written(e)};
}

//===----------------------------------------------------------------------===//
// model
//===----------------------------------------------------------------------===//

void Checker::setDim(const Expr &e, std::string_view key, int64_t &field,
                     Origin &origin, int64_t max) {
  if (auto v =
          values_.whole(e, key, Bounds::between(1, static_cast<double>(max)))) {
    field = *v;
    origin = written(e);
  }
}

void Checker::setBool(const Expr &e, std::string_view key, bool &field,
                      Origin &origin) {
  if (auto v = values_.boolean(e, key)) {
    field = *v;
    origin = written(e);
  }
}

std::optional<circ::NodeLocationSet> Checker::sites(const Expr &e,
                                                    std::string_view what) {
  if (e.kind == ExprKind::Symbol && e.text == "all")
    return circ::kAllNodeLocations;
  if (e.kind != ExprKind::Symbol && e.kind != ExprKind::List) {
    values_.wrongType(e, what, "'all' or a list of node locations");
    return std::nullopt;
  }
  auto items = values_.listOf(e, what);
  if (!items)
    return std::nullopt;
  std::vector<std::string_view> names = siteNames();
  circ::NodeLocationSet set = 0;
  std::vector<const Expr *> firstAt(circ::kNumNodeLocations, nullptr);
  bool ok = true;
  for (const Expr *item : *items) {
    if (item->kind != ExprKind::Symbol) {
      values_.wrongType(*item, what, "a node location such as 'attn_q'");
      ok = false;
      continue;
    }
    auto loc = circ::parseNodeLocation(item->text);
    if (!loc) {
      std::string hint = didYouMean(item->text, names);
      diags_.report(
          DiagID::UnknownSite, item->range,
          "unknown node location '" + item->text + "'" +
              (hint.empty() ? "; expected " + quotedList(names) : hint));
      ok = false;
      continue;
    }
    unsigned bit = static_cast<unsigned>(*loc);
    if (firstAt[bit]) {
      diags_
          .report(DiagID::DuplicateSite, item->range,
                  "'" + item->text + "' is listed twice")
          .note(firstAt[bit]->range, "first listed here");
      ok = false;
      continue;
    }
    firstAt[bit] = item;
    set |= static_cast<circ::NodeLocationSet>(1u << bit);
  }
  if (!ok)
    return std::nullopt;
  return set;
}

void Checker::modelActivations(const Expr &e) {
  static const std::vector<Form> forms = {
      {"abstopk", {{"keep", true, false}, {"at", false, false}}},
      {"dense", {}}};
  auto m = values_.form(e, "activations", forms);
  if (!m)
    return;
  circ::ModelConfig &c = model().config;
  if (m->is("dense")) {
    c.activationFraction = 1.0;
    c.abstopkSites = circ::kAllNodeLocations;
    model().activationKeep = model().activationSites = written(e);
    return;
  }
  if (const Expr *keep = m->arg("keep")) {
    auto v = values_.fraction(*keep, "keep", Bounds::unitOpenClosed());
    if (!v)
      return;
    c.activationFraction = *v;
    model().activationKeep = written(*keep);
  }
  if (const Expr *at = m->arg("at")) {
    auto set = sites(*at, "at");
    if (!set)
      return;
    c.abstopkSites = *set;
    model().activationSites = written(*at);
  }
}

void Checker::modelWeights(const Expr &e) {
  static const std::vector<Form> forms = {
      {"sparse", {{"density", true, true}, {"min_per_neuron", false, false}}},
      {"dense", {}}};
  auto m = values_.form(e, "weights", forms);
  if (!m)
    return;
  circ::ModelConfig &c = model().config;
  if (m->is("dense")) {
    c.weightDensity = 1.0;
    model().weightDensity = model().minPerNeuron = written(e);
    return;
  }
  const Expr *density = m->arg("density");
  auto v = values_.fraction(*density, "density", Bounds::unitOpenClosed());
  if (!v)
    return;
  c.weightDensity = *v;
  model().weightDensity = written(*density);
  if (const Expr *min = m->arg("min_per_neuron")) {
    if (auto n = values_.whole(*min, "min_per_neuron",
                               Bounds::between(0, kMaxDim))) {
      c.minPerUnit = *n;
      model().minPerNeuron = written(*min);
    }
  }
}

void Checker::modelEmbeddings(const Expr &e) {
  static const std::vector<Form> forms = {{"sparse", {{"density", true, true}}},
                                          {"dense", {}}};
  auto m = values_.form(e, "embeddings", forms);
  if (!m)
    return;
  if (m->is("dense")) {
    model().config.embedDensity = 1.0;
    model().embedDensity = written(e);
    return;
  }
  const Expr *density = m->arg("density");
  if (auto v =
          values_.fraction(*density, "density", Bounds::unitOpenClosed())) {
    model().config.embedDensity = *v;
    model().embedDensity = written(*density);
  }
}

void Checker::finishModel() {
  ModelSpec &m = model();
  circ::ModelConfig &c = m.config;
  const Block *b = modelBlock_;
  std::string dm = std::to_string(c.dModel);

  // Heads: H · d_head = d_model, from whichever of the two is written.
  bool dimsOk = true;
  if (m.heads.written() && m.dHead.written()) {
    if (heads_ * c.dHead != c.dModel) {
      diags_
          .report(DiagID::ConflictingKeys, m.heads.range,
                  "heads × d_head = " + std::to_string(heads_) + " × " +
                      std::to_string(c.dHead) + " = " +
                      std::to_string(heads_ * c.dHead) + ", but d_model is " +
                      dm)
          .note(m.dHead.range, "d_head is set here");
      dimsOk = false;
    }
  } else if (m.heads.written()) {
    if (c.dModel % heads_ != 0) {
      diags_.report(DiagID::NotDivisible, m.heads.range,
                    "heads (" + std::to_string(heads_) +
                        ") must divide d_model (" + dm + ")");
      dimsOk = false;
    } else {
      c.dHead = c.dModel / heads_;
      m.dHead = derived("d_model / heads", m.heads.range);
    }
  } else if (c.dModel % c.dHead != 0) {
    if (m.dHead.written())
      diags_.report(DiagID::NotDivisible, m.dHead.range,
                    "d_head (" + std::to_string(c.dHead) +
                        ") must divide d_model (" + dm + ")");
    else
      diags_.report(DiagID::NotDivisible, m.dModel.range,
                    "d_model (" + dm + ") must be a multiple of d_head (" +
                        std::to_string(c.dHead) + " by default)");
    dimsOk = false;
  }
  if (!m.heads.written() && dimsOk)
    m.heads = derived("d_model / d_head", m.dModel.range);

  if (!m.dMlp.written()) {
    c.dMlp = 4 * c.dModel;
    m.dMlp = derived("4 × d_model", m.dModel.range);
  }

  if (dataBlock_) {
    const Setting<int64_t> &tv = data().vocab;
    if (!m.vocab.written()) {
      c.vocab = tv.value;
      m.vocab =
          derived("the data block's tokenizer", at(tv.origin, dataBlock_));
    } else if (c.vocab != tv.value) {
      diags_
          .report(DiagID::VocabMismatch, m.vocab.range,
                  "model vocab (" + std::to_string(c.vocab) +
                      ") differs from the tokenizer's (" +
                      std::to_string(tv.value) + ")")
          .note(at(tv.origin, dataBlock_),
                tv.origin.written()
                    ? "the tokenizer's vocab is set here"
                    : "the tokenizer has 2048 tokens by default");
    }
  }

  // AbsTopK keeps floor(keep · width) >= 1 channels at every site.
  if (dimsOk && c.activationFraction < 1.0) {
    for (int i = 0; i < circ::kNumNodeLocations; ++i) {
      auto loc = static_cast<circ::NodeLocation>(i);
      if (!circ::contains(c.abstopkSites, loc))
        continue;
      int64_t width = c.siteWidth(loc);
      auto k = static_cast<int64_t>(std::floor(c.activationFraction * width));
      if (k >= 1)
        continue;
      diags_.report(DiagID::AbstopkKeepsNothing, at(m.activationKeep, b),
                    "abstopk keeps floor(" +
                        formatFraction(c.activationFraction) + " × " +
                        std::to_string(width) + ") = 0 of the " +
                        std::to_string(width) + " channels at '" +
                        circ::nodeLocationName(loc) + "'");
      break;
    }
  }

  if (c.weightDensity < 1.0) {
    // Every unit (neuron, q/k/v channel, head channel) of every block matrix
    // has d_model weights.
    if (c.minPerUnit > c.dModel) {
      diags_.report(DiagID::MinPerNeuronTooLarge, at(m.minPerNeuron, b),
                    "min_per_neuron (" + std::to_string(c.minPerUnit) +
                        ") exceeds the " + dm +
                        " weights each neuron has (d_model)");
    } else if (static_cast<double>(c.minPerUnit) >
               c.weightDensity * static_cast<double>(c.dModel)) {
      diags_
          .report(
              DiagID::DensityBelowMinimum, at(m.weightDensity, b),
              "density " + formatFraction(c.weightDensity) + " leaves " +
                  formatNumber(c.weightDensity * c.dModel) +
                  " weights per neuron, fewer than min_per_neuron (" +
                  std::to_string(c.minPerUnit) + "); the matrices will keep " +
                  formatFraction(static_cast<double>(c.minPerUnit) / c.dModel) +
                  " of their weights")
          .note(at(m.minPerNeuron, b), m.minPerNeuron.written()
                                           ? "min_per_neuron is set here"
                                           : "min_per_neuron is 4 by default");
    }
  }

  if (!m.embedDensity.written()) {
    c.embedDensity = c.weightDensity;
    m.embedDensity = derived("the weights' density", m.weightDensity.range);
  }
}

//===----------------------------------------------------------------------===//
// train
//===----------------------------------------------------------------------===//

template <typename T>
void Checker::setWhole(const Expr &e, std::string_view key, Setting<T> &field,
                       Bounds bounds) {
  if (auto v = values_.whole(e, key, bounds))
    field = {static_cast<T>(*v), written(e)};
}

void Checker::trainOptimizer(const Expr &e) {
  static const std::vector<Form> forms = {
      {"adamw", {{"betas"}, {"eps"}, {"weight_decay"}}}};
  auto m = values_.form(e, "optimizer", forms);
  if (!m)
    return;
  TrainSpec &t = train();
  if (const Expr *betas = m->arg("betas")) {
    if (betas->kind != ExprKind::Tuple || betas->operands.size() != 2) {
      values_.wrongType(*betas, "betas", "a pair such as (0.9, 0.95)");
      return;
    }
    auto b1 =
        values_.real(*betas->operands[0], "betas", Bounds::unitClosedOpen());
    auto b2 =
        values_.real(*betas->operands[1], "betas", Bounds::unitClosedOpen());
    if (!b1 || !b2)
      return;
    t.beta1 = {*b1, written(*betas->operands[0])};
    t.beta2 = {*b2, written(*betas->operands[1])};
  }
  if (const Expr *eps = m->arg("eps"))
    if (auto v = values_.real(*eps, "eps", Bounds::positive()))
      t.eps = {*v, written(*eps)};
  if (const Expr *wd = m->arg("weight_decay"))
    if (auto v = values_.real(*wd, "weight_decay", Bounds::atLeast(0)))
      t.weightDecay = {*v, written(*wd)};
}

void Checker::trainLr(const Expr &e) {
  TrainSpec &t = train();
  if (e.kind != ExprKind::Symbol && e.kind != ExprKind::Call) {
    // A plain number: a constant learning rate.
    auto v = values_.real(e, "lr", Bounds::positive());
    if (!v)
      return;
    t.lrPeak = {*v, written(e)};
    t.lrWarmup = {0.0, derived("constant lr", e.range)};
    t.lrDecay = {LrDecay::None, derived("constant lr", e.range)};
    t.sharkfin = {false, derived("constant lr", e.range)};
    return;
  }
  static const std::vector<Param> params = {
      {"peak", true, false}, {"warmup"}, {"decay"}};
  static const std::vector<Form> forms = {{"sharkfin", params},
                                          {"warmup_decay", params}};
  auto m = values_.form(e, "lr", forms);
  if (!m)
    return;
  t.sharkfin = {m->is("sharkfin"), written(e)};
  if (const Expr *peak = m->arg("peak"))
    if (auto v = values_.real(*peak, "peak", Bounds::positive()))
      t.lrPeak = {*v, written(*peak)};
  if (const Expr *warmup = m->arg("warmup"))
    if (auto v = values_.fraction(*warmup, "warmup", Bounds::unitClosedOpen()))
      t.lrWarmup = {*v, written(*warmup)};
  if (const Expr *decay = m->arg("decay"))
    if (auto v = values_.symbol(*decay, "decay", {"linear", "none"}))
      t.lrDecay = {*v == "linear" ? LrDecay::Linear : LrDecay::None,
                   written(*decay)};
}

void Checker::trainSparsity(const Expr &e) {
  static const std::vector<Form> forms = {
      {"anneal", {{"density", true, false}, {"during"}, {"shape"}}},
      {"none", {}}};
  auto m = values_.form(e, "sparsity", forms);
  if (!m)
    return;
  TrainSpec &t = train();
  if (m->is("none")) {
    t.annealFrom = {1.0, written(e)};
    t.annealStart = {0.0, written(e)};
    t.annealEnd = {0.0, written(e)};
    sparsityWritten_ = true;
    return;
  }
  if (const Expr *density = m->arg("density")) {
    if (density->kind != ExprKind::Binary || density->op != BinaryOp::Arrow) {
      values_.wrongType(*density, "density", "'from -> to', as in 1 -> 1/1000");
      return;
    }
    const Expr &from = *density->operands[0];
    auto v = values_.fraction(from, "from", Bounds::unitOpenClosed());
    if (!v)
      return;
    t.annealFrom = {*v, written(from)};
    const Expr &to = *density->operands[1];
    if (to.kind == ExprKind::Symbol) {
      if (!values_.symbol(to, "to", {"target"}))
        return;
    } else {
      if (!values_.fraction(to, "to", Bounds::unitOpenClosed()))
        return;
      annealTarget_ = &to; // compared with the model in finishTrain
    }
  }
  if (const Expr *during = m->arg("during")) {
    if (during->kind != ExprKind::Binary || during->op != BinaryOp::Range) {
      values_.wrongType(*during, "during",
                        "a range of training progress such as 1%..50%");
      return;
    }
    const Expr &lo = *during->operands[0], &hi = *during->operands[1];
    auto start = values_.fraction(lo, "during", Bounds::unitClosed());
    auto end = values_.fraction(hi, "during", Bounds::unitClosed());
    if (!start || !end)
      return;
    if (*start > *end) {
      diags_.report(DiagID::RangeNotOrdered, during->range,
                    "the anneal runs backwards: " + formatPercent(*start) +
                        " comes after " + formatPercent(*end));
      return;
    }
    t.annealStart = {*start, written(lo)};
    t.annealEnd = {*end, written(hi)};
  }
  if (const Expr *shape = m->arg("shape")) {
    auto v = values_.symbol(*shape, "shape", {"linear", "power_law"});
    if (!v)
      return;
    t.annealShape = {*v == "linear" ? AnnealShape::Linear
                                    : AnnealShape::PowerLaw,
                     written(*shape)};
  }
  sparsityWritten_ = true;
}

void Checker::trainGradNorm(const Expr &e) {
  if (auto v = values_.symbol(e, "grad_norm", {"rms", "none"}))
    train().gradRmsNorm = {*v == "rms", written(e)};
}

/// `every(N, to: path)` and friends. Returns the matched form (or none).
static const std::vector<Form> &everyForms(std::string_view option) {
  static const std::vector<Form> withTo = {
      {"every", {{"interval", true, true}, {"to"}}}, {"none", {}}};
  static const std::vector<Form> withBatches = {
      {"every", {{"interval", true, true}, {"batches"}}}, {"none", {}}};
  return option == "to" ? withTo : withBatches;
}

void Checker::trainLog(const Expr &e) {
  auto m = values_.form(e, "log", everyForms("to"));
  if (!m)
    return;
  if (m->is("none")) {
    logNone_ = true;
    train().logEvery = {0, written(e)};
    return;
  }
  logInterval_ = m->arg("interval");
  if (const Expr *to = m->arg("to"))
    if (auto path = values_.string(*to, "to"))
      if (checkPath(*to, *path, false))
        train().logPath = {*path, written(*to)};
}

void Checker::trainEval(const Expr &e) {
  auto m = values_.form(e, "eval", everyForms("batches"));
  if (!m)
    return;
  if (m->is("none")) {
    evalNone_ = true;
    train().evalEvery = {0, written(e)};
    return;
  }
  evalInterval_ = m->arg("interval");
  if (const Expr *batches = m->arg("batches"))
    setWhole(*batches, "batches", train().evalBatches,
             Bounds::between(1, kMaxDim));
}

void Checker::trainCheckpoint(const Expr &e) {
  auto m = values_.form(e, "checkpoint", everyForms("to"));
  if (!m)
    return;
  if (m->is("none")) {
    checkpointNone_ = true;
    train().checkpointEvery = {0, written(e)};
    return;
  }
  checkpointInterval_ = m->arg("interval");
  if (const Expr *to = m->arg("to"))
    if (auto path = values_.string(*to, "to"))
      if (checkPath(*to, *path, true))
        train().checkpointPath = {*path, written(*to)};
}

void Checker::trainOut(const Expr &e) {
  if (auto path = values_.string(e, "out"))
    if (checkPath(e, *path, false))
      train().out = {*path, written(e)};
}

bool Checker::checkPath(const Expr &e, std::string_view path, bool allowStep) {
  for (size_t open = path.find('{'); open != std::string_view::npos;
       open = path.find('{', open + 1)) {
    size_t close = path.find('}', open);
    if (close == std::string_view::npos) {
      diags_.report(DiagID::BadPlaceholder, e.range,
                    "unclosed '{' in path; the only placeholder is '{step}'");
      return false;
    }
    std::string name(path.substr(open + 1, close - open - 1));
    if (name == "step" && allowStep)
      continue;
    if (name == "step") {
      diags_.report(DiagID::BadPlaceholder, e.range,
                    "'{step}' is only meaningful in checkpoint paths");
      return false;
    }
    std::string hint = allowStep ? didYouMean(name, {"step"}) : "";
    diags_.report(DiagID::BadPlaceholder, e.range,
                  "unknown placeholder '{" + name + "}' in path" +
                      (hint.empty() ? (allowStep ? "; the only one is '{step}'"
                                                 : "; this path takes none")
                                    : "; did you mean '{step}'?"));
    return false;
  }
  return true;
}

std::optional<int64_t> Checker::interval(const Expr &e, std::string_view what,
                                         int64_t steps) {
  auto n = values_.number(e, what, "a number of steps or a percentage");
  if (!n)
    return std::nullopt;
  if (n->percent) {
    auto f = values_.fraction(e, what, Bounds::unitOpenClosed());
    if (!f)
      return std::nullopt;
    return std::max<int64_t>(1, static_cast<int64_t>(std::llround(*f * steps)));
  }
  return values_.whole(e, what, Bounds::between(1, kMaxSteps));
}

void Checker::finishTrain() {
  TrainSpec &t = train();
  const Block *b = trainBlock_;
  if (!dataBlock_)
    diags_
        .report(DiagID::MissingData, b->kind.range,
                "'train' needs a 'data' block to read its corpus")
        .note(b->kind.range, "add 'data { }' to train on the Python standard "
                             "library");

  if (tokens_.origin.written() && t.steps.origin.written()) {
    diags_
        .report(DiagID::ConflictingKeys, tokens_.origin.range,
                "'tokens' and 'steps' both set the length of training; keep "
                "one")
        .note(t.steps.origin.range, "'steps' is set here");
    return;
  }
  if (tokens_.origin.written()) {
    int64_t perStep = t.batch.value * model().config.ctx;
    t.steps = {(tokens_.value + perStep - 1) / perStep,
               derived("tokens / (batch × ctx)", tokens_.origin.range)};
  } else if (!t.steps.origin.written()) {
    diags_.report(DiagID::MissingKey, b->kind.range,
                  "'train' needs 'steps' (or 'tokens'), as in 'steps = 40k'");
    return;
  }

  if (!t.out.origin.written())
    t.out = {"runs/" + model().name, derived("runs/<model name>")};
  if (!t.logPath.origin.written())
    t.logPath = {t.out.value + "/metrics.jsonl",
                 derived("<out>/metrics.jsonl")};
  if (!t.checkpointPath.origin.written())
    t.checkpointPath = {t.out.value + "/step-{step}.safetensors",
                        derived("<out>/step-{step}.safetensors")};

  struct Periodic {
    const Expr *expr;
    Setting<int64_t> &every;
    const char *what;
  };
  for (Periodic p :
       {Periodic{logInterval_, t.logEvery, "log"},
        Periodic{evalInterval_, t.evalEvery, "eval"},
        Periodic{checkpointInterval_, t.checkpointEvery, "checkpoint"}})
    if (p.expr)
      if (auto v = interval(*p.expr, p.what, t.steps.value))
        p.every = {*v, written(*p.expr)};

  if (dataBlock_ && t.evalEvery.value > 0 && data().holdout.value == 0) {
    diags_
        .report(DiagID::EvalNeedsHoldout, at(t.evalEvery.origin, b),
                "evaluation needs held-out data, but the data block's holdout "
                "is 0")
        .note(at(data().holdout.origin, dataBlock_), "holdout is set here");
  }

  // The density anneal: by default dense to the model's densities over
  // 1%..50% of training, or nothing to do for a dense model.
  if (!modelBlock_)
    return;
  const circ::ModelConfig &c = model().config;
  if (!modelIsSparse()) {
    if (sparsityWritten_ && t.annealEnd.value > 0)
      diags_.report(DiagID::AnnealOnDense, at(t.annealEnd.origin, b),
                    "the model is dense, so this sparsity anneal has no "
                    "effect");
    else if (!sparsityWritten_) {
      t.annealStart = {0.0, derived("the model is dense")};
      t.annealEnd = {0.0, derived("the model is dense")};
    }
    return;
  }
  double target = c.weightDensity < 1.0 ? c.weightDensity : c.embedDensity;
  const Origin &targetOrigin =
      c.weightDensity < 1.0 ? model().weightDensity : model().embedDensity;
  if (annealTarget_) {
    auto to = values_.fraction(*annealTarget_, "to", Bounds::unitOpenClosed());
    if (to && *to != target)
      diags_
          .report(DiagID::AnnealTargetMismatch, annealTarget_->range,
                  "the anneal ends at density " + formatFraction(*to) +
                      ", but the model's is " + formatFraction(target))
          .note(at(targetOrigin, modelBlock_),
                "the model's density is set here; write 'target' to follow it");
  }
  double highest = std::max(c.weightDensity, c.embedDensity);
  if (t.annealFrom.value < highest)
    diags_.report(DiagID::OutOfRange, t.annealFrom.origin.range,
                  "the anneal must start at or above the final density " +
                      formatFraction(highest) + ", got " +
                      formatFraction(t.annealFrom.value));
}

//===----------------------------------------------------------------------===//
// prune
//===----------------------------------------------------------------------===//

void Checker::pruneTasks(const Expr &e) {
  if (e.kind != ExprKind::Symbol && e.kind != ExprKind::List) {
    values_.wrongType(e, "for", "a task name or a list of them");
    return;
  }
  auto items = values_.listOf(e, "for");
  if (!items)
    return;
  std::vector<std::string_view> known(knownTasks_.begin(), knownTasks_.end());
  std::vector<std::string> tasks;
  std::map<std::string, const Expr *> seen;
  bool ok = true;
  for (const Expr *item : *items) {
    if (item->kind != ExprKind::Symbol) {
      values_.wrongType(*item, "for",
                        "a task name such as single_double_quote");
      ok = false;
      continue;
    }
    if (std::find(known.begin(), known.end(), item->text) == known.end()) {
      std::string hint = didYouMean(item->text, known);
      Diagnostic &diag =
          diags_.report(DiagID::UnknownTask, item->range,
                        "unknown task '" + item->text + "'" + hint);
      if (hint.empty())
        diag.note(item->range, "known tasks: " + quotedList(known, "and"));
      ok = false;
      continue;
    }
    auto [it, inserted] = seen.emplace(item->text, item);
    if (!inserted) {
      diags_
          .report(DiagID::DuplicateTask, item->range,
                  "task '" + item->text + "' is listed twice")
          .note(it->second->range, "first listed here");
      ok = false;
      continue;
    }
    tasks.push_back(item->text);
  }
  if (ok)
    prune().tasks = {std::move(tasks), written(e)};
}

void Checker::pruneCheckpoint(const Expr &e) {
  if (auto path = values_.string(e, "checkpoint"))
    prune().checkpoint = {*path, written(e)};
}

void Checker::pruneTargetLoss(const Expr &e) {
  if (auto v = values_.real(e, "target_loss", Bounds::positive()))
    prune().targetLoss = {*v, written(e)};
}

void Checker::pruneAblation(const Expr &e) {
  if (auto v = values_.symbol(e, "ablation", {"mean", "zero"}))
    prune().ablation = {*v == "mean" ? Ablation::Mean : Ablation::Zero,
                        written(e)};
}

void Checker::pruneNodes(const Expr &e) {
  if (auto set = sites(e, "nodes"))
    prune().nodes = {*set, written(e)};
}

void Checker::pruneKCoef(const Expr &e) {
  if (auto v = values_.real(e, "k_coef", Bounds::atLeast(0)))
    prune().kCoef = {*v, written(e)};
}

void Checker::pruneLr(const Expr &e) {
  if (auto v = values_.real(e, "lr", Bounds::positive()))
    prune().lr = {*v, written(e)};
}

void Checker::pruneBisect(const Expr &e) {
  if (auto v = values_.boolean(e, "bisect"))
    prune().bisect = {*v, written(e)};
}

void Checker::pruneSearch(const Expr &e) {
  static const std::vector<Form> forms = {{"none", {}},
                                          {"random", {{"trials", true, true}}}};
  auto m = values_.form(e, "search", forms);
  if (!m)
    return;
  if (m->is("none")) {
    prune().searchTrials = {1, written(e)};
    return;
  }
  setWhole(*m->arg("trials"), "trials", prune().searchTrials,
           Bounds::between(1, kMaxDim));
}

void Checker::pruneOut(const Expr &e) {
  if (auto path = values_.string(e, "out"))
    if (checkPath(e, *path, false))
      prune().out = {*path, written(e)};
}

void Checker::finishPrune() {
  PruneSpec &p = prune();
  const Block *b = pruneBlock_;
  if (!p.checkpoint.origin.written()) {
    if (spec_.train && trainBlock_ && train().steps.value > 0)
      p.checkpoint = {train().finalCheckpointPath(),
                      derived("the train block's final checkpoint")};
    else if (!trainBlock_)
      diags_.report(DiagID::MissingCheckpoint, b->kind.range,
                    "'prune' needs a model to prune: add a 'train' block or "
                    "'checkpoint = \"path.safetensors\"'");
  }
  if (!p.out.origin.written()) {
    if (spec_.train)
      p.out = {train().out.value + "/circuits",
               derived("<train out>/circuits")};
    else
      p.out = {"runs/" + model().name + "/circuits",
               derived("runs/<model name>/circuits")};
  }
  if (p.ablation.value == Ablation::Mean && !dataBlock_)
    diags_.report(DiagID::MissingData, at(p.ablation.origin, b),
                  "mean ablation needs a 'data' block: pruned nodes are "
                  "replaced by their mean over pretraining data");
}

//===----------------------------------------------------------------------===//
// kernel
//===----------------------------------------------------------------------===//

bool Checker::kernelTarget(const Block &block) {
  static const std::vector<Form> forms = {{"cpu", {}},
                                          {"cuda", {{"arch", true, false}}}};
  auto m = values_.form(*block.target, "for", forms);
  if (!m)
    return false;
  KernelSpec &k = kernel();
  if (m->is("cpu")) {
    k.target = KernelTarget::Cpu;
  } else {
    k.target = KernelTarget::Cuda;
    k.smArch = 90;
    if (const Expr *arch = m->arg("arch")) {
      const std::string &s = arch->text;
      bool ok = arch->kind == ExprKind::Symbol && s.size() >= 5 &&
                s.size() <= 6 && s.compare(0, 3, "sm_") == 0 &&
                s.find_first_not_of("0123456789", 3) == std::string::npos;
      if (!ok) {
        diags_.report(DiagID::UnknownValue, arch->range,
                      "unknown GPU architecture '" + values_.text(*arch) +
                          "'; write sm_<version>, as in sm_90");
        return false;
      }
      k.smArch = std::stoi(s.substr(3));
    }
  }
  for (const KernelSpec &other : spec_.kernels) {
    if (&other == &k || other.target != k.target)
      continue;
    diags_
        .report(DiagID::DuplicateBlock, block.target->range,
                std::string("a second 'kernel' block for ") + name(k.target))
        .note(other.range, "the first is here");
    return false;
  }
  return true;
}

bool Checker::requireTarget(const Expr &e, std::string_view key,
                            KernelTarget target) {
  if (kernel().target == target)
    return true;
  diags_.report(DiagID::KeyNotForTarget, e.range,
                "'" + std::string(key) + "' applies to " + name(target) +
                    " kernels, not " + name(kernel().target));
  return false;
}

void Checker::kernelLayout(const Expr &e) {
  static const std::vector<Form> forms = {
      {"auto", {}}, {"dense", {}}, {"csr", {{"index", true, false}}}};
  auto m = values_.form(e, "layout", forms);
  if (!m)
    return;
  KernelSpec &k = kernel();
  if (!m->is("csr")) {
    k.layout = {m->is("auto") ? WeightLayout::Auto : WeightLayout::Dense,
                written(e)};
    return;
  }
  k.layout = {WeightLayout::Csr, written(e)};
  if (const Expr *index = m->arg("index")) {
    auto bits = values_.whole(*index, "index", Bounds::between(1, 64));
    if (!bits)
      return;
    if (*bits != 16 && *bits != 32) {
      diags_.report(DiagID::OutOfRange, index->range,
                    "'index' must be 16 or 32 (bits), got " +
                        values_.text(*index));
      return;
    }
    k.indexBits = {static_cast<int>(*bits), written(*index)};
  }
}

void Checker::kernelTile(const Expr &e) {
  if (isAuto(e)) {
    kernel().tile = {{}, written(e)};
    return;
  }
  if (e.kind != ExprKind::Tuple || e.operands.size() != 2) {
    values_.wrongType(e, "tile", "'auto' or (rows, cols), as in (64, 64)");
    return;
  }
  std::vector<int64_t> tile;
  for (const ExprPtr &dim : e.operands) {
    auto v = values_.whole(*dim, "tile", Bounds::between(1, 4096));
    if (!v)
      return;
    tile.push_back(*v);
  }
  kernel().tile = {std::move(tile), written(e)};
}

void Checker::kernelVectorWidth(const Expr &e) {
  if (!requireTarget(e, "vector_width", KernelTarget::Cpu))
    return;
  if (isAuto(e)) {
    kernel().vectorWidth = {0, written(e)};
    return;
  }
  auto v = values_.whole(e, "vector_width", Bounds::between(1, 64));
  if (!v)
    return;
  if ((*v & (*v - 1)) != 0) {
    diags_.report(DiagID::OutOfRange, e.range,
                  "'vector_width' must be a power of two, got " +
                      values_.text(e));
    return;
  }
  kernel().vectorWidth = {*v, written(e)};
}

void Checker::kernelThreadsPerBlock(const Expr &e) {
  if (!requireTarget(e, "threads_per_block", KernelTarget::Cuda))
    return;
  if (isAuto(e)) {
    kernel().threadsPerBlock = {0, written(e)};
    return;
  }
  auto v = values_.whole(e, "threads_per_block", Bounds::between(32, 1024));
  if (!v)
    return;
  if (*v % 32 != 0) {
    diags_.report(
        DiagID::OutOfRange, e.range,
        "'threads_per_block' must be a multiple of 32 (a warp), got " +
            values_.text(e));
    return;
  }
  kernel().threadsPerBlock = {*v, written(e)};
}

void Checker::finishKernel() {
  KernelSpec &k = kernel();
  if (k.layout.value != WeightLayout::Csr || k.indexBits.value != 16 ||
      !modelBlock_)
    return;
  const circ::ModelConfig &c = model().config;
  int64_t widest = std::max(c.dModel, c.dMlp);
  if (widest > 65536)
    diags_.report(DiagID::IndexTooNarrow, k.indexBits.origin.range,
                  "16-bit indices cannot address the " +
                      std::to_string(widest) +
                      " columns of the widest weight matrix; use 'index: 32'");
}

} // namespace

//===----------------------------------------------------------------------===//
// RunSpec helpers and entry points
//===----------------------------------------------------------------------===//

Origin ModelSpec::originOf(std::string_view key) const {
  auto first = [&](std::initializer_list<const Origin *> parts) {
    for (const Origin *o : parts)
      if (o->written())
        return *o;
    return Origin{Origin::Kind::Default, range, {}};
  };
  if (key == "layers")
    return first({&layers});
  if (key == "d_model")
    return first({&dModel});
  if (key == "d_head")
    return first({&dHead});
  if (key == "heads")
    return first({&heads});
  if (key == "d_mlp")
    return first({&dMlp});
  if (key == "ctx")
    return first({&ctx});
  if (key == "vocab")
    return first({&vocab});
  if (key == "activations")
    return first({&activationKeep, &activationSites});
  if (key == "weights")
    return first({&weightDensity, &minPerNeuron});
  if (key == "embeddings")
    return first({&embedDensity});
  if (key == "sink")
    return first({&sink});
  if (key == "bigram")
    return first({&bigram});
  if (key == "positional")
    return first({&positional});
  return first({});
}

std::string TrainSpec::finalCheckpointPath() const {
  std::string path = checkpointPath.value;
  std::string step = std::to_string(steps.value);
  for (size_t pos = path.find("{step}"); pos != std::string::npos;
       pos = path.find("{step}", pos + step.size()))
    path.replace(pos, 6, step);
  return path;
}

const circ::tasks::Task *RunSpec::findTask(std::string_view name) const {
  for (const circ::tasks::Task &task : userTasks)
    if (task.name() == name)
      return &task;
  return circ::tasks::findBuiltinTask(name);
}

const KernelSpec *RunSpec::kernelFor(KernelTarget target) const {
  for (const KernelSpec &k : kernels)
    if (k.target == target)
      return &k;
  return nullptr;
}

const char *circ::frontend::name(LrDecay decay) {
  return decay == LrDecay::Linear ? "linear" : "none";
}
const char *circ::frontend::name(AnnealShape shape) {
  return shape == AnnealShape::Linear ? "linear" : "power_law";
}
const char *circ::frontend::name(Ablation ablation) {
  return ablation == Ablation::Mean ? "mean" : "zero";
}
const char *circ::frontend::name(KernelTarget target) {
  return target == KernelTarget::Cpu ? "cpu" : "cuda";
}
const char *circ::frontend::name(WeightLayout layout) {
  switch (layout) {
  case WeightLayout::Auto:
    return "auto";
  case WeightLayout::Dense:
    return "dense";
  case WeightLayout::Csr:
    return "csr";
  }
  return "auto";
}

const std::vector<BlockKeys> &circ::frontend::blockKeys() { return kBlockKeys; }

std::optional<RunSpec> circ::frontend::check(const File &file,
                                             const SourceFile &source,
                                             DiagnosticEngine &diags) {
  return Checker(source, diags).run(file);
}

std::optional<RunSpec>
circ::frontend::parseAndCheck(const SourceFile &source, DiagnosticEngine &diags,
                              const ParseLimits &limits) {
  std::unique_ptr<File> file = parse(source, diags, limits);
  if (!file)
    return std::nullopt;
  return check(*file, source, diags);
}
