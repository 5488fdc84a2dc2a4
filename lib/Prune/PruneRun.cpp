//===- PruneRun.cpp - `circc prune` as a library ---------------*- C++ -*-===//

#include "circ/Prune/PruneRun.h"

#include "Hash.h"
#include "circ/Prune/Audit.h"
#include "circ/Prune/CompiledTaskModel.h"
#include "circ/Prune/DistributedPrune.h"
#include "circ/Prune/Means.h"
#include "circ/Prune/Pruner.h"
#include "circ/Target/JIT.h"
#include "circ_runtime/Corpus.h"
#include "circ_runtime/Markup.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/TopK.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace circ;
using namespace circ::prune;
using rt::Error;
using rt::Expected;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fmt(double v, const char *f = "%.4g") {
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

/// Progress on stderr: plain lines, and a live step counter on a terminal.
class Progress {
public:
  explicit Progress(bool on) : on(on), tty(on && ::isatty(2)) {}
  void say(const std::string &line) {
    if (!on)
      return;
    clearLive();
    std::cerr << line << "\n";
  }
  void live(const std::string &line) {
    if (!tty || secondsSince(last) < 0.25)
      return;
    last = Clock::now();
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
    shown = true;
  }
  void clearLive() {
    if (shown)
      std::cerr << "\r\x1b[K" << std::flush;
    shown = false;
  }

private:
  bool on, tty, shown = false;
  Clock::time_point last{};
};

/// The weights of a store as the circuit writers read them.
circuits::WeightMap weightMap(const rt::ParamStore &store) {
  circuits::WeightMap map;
  for (size_t i = 0; i < store.size(); ++i)
    map[store.spec(i).name] = {store.values(i), store.spec(i).shape};
  return map;
}

/// A circuit of just the kept nodes (enough to count its edges).
circuits::Circuit bareCircuit(const NodeSpace &space,
                              const std::vector<char> &keep) {
  circuits::Circuit c;
  c.config = space.config();
  for (int64_t i = 0; i < space.size(); ++i)
    if (keep[i] && space.prunable(i)) {
      circuits::NodeInfo n;
      n.id = space.id(i);
      c.nodes.push_back(std::move(n));
    }
  return c;
}

Expected<int64_t> blockEdges(const NodeSpace &space,
                             const rt::ParamStore &weights,
                             const std::vector<char> &keep) {
  Expected<circuits::EdgeCounts> counts = circuits::countEdges(
      space.config(), weightMap(weights), bareCircuit(space, keep));
  if (!counts)
    return counts.takeError();
  return counts->blockEdges();
}

/// Random weights of the model's shape at its final sparsity.
Expected<std::unique_ptr<rt::ParamStore>>
randomWeights(const ModelConfig &config, uint64_t seed, rt::ThreadPool &pool) {
  Expected<std::unique_ptr<rt::ParamStore>> store = rt::ParamStore::create(config);
  if (!store)
    return store;
  if (Error e = (*store)->initialize(seed, pool))
    return e;
  for (size_t i = 0; i < (*store)->size(); ++i) {
    const ParamSpec &spec = (*store)->spec(i);
    if (!spec.isSparse())
      continue;
    bool embedding = spec.kind == ParamKind::TokenEmbedding ||
                     spec.kind == ParamKind::Unembedding;
    double density = embedding ? config.embedDensity : config.weightDensity;
    int64_t minPerUnit =
        spec.unitAxis == UnitAxis::None ? 0 : config.minPerUnit;
    rt::projectTopK((*store)->values(i), spec,
                    rt::l0Budget(spec, density, minPerUnit), minPerUnit, 0.0f,
                    pool, (*store)->mutableIndex(i));
  }
  return store;
}

/// Display text of a token.
std::string tokenText(const rt::Tokenizer &tok, int32_t id) {
  if (id < 0 || id >= tok.vocabSize())
    return "?";
  return tok.tokenBytes(id);
}

/// Everything one task's pruning works with.
struct TaskRun {
  const tasks::Task *task;
  TaskData data;
  PromptSet train, eval, offDistribution;
};

/// Shared state of a prune run.
struct Run {
  const frontend::RunSpec &spec;
  const frontend::PruneSpec &p;
  const rt::Checkpoint &checkpoint;
  const PruneOverrides &o;
  ModelConfig config;
  rt::Tokenizer tokenizer;
  std::unique_ptr<rt::ThreadPool> pool;
  std::unique_ptr<rt::ParamStore> weights;
  std::unique_ptr<CompiledTaskModel> model;
  std::optional<NodeSpace> space;
  std::vector<float> means, ablation;
  std::shared_ptr<const rt::TokenStream> trainStream, holdoutStream;
  std::vector<int64_t> meanWindows;
  Progress progress;
  int64_t seqLen = 0;
};

PruneOptions pruneOptions(const Run &run, const std::string &label) {
  const frontend::PruneSpec &p = run.p;
  PruneOptions o;
  o.targetLoss = p.targetLoss.value;
  o.kCoef = p.kCoef.value;
  o.steps = run.o.steps.value_or(p.steps.value);
  o.lr = p.lr.value;
  o.seed = p.seed.value;
  o.bisect = p.bisect.value;
  o.searchTrials = p.searchTrials.value;
  o.logitScaling = run.o.logitScaling;
  Run *mutableRun = const_cast<Run *>(&run);
  o.progress = [mutableRun, label](const PruneProgress &s) {
    std::string trial =
        s.trials > 1 ? " trial " + std::to_string(s.trial + 1) + "/" +
                           std::to_string(s.trials)
                     : std::string();
    mutableRun->progress.live("  " + label + trial + ": step " +
                              std::to_string(s.step) + "/" +
                              std::to_string(s.steps) + ", task loss " +
                              fmt(s.taskLoss) + ", " +
                              std::to_string(s.keptNodes) + " nodes kept");
  };
  return o;
}

/// Loads the corpus the model was trained on, tokenised with its tokenizer.
Error loadStreams(Run &run) {
  rt::CorpusOptions options;
  if (run.o.corpus)
    options.spec = *run.o.corpus;
  else if (run.spec.data && !run.spec.data->usesPythonStdlib())
    options.spec = run.spec.data->files.value.front();
  options.holdoutFraction =
      run.spec.data ? run.spec.data->holdout.value : 0.01;
  options.threads = static_cast<unsigned>(run.pool->size());
  options.cacheDir = rt::defaultCacheDir();
  Expected<rt::Corpus> corpus = rt::loadCorpus(options, run.tokenizer);
  if (!corpus)
    return Error::failure("cannot load the pretraining data for the node "
                          "means: " + corpus.message());
  for (const std::string &w : corpus->listing.warnings)
    std::cerr << "circc: warning: " << w << "\n";
  run.trainStream = corpus->train;
  run.holdoutStream = corpus->holdout;
  return Error::success();
}

/// Node details for the report: importance, activations on the task and
/// on pretraining text.
Error describeNodes(Run &run, const TaskRun &t, const PruneResult &r,
                    circuits::Circuit &circuit) {
  const NodeSpace &space = *run.space;
  CompiledTaskModel &model = *run.model;
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < space.size(); ++i)
    if (r.keep[i] && space.prunable(i))
      kept.push_back(i);
  const Gates circuitG = circuitGates(space, run.ablation, r.keep);
  const Gates fullG = fullModelGates(space, run.ablation);

  // Importance: the loss increase when the node is ablated as well.
  std::vector<std::optional<double>> importance(kept.size());
  constexpr size_t kMaxImportance = 400;
  if (kept.size() <= kMaxImportance) {
    for (size_t n = 0; n < kept.size(); ++n) {
      std::vector<char> keep = r.keep;
      keep[kept[n]] = 0;
      Expected<double> l =
          circuitLoss(model, space, run.ablation, keep, t.eval, r.fit);
      if (!l)
        return l.takeError();
      importance[n] = *l - r.loss;
    }
  }

  // Activations on the held-out prompts, padded to the activation length.
  const int64_t ab = model.activationBatch(), at = model.activationSeqLen();
  const int32_t pad = run.tokenizer.eotId();
  std::vector<double> lastSum(kept.size(), 0.0);
  std::vector<std::vector<float>> acts;
  std::vector<int32_t> tokens(ab * at);
  std::vector<circuits::ActivationSample> samples; // per (node, label)
  samples.resize(kept.size() * 4);
  auto sampleOf = [&](const std::vector<std::vector<float>> &a, int64_t row,
                      int64_t node, const int32_t *ids, int64_t length,
                      const std::string &label) {
    const GateSlice &g = space.gateOf(node);
    size_t gi = &g - space.gates().data();
    circuits::ActivationSample s;
    s.label = label;
    for (int64_t p = 0; p < length; ++p) {
      s.tokens.push_back(tokenText(run.tokenizer, ids[p]));
      s.values.push_back(a[gi][(row * at + p) * g.width + (node - g.offset)]);
    }
    return s;
  };
  for (int pass = 0; pass < 2; ++pass) {
    const Gates &gates = pass == 0 ? circuitG : fullG;
    // Pass 0 (the circuit) covers every held-out row; pass 1 (the full
    // model) only the first pair, for the side-by-side samples.
    int64_t rows = pass == 0 ? t.eval.size() : std::min<int64_t>(2, t.eval.size());
    for (int64_t first = 0; first < rows; first += ab) {
      std::fill(tokens.begin(), tokens.end(), pad);
      int64_t n = std::min(ab, rows - first);
      for (int64_t r2 = 0; r2 < n; ++r2)
        std::copy_n(t.eval.tokens.begin() + (first + r2) * t.eval.seqLen,
                    std::min(t.eval.seqLen, at), tokens.begin() + r2 * at);
      if (Error e = model.activations(tokens.data(), gates, acts))
        return e;
      for (int64_t r2 = 0; r2 < n; ++r2) {
        int64_t row = first + r2, pos = t.eval.positions[row];
        for (size_t k = 0; k < kept.size(); ++k) {
          const GateSlice &g = space.gateOf(kept[k]);
          size_t gi = &g - space.gates().data();
          if (pass == 0)
            lastSum[k] += acts[gi][(r2 * at + pos) * g.width +
                                   (kept[k] - g.offset)];
          if (row < 2) {
            std::string label = std::string(row == 0 ? "A" : "B") +
                                (pass == 0 ? " (circuit)" : " (full model)");
            samples[k * 4 + pass * 2 + row] =
                sampleOf(acts, r2, kept[k], tokens.data() + r2 * at, pos + 1,
                         label);
          }
        }
      }
    }
  }

  // Top pretraining snippets per node (full model), over the first windows
  // the means were taken over.
  struct Hit {
    float value;
    size_t window;
    int64_t pos;
  };
  constexpr size_t kSnippetWindows = 16, kTopSnippets = 3;
  std::vector<std::vector<Hit>> top(kept.size());
  std::vector<std::vector<int32_t>> windowTokens;
  std::vector<std::vector<std::vector<float>>> windowActs;
  size_t windows = std::min(kSnippetWindows, run.meanWindows.size());
  const std::vector<int32_t> &stream = run.trainStream->tokens;
  for (size_t first = 0; first < windows; first += ab) {
    size_t n = std::min<size_t>(ab, windows - first);
    for (size_t w = 0; w < static_cast<size_t>(ab); ++w) {
      int64_t start = run.meanWindows[first + std::min(w, n - 1)];
      std::copy_n(stream.begin() + start, at, tokens.begin() + w * at);
    }
    if (Error e = model.activations(tokens.data(), fullG, acts))
      return e;
    for (size_t w = 0; w < n; ++w) {
      windowTokens.emplace_back(tokens.begin() + w * at,
                                tokens.begin() + (w + 1) * at);
      std::vector<std::vector<float>> perNode(kept.size());
      for (size_t k = 0; k < kept.size(); ++k) {
        const GateSlice &g = space.gateOf(kept[k]);
        size_t gi = &g - space.gates().data();
        Hit best{-std::numeric_limits<float>::infinity(), first + w, 0};
        for (int64_t p = 0; p < at; ++p) {
          float v = acts[gi][(w * at + p) * g.width + (kept[k] - g.offset)];
          perNode[k].push_back(v);
          if (v > best.value)
            best = {v, first + w, p};
        }
        top[k].push_back(best);
      }
      windowActs.push_back(std::move(perNode));
    }
  }

  for (size_t k = 0; k < kept.size(); ++k) {
    circuits::NodeInfo info;
    info.id = space.id(kept[k]);
    info.importance = importance[k];
    info.meanActivation = run.ablation[kept[k]];
    if (t.eval.size() > 0)
      info.taskActivation = lastSum[k] / t.eval.size();
    for (int s = 0; s < 4; ++s)
      if (!samples[k * 4 + s].label.empty())
        info.taskSamples.push_back(samples[k * 4 + s]);
    std::vector<Hit> &hits = top[k];
    std::sort(hits.begin(), hits.end(),
              [](const Hit &a, const Hit &b) { return a.value > b.value; });
    for (size_t h = 0; h < std::min(kTopSnippets, hits.size()); ++h) {
      const Hit &hit = hits[h];
      if (!(hit.value > 0))
        break;
      circuits::ActivationSample s;
      s.label = "top " + std::to_string(h + 1) + " (" + fmt(hit.value) + ")";
      int64_t from = std::max<int64_t>(0, hit.pos - 12);
      int64_t to = std::min<int64_t>(at, hit.pos + 4);
      for (int64_t p = from; p < to; ++p) {
        s.tokens.push_back(tokenText(run.tokenizer, windowTokens[hit.window][p]));
        s.values.push_back(windowActs[hit.window][k][p]);
      }
      info.pretrainSnippets.push_back(std::move(s));
    }
    circuit.nodes.push_back(std::move(info));
  }
  return Error::success();
}

