//===- SpecPrinter.cpp - print a resolved spec as .circ ---------*- C++ -*-===//
//
// Values are printed canonically (formatNumber, formatPercent), not copied
// from the source, so the output is stable and reads back exactly.
//
//===----------------------------------------------------------------------===//

#include "circ/Frontend/SpecPrinter.h"

#include "Values.h"
#include "circ/Frontend/Check.h"

#include <algorithm>

using namespace circ::frontend;

namespace {

/// One part of a value and where it came from, for the trailing comment.
struct Part {
  std::string_view label;
  const Origin *origin;
};

class Printer {
public:
  Printer(const SourceFile &source, std::ostream &os,
          const SpecPrintOptions &options)
      : source_(source), os_(os), options_(options) {}

  void print(const RunSpec &spec);

private:
  void open(const std::string &header, std::string_view kind);
  void key(std::string_view key, const std::string &value,
           std::vector<Part> parts);
  void close();
  std::string position(const Origin &origin) const;
  std::string describe(const std::vector<Part> &parts) const;

  void data(const DataSpec &d);
  void model(const ModelSpec &m);
  void train(const TrainSpec &t, const RunSpec &spec);
  void prune(const PruneSpec &p, const RunSpec &spec);
  void kernel(const KernelSpec &k, const RunSpec &spec);

