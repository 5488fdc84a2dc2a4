//===- CompareCommand.cpp - circc compare -----------------------*- C++ -*-===//
//
// `circc compare sparse.circ dense.circ`: prunes two trained models on the
// same tasks with `circc prune`'s library (PruneRun) and reports, per task,
// both circuit sizes, and the ratio of their geometric-mean circuit sizes
// (paper §6: a dense model's circuits are about 16x larger than those of a
// weight-sparse model of similar pretraining loss). Each model's pretraining
// losses are read from the metrics log its training run wrote, so the user
// sees whether the two are comparable.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ/Circuits/Circuit.h"
#include "circ/Prune/PruneRun.h"
#include "circ/Report/LossCurve.h"
#include "circ/Tasks/Tasks.h"
#include "circ/Train/Communicator.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

using namespace circ;
using namespace circ::driver;
using namespace llvm;
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

cl::SubCommand circ::driver::compareCommand(
    "compare", "Prune a weight-sparse and a dense model on the same tasks and "
               "compare their circuit sizes");

static cl::list<std::string> inputs(cl::Positional,
                                    cl::desc("<sparse.circ> <dense.circ>"),
                                    cl::sub(compareCommand),
                                    cl::cat(circcCategory));
static cl::list<std::string>
    taskNames("task",
              cl::desc("Compare on this task (repeat for several; default: "
                       "every built-in task both tokenizers can express)"),
              cl::value_desc("name"), cl::sub(compareCommand),
              cl::cat(circcCategory));
static cl::opt<std::string>
    sparseCheckpoint("sparse-checkpoint",
                     cl::desc("The sparse model's checkpoint instead of its "
                              "prune block's"),
                     cl::value_desc("file"), cl::sub(compareCommand),
                     cl::cat(circcCategory));
static cl::opt<std::string>
    denseCheckpoint("dense-checkpoint",
                    cl::desc("The dense model's checkpoint instead of its "
                             "prune block's"),
                    cl::value_desc("file"), cl::sub(compareCommand),
                    cl::cat(circcCategory));
static cl::opt<std::string>
    out("out",
        cl::desc("Output directory: compare.json, and each model's circuits "
                 "in sparse/ and dense/ (default: compare)"),
        cl::value_desc("dir"), cl::init("compare"), cl::sub(compareCommand),
        cl::cat(circcCategory));
static cl::opt<int64_t> steps("steps",
                              cl::desc("Override both prune blocks' "
                                       "mask-optimisation steps"),
                              cl::sub(compareCommand), cl::cat(circcCategory));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Override both prune blocks' task "
                                       "pairs per step"),
                              cl::sub(compareCommand), cl::cat(circcCategory));
static cl::opt<std::string>
    corpus("corpus",
           cl::desc("Pretraining text for the node means of both models, "
                    "instead of their data blocks'"),
           cl::value_desc("dir|glob"), cl::sub(compareCommand),
           cl::cat(circcCategory));
static cl::opt<int64_t> threads("threads",
                                cl::desc("Worker threads (default: the "
                                         "specs', else one per core)"),
                                cl::sub(compareCommand),
                                cl::cat(circcCategory));
static cl::opt<bool> audit("audit",
                           cl::desc("Also run each circuit's audit controls "
                                    "(slow; sizes do not depend on it)"),
                           cl::sub(compareCommand), cl::cat(circcCategory));
static cl::opt<bool> quiet("quiet", cl::desc("No progress output"),
                           cl::sub(compareCommand), cl::cat(circcCategory));