/// The control prunings and evaluations of the audit.
Expected<AuditMeasurements> audit(Run &run, const TaskRun &t,
                                  const PruneResult &r, int64_t edges,
                                  rt::ParamStore *random,
                                  const std::vector<float> *randomMeans) {
  const NodeSpace &space = *run.space;
  CompiledTaskModel &model = *run.model;
  const bool mean = run.p.ablation.value == frontend::Ablation::Mean;
  AuditMeasurements m;
  m.targetLoss = run.p.targetLoss.value;
  m.ablation = mean ? "mean" : "zero";
  m.circuitLoss = r.loss;
  m.fullLoss = r.fullLoss;
  m.circuitNodes = r.keptNodes;
  m.circuitEdges = edges;

  // Necessity: ablate the circuit's prunable nodes, keep everything else.
  std::vector<char> rest(space.size(), 1);
  for (int64_t i = 0; i < space.size(); ++i)
    if (r.keep[i] && space.prunable(i))
      rest[i] = 0;
  Expected<double> necessity =
      circuitLoss(model, space, run.ablation, rest, t.eval);
  if (!necessity)
    return necessity.takeError();
  m.necessityLoss = *necessity;

  std::vector<float> zeros(space.size(), 0.0f);
  const std::vector<float> &other = mean ? zeros : run.means;
  Expected<double> underOther =
      circuitLoss(model, space, other, r.keep, t.eval, r.fit);
  if (!underOther)
    return underOther.takeError();
  m.circuitUnderOtherAblation = *underOther;

  if (t.offDistribution.size() > 0) {
    Expected<double> off =
        circuitLoss(model, space, run.ablation, r.keep, t.offDistribution, r.fit);
    Expected<double> offFull = circuitLoss(
        model, space, run.ablation, std::vector<char>(space.size(), 1),
        t.offDistribution);
    if (!off)
      return off.takeError();
    if (!offFull)
      return offFull.takeError();
    m.offDistributionLoss = *off;
    m.offDistributionFullLoss = *offFull;
  }

  if (!run.o.audit)
    return m;
  PruneOptions controls = pruneOptions(run, t.task->name() + " (controls)");
  controls.steps = run.o.auditSteps.value_or(controls.steps);
  controls.searchTrials = 1;
  auto control = [&](const std::string &what, const std::vector<float> &abl,
                     const PromptSet &train, const PromptSet &eval,
                     const rt::ParamStore &weights,
                     bool measureTrain) -> Expected<ControlPruning> {
    PruneOptions o = controls;
    o.progress = pruneOptions(run, t.task->name() + " (" + what + ")").progress;
    Expected<PruneResult> c = pruneTask(model, space, abl, train, eval, o);
    if (!c)
      return c.takeError();
    ControlPruning out;
    out.reachedTarget = c->reachedTarget;
    out.nodes = c->keptNodes;
    out.loss = c->loss;
    out.fullLoss = c->fullLoss;
    Expected<int64_t> e = blockEdges(space, weights, c->keep);
    if (!e)
      return e.takeError();
    out.edges = *e;
    if (measureTrain) {
      Expected<double> l =
          circuitLoss(model, space, abl, c->keep,
                      train.rows(0, std::min<int64_t>(train.size(), 256)),
                      c->fit);
      if (!l)
        return l.takeError();
      out.trainLoss = *l;
    }
    return out;
  };

  run.progress.say("  audit: pruning with " + std::string(mean ? "zero" : "mean") +
                   " ablation");
  Expected<ControlPruning> otherC =
      control(mean ? "zero ablation" : "mean ablation", other, t.train, t.eval,
              *run.weights, false);
  if (!otherC)
    return otherC.takeError();
  m.otherAblation = *otherC;

  run.progress.say("  audit: pruning for nonsense labels");
  PromptSet nonsenseTrain = withNonsenseLabels(t.train, run.p.seed.value + 1);
  PromptSet nonsenseEval = withNonsenseLabels(t.eval, run.p.seed.value + 1);
  Expected<ControlPruning> nonsense = control(
      "nonsense labels", run.ablation, nonsenseTrain, nonsenseEval,
      *run.weights, true);
  if (!nonsense)
    return nonsense.takeError();
  m.nonsense = *nonsense;

  if (random && randomMeans) {
    run.progress.say("  audit: pruning a randomly initialised model");
    model.setWeights(*random);
    Expected<ControlPruning> rnd =
        control("random init", mean ? *randomMeans : zeros, t.train, t.eval,
                *random, false);
    model.setWeights(*run.weights);
    if (!rnd)
      return rnd.takeError();
    m.randomInit = *rnd;
  }
  return m;
}