  const SourceFile &source_;
  std::ostream &os_;
  const SpecPrintOptions &options_;
  size_t width_ = 0;
  /// The block's statements and their origin comments, printed by close()
  /// with the comments aligned.
  std::vector<std::pair<std::string, std::string>> lines_;
};

std::string sitesValue(circ::NodeLocationSet set) {
  if (set == circ::kAllNodeLocations)
    return "all";
  std::string out = "[";
  for (int i = 0; i < circ::kNumNodeLocations; ++i) {
    auto loc = static_cast<circ::NodeLocation>(i);
    if (!circ::contains(set, loc))
      continue;
    if (out.size() > 1)
      out += ", ";
    out += circ::nodeLocationName(loc);
  }
  return out + "]";
}

std::string boolValue(bool b) { return b ? "true" : "false"; }
std::string intValue(int64_t v) { return std::to_string(v); }

std::string Printer::position(const Origin &origin) const {
  LineCol lc = source_.lineCol(origin.range.begin);
  return source_.path() + ":" + std::to_string(lc.line) + ":" +
         std::to_string(lc.col);
}

/// "quote.circ:12:3", "default", "derived: 4 × d_model", or for values with
/// several parts the first written position plus the parts not written.
std::string Printer::describe(const std::vector<Part> &parts) const {
  std::string where;
  std::vector<std::string> defaults, derived;
  for (const Part &part : parts) {
    const Origin &o = *part.origin;
    switch (o.kind) {
    case Origin::Kind::Written:
      if (where.empty())
        where = position(o);
      break;
    case Origin::Kind::Default:
      defaults.emplace_back(part.label);
      break;
    case Origin::Kind::Derived: {
      std::string d = parts.size() == 1
                          ? o.because
                          : std::string(part.label) + " = " + o.because;
      // Derived from a written value: say where that is.
      if (!o.range.empty())
        d += " (" + position(o) + ")";
      derived.push_back(d);
      break;
    }
    }
  }
  std::vector<std::string> pieces;
  if (!where.empty())
    pieces.push_back(where);
  if (!defaults.empty())
    pieces.push_back(defaults.size() == parts.size() ? "default" : "default: ");
  if (!defaults.empty() && defaults.size() != parts.size()) {
    for (size_t i = 0; i < defaults.size(); ++i)
      pieces.back() += (i ? ", " : "") + defaults[i];
  }
  for (const std::string &d : derived)
    pieces.push_back("derived: " + d);
  std::string out;
  for (size_t i = 0; i < pieces.size(); ++i)
    out += (i ? "; " : "") + pieces[i];
  return out;
}

void Printer::open(const std::string &header, std::string_view kind) {
  os_ << header << " {\n";
  width_ = 0;
  for (const BlockKeys &bk : blockKeys())
    if (bk.kind == kind)
      for (std::string_view k : bk.keys)
        width_ = std::max(width_, k.size());
}

void Printer::key(std::string_view key, const std::string &value,
                  std::vector<Part> parts) {
  lines_.emplace_back("  " + std::string(key) +
                          std::string(width_ - key.size(), ' ') + " = " + value,
                      options_.origins ? describe(parts) : "");
}

void Printer::close() {
  // Comments line up unless a statement is too long to make that useful.
  size_t column = 0;
  for (const auto &line : lines_)
    if (line.first.size() <= 56)
      column = std::max(column, line.first.size());
  for (const auto &[statement, comment] : lines_) {
    os_ << statement;
    if (!comment.empty())
      os_ << std::string(
                 column > statement.size() ? column - statement.size() : 0, ' ')
          << "  // " << comment;
    os_ << '\n';
  }
  lines_.clear();
  os_ << "}\n";
}

void Printer::data(const DataSpec &d) {
  open(d.name.empty() ? "data" : "data " + d.name, "data");
  std::string files;
  if (d.usesPythonStdlib()) {
    files = "python_stdlib";
  } else if (d.files.value.size() == 1) {
    files = formatString(d.files.value[0]);
  } else {
    files = "[";
    for (size_t i = 0; i < d.files.value.size(); ++i)
      files += (i ? ", " : "") + formatString(d.files.value[i]);
    files += "]";
  }
  key("files", files, {{"files", &d.files.origin}});
  key("tokenizer", "bpe(vocab: " + intValue(d.vocab.value) + ")",
      {{"vocab", &d.vocab.origin}});
  key("holdout", formatPercent(d.holdout.value),
      {{"holdout", &d.holdout.origin}});
  close();
}

void Printer::model(const ModelSpec &m) {
  const circ::ModelConfig &c = m.config;
  open("model " + m.name, "model");
  key("layers", intValue(c.nLayer), {{"layers", &m.layers}});
  key("d_model", intValue(c.dModel), {{"d_model", &m.dModel}});
  key("d_head", intValue(c.dHead), {{"d_head", &m.dHead}});
  key("heads", intValue(c.nHead()), {{"heads", &m.heads}});
  key("d_mlp", intValue(c.dMlp), {{"d_mlp", &m.dMlp}});
  key("ctx", intValue(c.ctx), {{"ctx", &m.ctx}});
  key("vocab", intValue(c.vocab), {{"vocab", &m.vocab}});
  if (c.activationFraction >= 1.0 && c.abstopkSites == circ::kAllNodeLocations)
    key("activations", "dense", {{"activations", &m.activationKeep}});
  else
    key("activations",
        "abstopk(keep: " + formatFraction(c.activationFraction) +
            ", at: " + sitesValue(c.abstopkSites) + ")",
        {{"keep", &m.activationKeep}, {"at", &m.activationSites}});
  if (c.weightDensity >= 1.0 && c.minPerUnit == 4)
    key("weights", "dense", {{"weights", &m.weightDensity}});
  else
    key("weights",
        "sparse(density: " + formatFraction(c.weightDensity) +
            ", min_per_neuron: " + intValue(c.minPerUnit) + ")",
        {{"density", &m.weightDensity}, {"min_per_neuron", &m.minPerNeuron}});
  if (c.embedDensity >= 1.0)
    key("embeddings", "dense", {{"embeddings", &m.embedDensity}});
  else
    key("embeddings", "sparse(density: " + formatFraction(c.embedDensity) + ")",
        {{"density", &m.embedDensity}});
  key("sink", boolValue(c.attentionSink), {{"sink", &m.sink}});
  key("bigram", boolValue(c.bigramTable), {{"bigram", &m.bigram}});
  key("positional", boolValue(c.positionalTable),
      {{"positional", &m.positional}});
  close();
}

/// every(N, <extra>) or none, for log, eval and checkpoint.
static std::string every(int64_t n, const std::string &extra) {
  return n == 0 ? "none" : "every(" + intValue(n) + ", " + extra + ")";
}

void Printer::train(const TrainSpec &t, const RunSpec &spec) {
  std::string header = "train " + spec.model.name;
  if (spec.data && !spec.data->name.empty())
    header += " on " + spec.data->name;
  open(header, "train");
  key("steps", intValue(t.steps.value), {{"steps", &t.steps.origin}});
  key("batch", intValue(t.batch.value), {{"batch", &t.batch.origin}});
  key("optimizer",
      "adamw(betas: (" + formatNumber(t.beta1.value) + ", " +
          formatNumber(t.beta2.value) + "), eps: " + formatNumber(t.eps.value) +
          ", weight_decay: " + formatNumber(t.weightDecay.value) + ")",
      {{"beta1", &t.beta1.origin},
       {"beta2", &t.beta2.origin},
       {"eps", &t.eps.origin},
       {"weight_decay", &t.weightDecay.origin}});
  bool constant = !t.sharkfin.value && t.lrWarmup.value == 0 &&
                  t.lrDecay.value == LrDecay::None;
  if (constant)
    key("lr", formatNumber(t.lrPeak.value), {{"lr", &t.lrPeak.origin}});
  else
    key("lr",
        std::string(t.sharkfin.value ? "sharkfin" : "warmup_decay") +
            "(peak: " + formatNumber(t.lrPeak.value) +
            ", warmup: " + formatPercent(t.lrWarmup.value) +
            ", decay: " + name(t.lrDecay.value) + ")",
        {{"shape", &t.sharkfin.origin},
         {"peak", &t.lrPeak.origin},
         {"warmup", &t.lrWarmup.origin},
         {"decay", &t.lrDecay.origin}});
  if (t.annealEnd.value == 0 && t.annealFrom.value == 1.0)
    key("sparsity", "none", {{"sparsity", &t.annealEnd.origin}});
  else
    key("sparsity",
        "anneal(" + formatFraction(t.annealFrom.value) +
            " -> target, during: " + formatPercent(t.annealStart.value) + ".." +
            formatPercent(t.annealEnd.value) +
            ", shape: " + name(t.annealShape.value) + ")",
        {{"from", &t.annealFrom.origin},
         {"start", &t.annealStart.origin},
         {"end", &t.annealEnd.origin},
         {"shape", &t.annealShape.origin}});
  key("grad_norm", t.gradRmsNorm.value ? "rms" : "none",
      {{"grad_norm", &t.gradRmsNorm.origin}});
  key("log", every(t.logEvery.value, "to: " + formatString(t.logPath.value)),
      {{"every", &t.logEvery.origin}, {"to", &t.logPath.origin}});
  key("eval",
      every(t.evalEvery.value, "batches: " + intValue(t.evalBatches.value)),
      {{"every", &t.evalEvery.origin}, {"batches", &t.evalBatches.origin}});
  key("checkpoint",
      every(t.checkpointEvery.value,
            "to: " + formatString(t.checkpointPath.value)),
      {{"every", &t.checkpointEvery.origin}, {"to", &t.checkpointPath.origin}});
  key("out", formatString(t.out.value), {{"out", &t.out.origin}});
  key("seed", std::to_string(t.seed.value), {{"seed", &t.seed.origin}});
  key("threads", intValue(t.threads.value), {{"threads", &t.threads.origin}});
  close();
}

void Printer::prune(const PruneSpec &p, const RunSpec &spec) {
  std::string tasks;
  if (p.tasks.value.size() == 1) {
    tasks = p.tasks.value[0];
  } else {
    tasks = "[";
    for (size_t i = 0; i < p.tasks.value.size(); ++i)
      tasks += (i ? ", " : "") + p.tasks.value[i];
    tasks += "]";
  }
  open("prune " + spec.model.name + " for " + tasks, "prune");
  key("checkpoint", formatString(p.checkpoint.value),
      {{"checkpoint", &p.checkpoint.origin}});
  key("target_loss", formatNumber(p.targetLoss.value),
      {{"target_loss", &p.targetLoss.origin}});
  key("ablation", name(p.ablation.value), {{"ablation", &p.ablation.origin}});
  key("nodes", sitesValue(p.nodes.value), {{"nodes", &p.nodes.origin}});
  key("k_coef", formatNumber(p.kCoef.value), {{"k_coef", &p.kCoef.origin}});
  key("steps", intValue(p.steps.value), {{"steps", &p.steps.origin}});
  key("lr", formatNumber(p.lr.value), {{"lr", &p.lr.origin}});
  key("batch", intValue(p.batch.value), {{"batch", &p.batch.origin}});
  key("bisect", boolValue(p.bisect.value), {{"bisect", &p.bisect.origin}});
  key("search",
      p.searchTrials.value == 1
          ? "none"
          : "random(trials: " + intValue(p.searchTrials.value) + ")",
      {{"search", &p.searchTrials.origin}});
  key("out", formatString(p.out.value), {{"out", &p.out.origin}});
  key("seed", std::to_string(p.seed.value), {{"seed", &p.seed.origin}});
  key("threads", intValue(p.threads.value), {{"threads", &p.threads.origin}});
  close();
}

void Printer::kernel(const KernelSpec &k, const RunSpec &spec) {
  std::string target = k.target == KernelTarget::Cpu
                           ? "cpu"
                           : "cuda(sm_" + std::to_string(k.smArch) + ")";
  open("kernel " + spec.model.name + " for " + target, "kernel");
  std::string layout = name(k.layout.value);
  if (k.layout.value == WeightLayout::Csr)
    layout += "(index: " + std::to_string(k.indexBits.value) + ")";
  key("layout", layout,
      k.layout.value == WeightLayout::Csr
          ? std::vector<Part>{{"layout", &k.layout.origin},
                              {"index", &k.indexBits.origin}}
          : std::vector<Part>{{"layout", &k.layout.origin}});
  key("tile",
      k.tile.value.empty() ? "auto"
                           : "(" + intValue(k.tile.value[0]) + ", " +
                                 intValue(k.tile.value[1]) + ")",
      {{"tile", &k.tile.origin}});
  if (k.target == KernelTarget::Cpu)
    key("vector_width",
        k.vectorWidth.value ? intValue(k.vectorWidth.value) : "auto",
        {{"vector_width", &k.vectorWidth.origin}});
  else
    key("threads_per_block",
        k.threadsPerBlock.value ? intValue(k.threadsPerBlock.value) : "auto",
        {{"threads_per_block", &k.threadsPerBlock.origin}});
  close();
}

void Printer::print(const RunSpec &spec) {
  if (options_.origins)
    os_ << "// The resolved spec of " << spec.path
        << ". Each value is followed by where it\n"
           "// came from: its position in the file, 'default', or how it "
           "was derived.\n";
  bool first = true;
  auto gap = [&] {
    if (!first)
      os_ << '\n';
    first = false;
  };
  // Task and list blocks are the task library's language: copied verbatim.
  for (SourceRange block : spec.templateBlocks) {
    gap();
    if (options_.origins)
      os_ << "// " << position({Origin::Kind::Written, block, {}}) << '\n';
    os_ << source_.slice(block) << '\n';
  }
  if (spec.data) {
    gap();
    data(*spec.data);
  }
  gap();
  model(spec.model);
  if (spec.train) {
    gap();
    train(*spec.train, spec);
  }
  if (spec.prune) {
    gap();
    prune(*spec.prune, spec);
  }
  for (const KernelSpec &k : spec.kernels) {
    gap();
    kernel(k, spec);
  }
}

} // namespace

void circ::frontend::printSpec(const RunSpec &spec, const SourceFile &source,
                               std::ostream &os,
                               const SpecPrintOptions &options) {
  Printer(source, os, options).print(spec);
}