namespace {

/// One of the two models: its spec, checkpoint, pretraining losses and
/// pruning summary.
struct Side {
  const char *role = ""; ///< "sparse" or "dense"
  Loaded loaded;
  std::optional<rt::Checkpoint> checkpoint;
  std::optional<double> holdoutLoss, trainLoss;
  std::string metricsLog; ///< where the losses came from; empty if none
  prune::PruneSummary summary;
  std::map<std::string, const prune::TaskOutcome *> byTask;
};

/// The last value of `series` at or before `step`.
std::optional<double> valueAt(const report::Series &series, int64_t step) {
  std::optional<double> v;
  for (const auto &[s, value] : series)
    if (s <= step)
      v = value;
  return v;
}

/// Reads the pretraining losses of `side`'s checkpoint from its run's
/// metrics log: the one beside the checkpoint, else the train block's.
void readPretrainingLosses(Side &side) {
  const frontend::RunSpec &spec = *side.loaded.spec;
  std::vector<std::string> candidates = {
      (fs::path(side.checkpoint->path()).parent_path() / "metrics.jsonl")
          .string()};
  if (spec.train)
    candidates.push_back(spec.train->logPath.value);
  for (const std::string &path : candidates) {
    std::error_code ec;
    if (path.empty() || !fs::is_regular_file(path, ec))
      continue;
    rt::Expected<report::TrainingCurves> curves = report::readMetricsLog(path);
    if (!curves) {
      errs() << "circc: warning: " << curves.message()
             << " (the pretraining losses are not reported)\n";
      return;
    }
    int64_t step = side.checkpoint->state().step;
    side.holdoutLoss = valueAt(curves->holdoutLoss, step);
    side.trainLoss = valueAt(curves->trainLoss, step);
    side.metricsLog = path;
    return;
  }
}

Json number(std::optional<double> v) {
  return v && std::isfinite(*v) ? Json(*v) : Json(nullptr);
}

std::string lossText(std::optional<double> v) {
  if (!v)
    return "not recorded";
  std::string s;
  raw_string_ostream(s) << format("%.4f", *v);
  return s;
}

Json outcomeJson(const prune::TaskOutcome *t) {
  if (!t)
    return {{"skipped", "not pruned"}};
  if (!t->pruned)
    return {{"skipped", t->skipped}};
  return {{"edges", t->edges},
          {"nodes", t->nodes},
          {"reached_target", t->reachedTarget},
          {"loss", number(t->loss)},
          {"full_loss", number(t->fullLoss)},
          {"report", t->dir + "/report.html"}};
}

/// Why a task does not enter the ratio; empty if it does.
std::string exclusion(const Side &sparse, const Side &dense,
                      const std::string &task) {
  for (const Side *s : {&sparse, &dense}) {
    auto it = s->byTask.find(task);
    const prune::TaskOutcome *t = it == s->byTask.end() ? nullptr : it->second;
    if (!t || !t->pruned) {
      // The first line of the reason, without the list it introduces.
      std::string why = t ? t->skipped.substr(0, t->skipped.find('\n')) : "";
      if (!why.empty() && why.back() == ':')
        why.pop_back();
      return std::string(s->role) + " model skipped it" +
             (why.empty() ? "" : ": " + why);
    }
    if (!t->reachedTarget)
      return std::string(s->role) + " circuit misses the target loss";
  }
  for (const Side *s : {&sparse, &dense})
    if (s->byTask.at(task)->edges == 0) // log 0 is undefined
      return std::string(s->role) + " circuit has no edges";
  return {};
}

} // namespace