/// Prunes one task and writes its files.
Expected<TaskOutcome> pruneOne(Run &run, TaskRun &t, rt::ParamStore *random,
                               const std::vector<float> *randomMeans) {
  auto started = Clock::now();
  const NodeSpace &space = *run.space;
  TaskOutcome out;
  out.task = t.task->name();
  PruneOptions options = pruneOptions(run, out.task);
  run.progress.say(out.task + ": pruning " + std::to_string(space.numPrunable()) +
                   " nodes, " + std::to_string(options.steps) + " steps of " +
                   std::to_string(run.model->batch() / 2) + " pairs");
  Expected<PruneResult> r = pruneTask(*run.model, space, run.ablation, t.train,
                                      t.eval, options);
  run.progress.clearLive();
  if (!r)
    return Error::failure("task '" + out.task + "': " + r.message());
  Expected<int64_t> edges = blockEdges(space, *run.weights, r->keep);
  if (!edges)
    return edges.takeError();
  run.progress.say("  " + std::to_string(r->keptNodes) + " nodes, " +
                   std::to_string(*edges) + " edges, held-out loss " +
                   fmt(r->loss) + " (full model " + fmt(r->fullLoss) +
                   ", target " + fmt(run.p.targetLoss.value) + ")" +
                   (r->reachedTarget ? "" : ": target not reached"));

  Expected<AuditMeasurements> m = audit(run, t, *r, *edges, random, randomMeans);
  run.progress.clearLive();
  if (!m)
    return Error::failure("task '" + out.task + "' audit: " + m.message());

  circuits::Circuit c;
  c.model = run.spec.model.name;
  c.task = out.task;
  c.taskDescription = t.task->description();
  c.config = run.config;
  c.targetLoss = run.p.targetLoss.value;
  c.ablation = m->ablation;
  if (Error e = describeNodes(run, t, *r, c))
    return e;
  std::set<int32_t> inputs, outputs;
  for (int64_t row = 0; row < t.eval.size(); ++row) {
    for (int64_t p = 0; p <= t.eval.positions[row]; ++p)
      inputs.insert(t.eval.tokens[row * t.eval.seqLen + p]);
    outputs.insert(t.eval.correct[row]);
  }
  c.inputTokens.assign(inputs.begin(), inputs.end());
  c.outputTokens.assign(outputs.begin(), outputs.end());
  for (int32_t id : inputs)
    c.tokenText[id] = tokenText(run.tokenizer, id);
  for (int32_t id : outputs)
    c.tokenText[id] = tokenText(run.tokenizer, id);
  c.losses["full"] = r->fullLoss;
  c.losses["circuit"] = r->loss;
  if (m->necessityLoss)
    c.losses["circuit_ablated"] = *m->necessityLoss;
  if (m->offDistributionLoss) {
    c.losses["off_distribution_circuit"] = *m->offDistributionLoss;
    c.losses["off_distribution_full"] = *m->offDistributionFullLoss;
  }
  if (run.o.logitScaling) {
    c.losses["logit_scale"] = r->fit.scale;
    c.losses["logit_shift"] = r->fit.shift;
  }
  c.lossCurve = r->curve;
  c.audit = auditRows(*m);
  for (size_t i = 0; i < std::min<size_t>(4, t.data.testText.size()); ++i) {
    const tasks::TaskPair &pair = t.data.testText[i];
    c.examples.push_back(
        {pair.promptA, pair.promptB, pair.completionA, pair.completionB});
  }
  if (Error e = circuits::validateCircuit(c))
    return Error::failure("task '" + out.task + "': " + e.message());
  Expected<circuits::CircuitGraph> graph =
      circuits::buildCircuitGraph(c, weightMap(*run.weights));
  if (!graph)
    return graph.takeError();

  out.dir = (fs::path(run.o.out.value_or(run.p.out.value)) / out.task).string();
  std::error_code ec;
  fs::create_directories(out.dir, ec);
  if (ec)
    return Error::failure("cannot create '" + out.dir + "': " + ec.message());
  if (Error e = circuits::writeCircuitFiles(*graph, out.dir))
    return e;
  out.pruned = true;
  out.reachedTarget = r->reachedTarget;
  out.nodes = r->keptNodes;
  out.edges = graph->counts.blockEdges();
  out.loss = r->loss;
  out.fullLoss = r->fullLoss;
  out.audit = c.audit;
  out.seconds = secondsSince(started);
  return out;
}

/// JSON string literal; invalid UTF-8 becomes U+FFFD.
std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                                 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (!valid) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (len > 1) {
      out.append(s, i, len);
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
    i += len;
  }
  return out + "\"";
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v))
    return "null";
  return fmt(v, "%.6g");
}

} // namespace

std::string prune::indexJson(const PruneSummary &s) {
  std::string j = "{\n  \"model\": " + jsonString(s.model) +
                  ",\n  \"checkpoint\": " + jsonString(s.checkpoint) +
                  ",\n  \"geometric_mean_edges\": " +
                  jsonNumber(s.geometricMeanEdges) + ",\n  \"tasks\": [";
  for (size_t i = 0; i < s.tasks.size(); ++i) {
    const TaskOutcome &t = s.tasks[i];
    j += i ? ",\n    {" : "\n    {";
    j += "\"task\": " + jsonString(t.task);
    if (!t.pruned) {
      j += ", \"skipped\": " + jsonString(t.skipped) + "}";
      continue;
    }
    j += ", \"reached_target\": " + std::string(t.reachedTarget ? "true" : "false") +
         ", \"nodes\": " + std::to_string(t.nodes) +
         ", \"edges\": " + std::to_string(t.edges) +
         ", \"loss\": " + jsonNumber(t.loss) +
         ", \"full_loss\": " + jsonNumber(t.fullLoss) +
         ", \"seconds\": " + jsonNumber(t.seconds) +
         ", \"report\": " + jsonString(t.task + "/report.html") +
         ", \"audit\": {";
    for (size_t a = 0; a < t.audit.size(); ++a)
      j += (a ? ", " : "") + jsonString(t.audit[a].check) + ": {\"value\": " +
           jsonNumber(t.audit[a].value) + ", \"verdict\": " +
           jsonString(t.audit[a].verdict) + "}";
    j += "}}";
  }
  return j + "\n  ]\n}\n";
}