int circ::driver::runCompare() {
  if (inputs.size() != 2)
    return usageError("expected two files, <sparse.circ> <dense.circ>; run "
                      "'circc compare --help'");
  if (int code = checkPositive({&steps, &batch, &threads}))
    return code;
  if (threads > kMaxThreads)
    return usageError("--threads must be at most " + Twine(kMaxThreads));
  constexpr int64_t kMaxBatch = int64_t(1) << 20; // the prune block's bound
  if (batch > kMaxBatch)
    return usageError("--batch must be at most " + Twine(kMaxBatch));
  if (out.empty())
    return usageError("--out must name a directory");

  std::array<Side, 2> sides;
  sides[0].role = "sparse";
  sides[1].role = "dense";
  std::array<const cl::opt<std::string> *, 2> ckptOpts = {&sparseCheckpoint,
                                                          &denseCheckpoint};
  for (size_t i = 0; i < 2; ++i) {
    Side &side = sides[i];
    side.loaded = loadAndCheck(inputs[i]);
    if (side.loaded.exitCode != ExitSuccess)
      return side.loaded.exitCode;
    const frontend::RunSpec &spec = *side.loaded.spec;
    if (!spec.prune)
      return usageError(inputs[i] + " has no 'prune' block; compare prunes "
                                    "each model with its prune block's "
                                    "settings");
    for (const std::string &t : taskNames)
      if (!spec.findTask(t))
        return usageError("--task: unknown task '" + t + "' in " + inputs[i]);
    const cl::opt<std::string> &opt = *ckptOpts[i];
    std::string path = opt.getNumOccurrences() ? std::string(opt)
                                               : spec.prune->checkpoint.value;
    rt::Expected<rt::Checkpoint> ckpt = rt::Checkpoint::open(path);
    if (!ckpt) {
      std::string message = "cannot prune the " + std::string(side.role) +
                            " model's checkpoint '" + path +
                            "': " + ckpt.message();
      if (opt.getNumOccurrences()) {
        errs() << "circc: error: " << message << "\n";
        return ExitInputErrors;
      }
      return pruneCheckpointError(side.loaded, message);
    }
    side.checkpoint.emplace(std::move(*ckpt));
    readPretrainingLosses(side);
  }
  Side &sparse = sides[0], &dense = sides[1];
  // Under mpirun/srun the ranks share each model's tasks; rank 0 reports.
  rt::Expected<std::unique_ptr<train::Communicator>> comm =
      train::createWorldCommunicator();
  if (!comm) {
    errs() << "circc: error: " << comm.message() << "\n";
    return ExitInputErrors;
  }
  train::Communicator &world = **comm;
  double sparseTarget = sparse.loaded.spec->prune->targetLoss.value;
  double denseTarget = dense.loaded.spec->prune->targetLoss.value;
  if (sparseTarget != denseTarget && world.isRoot())
    errs() << "circc: warning: the prune blocks' target losses differ ("
           << sparseTarget << " vs " << denseTarget
           << "): the circuit sizes are measured at different targets\n";

  std::vector<std::string> tasks(taskNames.begin(), taskNames.end());
  if (tasks.empty()) { // the built-in suite and the tasks both files define
    tasks = tasks::builtinTaskNames();
    for (const tasks::Task &t : sparse.loaded.spec->userTasks)
      if (dense.loaded.spec->findTask(t.name()))
        tasks.push_back(t.name());
  }
  for (Side &side : sides) {
    prune::PruneOverrides o;
    o.tasks = tasks;
    o.out = (fs::path(out.getValue()) / side.role).string();
    if (corpus.getNumOccurrences())
      o.corpus = corpus;
    if (steps.getNumOccurrences())
      o.steps = steps;
    if (batch.getNumOccurrences())
      o.batch = batch;
    if (threads.getNumOccurrences())
      o.threads = threads;
    o.audit = audit;
    o.comm = &world;
    o.progress = !quiet && world.isRoot();
    if (o.progress)
      errs() << "pruning the " << side.role << " model ("
             << side.loaded.spec->path << ")\n";
    rt::Expected<prune::PruneSummary> summary =
        prune::runPrune(*side.loaded.spec, *side.checkpoint, o);
    if (!summary)
      return train::reportFailure(world,
                                  std::string(side.role) + " model (" +
                                      side.loaded.spec->path +
                                      "): " + summary.message(),
                                  ExitInputErrors);
    side.summary = std::move(*summary);
    for (const prune::TaskOutcome &t : side.summary.tasks)
      side.byTask[t.task] = &t;
  }
  if (!world.isRoot())
    return ExitSuccess;

  // Per task: both circuits; the ratio over the tasks both solved.
  Json taskRows = Json::array();
  std::vector<double> sparseSizes, denseSizes;
  std::vector<std::string> excluded;
  for (const std::string &task : tasks) {
    std::string why = exclusion(sparse, dense, task);
    Json row = {{"task", task}, {"included", why.empty()}};
    if (!why.empty()) {
      row["excluded_because"] = why;
      excluded.push_back(task);
    } else {
      sparseSizes.push_back(sparse.byTask.at(task)->edges);
      denseSizes.push_back(dense.byTask.at(task)->edges);
    }
    for (const Side *s : {&sparse, &dense}) {
      auto it = s->byTask.find(task);
      row[s->role] = outcomeJson(it == s->byTask.end() ? nullptr : it->second);
    }
    taskRows.push_back(std::move(row));
  }
  std::optional<double> sparseMean, denseMean, ratio;
  if (!sparseSizes.empty()) {
    sparseMean = circuits::geometricMean(sparseSizes);
    denseMean = circuits::geometricMean(denseSizes);
    ratio = *denseMean / *sparseMean;
  }

  Json j;
  j["models"] = Json::object();
  for (const Side *s : {&sparse, &dense}) {
    const prune::PruneSummary &sum = s->summary;
    j["models"][s->role] = {
        {"file", s->loaded.spec->path},
        {"model", sum.model},
        {"checkpoint", sum.checkpoint},
        {"step", s->checkpoint->state().step},
        {"holdout_loss", number(s->holdoutLoss)},
        {"train_loss", number(s->trainLoss)},
        {"metrics_log",
         s->metricsLog.empty() ? Json(nullptr) : Json(s->metricsLog)},
        {"target_loss", s->loaded.spec->prune->targetLoss.value},
        {"geometric_mean_edges", number(s == &sparse ? sparseMean : denseMean)},
        {"circuits", sum.index}};
  }
  j["tasks"] = std::move(taskRows);
  j["included_tasks"] = sparseSizes.size();
  j["excluded_tasks"] = excluded;
  j["ratio_dense_over_sparse"] = number(ratio);

  std::error_code ec;
  fs::create_directories(out.getValue(), ec);
  std::string jsonPath = (fs::path(out.getValue()) / "compare.json").string();
  {
    std::ofstream f(jsonPath, std::ios::binary);
    f << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    if (!f) {
      errs() << "circc: error: cannot write '" << jsonPath << "'\n";
      return ExitInputErrors;
    }
  }

  for (const Side *s : {&sparse, &dense})
    outs() << format("%-8s", (std::string(s->role) + ":").c_str())
           << s->summary.model << ", step " << s->checkpoint->state().step
           << ", holdout loss " << lossText(s->holdoutLoss) << ", train loss "
           << lossText(s->trainLoss) << " (" << s->summary.checkpoint << ")\n";
  outs() << format("%-28s %12s %6s %-6s %12s %6s %s\n", "task", "sparse edges",
                   "nodes", "target", "dense edges", "nodes", "target");
  for (const Json &row : j["tasks"]) {
    outs() << format("%-28s", row["task"].get<std::string>().c_str());
    for (const char *role : {"sparse", "dense"}) {
      const Json &c = row[role];
      if (c.contains("skipped"))
        outs() << format(" %12s %6s %-6s", "skipped", "-", "-");
      else
        outs() << format(" %12lld %6lld %-6s", c["edges"].get<long long>(),
                         c["nodes"].get<long long>(),
                         c["reached_target"].get<bool>() ? "met" : "missed");
    }
    if (!row["included"].get<bool>())
      outs() << "  excluded: " << row["excluded_because"].get<std::string>();
    outs() << "\n";
  }
  if (ratio) {
    outs() << "geometric mean circuit size over " << sparseSizes.size()
           << " task(s): sparse " << format("%.1f", *sparseMean)
           << " edges, dense " << format("%.1f", *denseMean) << " edges\n"
           << "dense/sparse ratio: " << format("%.2f", *ratio) << "\n";
  } else {
    outs() << "no task has a circuit that meets the target in both models "
              "with at least one edge: no ratio\n";
  }
  if (!excluded.empty())
    outs() << "excluded from the ratio (a model skipped the task, missed "
              "the target loss, or has an empty circuit): "
           << excluded.size() << " task(s)\n";
  outs() << "wrote " << jsonPath << "\n";
  return ExitSuccess;
}