std::string prune::indexHtml(const PruneSummary &s) {
  std::string h =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
      "'none'; style-src 'unsafe-inline'\">\n<title>Circuits of " +
      rt::escapeMarkup(s.model) +
      "</title>\n<style>body{font:14px system-ui,sans-serif;margin:2em}"
      "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px "
      "solid #ddd;text-align:left}td.n{text-align:right}.fail{color:#b00}"
      ".pass{color:#070}</style></head><body>\n<h1>Circuits of " +
      rt::escapeMarkup(s.model) + "</h1>\n<p>Checkpoint <code>" +
      rt::escapeMarkup(s.checkpoint) +
      "</code>. Geometric mean of circuit sizes: <b>" +
      (std::isfinite(s.geometricMeanEdges) ? fmt(s.geometricMeanEdges, "%.1f")
                                           : std::string("n/a")) +
      "</b> edges.</p>\n<table><tr><th>task</th><th>nodes</th><th>edges</th>"
      "<th>loss</th><th>full model</th><th>audit</th></tr>\n";
  for (const TaskOutcome &t : s.tasks) {
    h += "<tr><td>";
    if (!t.pruned) {
      h += rt::escapeMarkup(t.task) + "</td><td colspan=5>skipped: " +
           rt::escapeMarkup(t.skipped) + "</td></tr>\n";
      continue;
    }
    h += "<a href=\"" + rt::escapeMarkup(t.task) + "/report.html\">" +
         rt::escapeMarkup(t.task) + "</a></td><td class=n>" +
         std::to_string(t.nodes) + "</td><td class=n>" +
         std::to_string(t.edges) + "</td><td class=n>" + fmt(t.loss) +
         (t.reachedTarget ? "" : " (target not reached)") +
         "</td><td class=n>" + fmt(t.fullLoss) + "</td><td>";
    for (const circuits::AuditRow &a : t.audit) {
      bool pass = a.verdict == "pass";
      bool fail = a.verdict.rfind("fail", 0) == 0;
      h += "<span class=\"" + std::string(pass ? "pass" : fail ? "fail" : "") +
           "\" title=\"" + rt::escapeMarkup(a.description + ": " + a.verdict) +
           "\">" + rt::escapeMarkup(a.check) + "</span> ";
    }
    h += "</td></tr>\n";
  }
  return h + "</table>\n</body></html>\n";
}

Expected<PruneSummary> prune::runPrune(const frontend::RunSpec &spec,
                                       const rt::Checkpoint &checkpoint,
                                       const PruneOverrides &o) {
  auto started = Clock::now();
  if (!spec.prune)
    return Error::failure(spec.path + ": has no 'prune' block");
  std::vector<std::string> diffs =
      rt::diffModelConfigs(spec.model.config, checkpoint.config());
  if (!diffs.empty()) {
    std::string message = "checkpoint '" + checkpoint.path() +
                          "' is not a model '" + spec.model.name + "':";
    for (const std::string &d : diffs)
      message += "\n  " + d + " (file vs checkpoint)";
    return Error::failure(message);
  }
  if (checkpoint.state().tokenizerJson.empty())
    return Error::failure("checkpoint '" + checkpoint.path() +
                          "' has no tokenizer; pruning needs the one the "
                          "model was trained with");
  Expected<rt::Tokenizer> tokenizer = rt::Tokenizer::fromJson(
      checkpoint.state().tokenizerJson, checkpoint.path() + " (tokenizer)");
  if (!tokenizer)
    return tokenizer.takeError();

  Run run{spec, *spec.prune, checkpoint, o, checkpoint.config(),
          std::move(*tokenizer), nullptr, nullptr, nullptr, std::nullopt,
          {}, {}, nullptr, nullptr, {}, Progress(o.progress), 0};
  const frontend::PruneSpec &p = *spec.prune;
  int64_t threads = o.threads.value_or(p.threads.value);
  if (threads <= 0) // ranks on one host share its cores
    threads = std::max<unsigned>(
        1u, std::thread::hardware_concurrency() /
                static_cast<unsigned>(o.comm ? o.comm->localSize() : 1));
  run.pool = std::make_unique<rt::ThreadPool>(static_cast<unsigned>(threads));
  mlir::circ::setNumThreads(static_cast<int>(threads));
  if (run.tokenizer.vocabSize() != run.config.vocab)
    return Error::failure("the checkpoint's tokenizer has " +
                          std::to_string(run.tokenizer.vocabSize()) +
                          " tokens but the model " +
                          std::to_string(run.config.vocab));

  Expected<std::unique_ptr<rt::ParamStore>> store =
      rt::ParamStore::create(run.config);
  if (!store)
    return store.takeError();
  run.weights = std::move(*store);
  if (Error e = checkpoint.restoreWeights(*run.weights, *run.pool))
    return e;
  run.space.emplace(run.config, p.nodes.value);

  PruneSummary summary;
  summary.model = spec.model.name;
  summary.checkpoint = checkpoint.path();
  summary.out = o.out.value_or(p.out.value);

  // Tasks: pairs in token ids; tasks the tokenizer cannot express are
  // skipped with the reason.
  const std::vector<std::string> &names =
      o.tasks.empty() ? p.tasks.value : o.tasks;
  std::vector<TaskRun> runs;
  for (const std::string &name : names) {
    const tasks::Task *task = spec.findTask(name);
    if (!task)
      return Error::failure("unknown task '" + name + "'");
    Expected<TaskData> data =
        encodeTask(*task, run.tokenizer, o.trainPairs, o.testPairs, p.seed.value);
    if (!data) {
      TaskOutcome skipped;
      skipped.task = name;
      skipped.skipped = data.message();
      summary.tasks.push_back(skipped);
      std::cerr << "circc: warning: skipping a task: " << data.message()
                << "\n";
      continue;
    }
    runs.push_back({task, std::move(*data), {}, {}, {}});
  }
  if (runs.empty())
    return Error::failure("no task can be pruned with this model's tokenizer "
                          "(see the warnings above)");
  int64_t longest = 1;
  for (const TaskRun &t : runs)
    longest = std::max({longest, longestPrompt(t.data.train),
                        longestPrompt(t.data.test)});
  run.seqLen = std::min(longest, run.config.ctx);

  if (Error e = loadStreams(run))
    return e;

  const int64_t pairsPerStep = o.batch.value_or(p.batch.value);
  run.progress.say("compiling the pruning model (" +
                   std::to_string(run.config.nLayer) + " layers, d_model " +
                   std::to_string(run.config.dModel) + ", " +
                   std::to_string(2 * pairsPerStep) + " prompts x " +
                   std::to_string(run.seqLen) + " tokens)");
  auto compileStart = Clock::now();
  CompiledTaskModelOptions mo;
  mo.batch = 2 * pairsPerStep;
  mo.seqLen = run.seqLen;
  mo.activationBatch = 8;
  mo.activationSeqLen = run.config.ctx;
  Expected<std::unique_ptr<CompiledTaskModel>> model =
      CompiledTaskModel::create(run.config, *run.weights, mo);
  if (!model)
    return model.takeError();
  run.model = std::move(*model);
  summary.compileSeconds = secondsSince(compileStart);

  auto meansStart = Clock::now();
  Expected<CachedMeans> means =
      checkpointMeans(checkpoint, *run.model, *run.space,
                      run.trainStream->tokens, o.meanSequences);
  if (!means)
    return means.takeError();
  for (const std::string &w : means->warnings)
    std::cerr << "circc: warning: " << w << "\n";
  run.means = std::move(means->means);
  run.meanWindows = windowStarts(
      static_cast<int64_t>(run.trainStream->tokens.size()), run.config.ctx,
      o.meanSequences);
  summary.meansSeconds = secondsSince(meansStart);
  summary.meansFromCache = means->fromCache;
  run.progress.say("node means over " + std::to_string(means->tokens) +
                   " pretraining tokens " +
                   (means->fromCache ? "read from " : "cached in ") +
                   means->cachePath);
  run.ablation = p.ablation.value == frontend::Ablation::Mean
                     ? run.means
                     : std::vector<float>(run.space->size(), 0.0f);

  // Rows: training pool, held-out rows, and the held-out pairs after
  // unrelated code (the off-distribution check).
  const int32_t pad = run.tokenizer.eotId();
  std::vector<std::string> snippets = codeSnippets(
      run.tokenizer, run.holdoutStream->tokens, 64, 48, p.seed.value);
  for (TaskRun &t : runs) {
    t.train = toPromptSet(t.data.train, run.seqLen, pad);
    t.eval = toPromptSet(t.data.test, run.seqLen, pad);
    Expected<std::vector<tasks::EncodedPair>> shifted =
        encodePairs(withPrefixes(t.data.testText, snippets), run.tokenizer);
    if (shifted)
      t.offDistribution = toPromptSet(*shifted, run.seqLen, pad);
  }

  // The random-initialisation control: same shape, same sparsity.
  std::unique_ptr<rt::ParamStore> random;
  std::vector<float> randomMeans;
  if (o.audit) {
    Expected<std::unique_ptr<rt::ParamStore>> r =
        randomWeights(run.config, p.seed.value + 0x5eed, *run.pool);
    if (!r)
      return r.takeError();
    random = std::move(*r);
    run.model->setWeights(*random);
    Expected<std::vector<float>> rm = computeNodeMeans(
        *run.model, *run.space, run.trainStream->tokens,
        windowStarts(static_cast<int64_t>(run.trainStream->tokens.size()),
                     run.config.ctx, 16));
    run.model->setWeights(*run.weights);
    if (!rm)
      return rm.takeError();
    randomMeans = std::move(*rm);
  }

  std::vector<TaskOutcome> mine;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!ownsTask(o.comm, i))
      continue;
    Expected<TaskOutcome> outcome =
        pruneOne(run, runs[i], random.get(), random ? &randomMeans : nullptr);
    if (!outcome)
      return outcome.takeError();
    mine.push_back(std::move(*outcome));
  }
  Expected<std::vector<TaskOutcome>> outcomes =
      gatherOutcomes(o.comm, std::move(mine), runs.size());
  if (!outcomes)
    return outcomes.takeError();
  std::vector<double> sizes;
  for (TaskOutcome &outcome : *outcomes) {
    if (outcome.reachedTarget)
      sizes.push_back(static_cast<double>(outcome.edges));
    summary.tasks.push_back(std::move(outcome));
  }
  // Skipped tasks were recorded first; report in the order asked for.
  auto position = [&](const TaskOutcome &t) {
    return std::find(names.begin(), names.end(), t.task) - names.begin();
  };
  std::sort(summary.tasks.begin(), summary.tasks.end(),
            [&](const TaskOutcome &a, const TaskOutcome &b) {
              return position(a) < position(b);
            });
  summary.geometricMeanEdges = sizes.empty()
                                   ? std::numeric_limits<double>::quiet_NaN()
                                   : circuits::geometricMean(sizes);
  if (o.comm && !o.comm->isRoot()) { // rank 0 writes the index
    summary.seconds = secondsSince(started);
    return summary;
  }

  std::error_code ec;
  fs::create_directories(summary.out, ec);
  if (ec)
    return Error::failure("cannot create '" + summary.out + "': " + ec.message());
  for (auto [name, text] :
       {std::pair<const char *, std::string>{"index.json", indexJson(summary)},
        {"index.html", indexHtml(summary)}}) {
    std::string path = (fs::path(summary.out) / name).string();
    std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary);
      f << text;
      if (!f)
        return Error::failure("cannot write '" + tmp + "'");
    }
    fs::rename(tmp, path, ec);
    if (ec)
      return Error::failure("cannot write '" + path + "': " + ec.message());
  }
  summary.index = (fs::path(summary.out) / "index.html").string();
  summary.seconds = secondsSince(started);
  return summary;
}
