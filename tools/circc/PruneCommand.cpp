//===- PruneCommand.cpp - circc prune ---------------------------*- C++ -*-===//
//
// `circc prune file.circ`: for each task of the file's prune block, finds the
// smallest circuit of the trained checkpoint that still solves it (paper
// §5), audits it (§7, §10) and writes circuit.json, circuit.dot and
// report.html per task plus an index with the geometric mean circuit size.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ/Prune/PruneRun.h"
#include "circ/Train/Communicator.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <iostream>

using namespace circ;
using namespace circ::driver;
using namespace llvm;

cl::SubCommand circ::driver::pruneCommand(
    "prune", "Extract, audit and show the circuit of each task of a .circ "
             "file's prune block");

static cl::opt<std::string> input(cl::Positional, cl::desc("<file.circ>"),
                                  cl::sub(pruneCommand),
                                  cl::cat(circcCategory));
static cl::list<std::string>
    taskNames("task", cl::desc("Prune this task instead of the block's (repeat "
                           "for several)"),
          cl::value_desc("name"), cl::sub(pruneCommand),
          cl::cat(circcCategory));
static cl::opt<std::string>
    checkpoint("checkpoint",
               cl::desc("Prune this checkpoint instead of the block's"),
               cl::value_desc("file"), cl::sub(pruneCommand),
               cl::cat(circcCategory));
static cl::opt<std::string> out("out",
                                cl::desc("Write the circuits here instead of "
                                         "the block's directory"),
                                cl::value_desc("dir"), cl::sub(pruneCommand),
                                cl::cat(circcCategory));
static cl::opt<int64_t> steps("steps",
                              cl::desc("Override the mask-optimisation steps"),
                              cl::sub(pruneCommand), cl::cat(circcCategory));
static cl::opt<int64_t>
    auditSteps("audit-steps",
               cl::desc("Steps of the audit's control prunings (default: "
                        "the pruning's)"),
               cl::sub(pruneCommand), cl::cat(circcCategory));
static cl::opt<bool> noAudit("no-audit",
                             cl::desc("Skip the control prunings (random "
                                      "init, nonsense task, other ablation)"),
                             cl::sub(pruneCommand), cl::cat(circcCategory));
static cl::opt<bool>
    logitScaling("logit-scaling",
                 cl::desc("Fit a logit scale and shift to each circuit "
                          "before measuring its loss (paper §5.4)"),
                 cl::sub(pruneCommand), cl::cat(circcCategory));
static cl::opt<std::string>
    corpus("corpus",
           cl::desc("Pretraining text for the node means, instead of the data "
                    "block's"),
           cl::value_desc("dir|glob"), cl::sub(pruneCommand),
           cl::cat(circcCategory));
static cl::opt<int64_t> threads("threads",
                                cl::desc("Worker threads (default: the spec's, "
                                         "else one per core)"),
                                cl::sub(pruneCommand), cl::cat(circcCategory));
static cl::opt<bool> quiet("quiet", cl::desc("No progress output"),
                           cl::sub(pruneCommand), cl::cat(circcCategory));

/// An error at the prune block's checkpoint setting, rendered against the
/// file like the checker's diagnostics.
int circ::driver::pruneCheckpointError(const Loaded &loaded,
                                       const std::string &message) {
  const frontend::PruneSpec &p = *loaded.spec->prune;
  frontend::Diagnostic diag;
  diag.id = frontend::DiagID::MissingCheckpoint;
  diag.severity = frontend::Severity::Error;
  diag.message = message;
  if (p.checkpoint.origin.written()) {
    diag.range = p.checkpoint.origin.range;
  } else {
    diag.range = p.checkpoint.origin.range.empty() ? p.range
                                                   : p.checkpoint.origin.range;
    diag.note(*diag.range,
              "the checkpoint is the train block's final one; run 'circc "
              "train " +
                  loaded.source->path() + "' first, or set 'checkpoint = "
                                          "\"...\"' in the prune block");
  }
  std::cout.flush();
  frontend::renderDiagnostic(*loaded.source, diag, std::cerr);
  return ExitInputErrors;
}

int circ::driver::runPrune() {
  if (input.empty())
    return usageError("no input file; run 'circc prune --help'");
  if (int code = checkPositive({&steps, &auditSteps, &threads}))
    return code;
  if (threads > kMaxThreads)
    return usageError("--threads must be at most " + Twine(kMaxThreads));
  Loaded loaded = loadAndCheck(input);
  if (loaded.exitCode != ExitSuccess)
    return loaded.exitCode;
  const frontend::RunSpec &spec = *loaded.spec;
  if (!spec.prune)
    return usageError(input + " has no 'prune' block to run");
  for (const std::string &t : taskNames)
    if (!spec.findTask(t)) {
      std::string known;
      for (const std::string &name : circ::tasks::builtinTaskNames())
        known += (known.empty() ? "" : ", ") + name;
      for (const circ::tasks::Task &task : spec.userTasks)
        known += ", " + task.name();
      return usageError("--task: unknown task '" + t + "' (known: " + known +
                        ")");
    }

  std::string path = checkpoint.getNumOccurrences()
                         ? std::string(checkpoint)
                         : spec.prune->checkpoint.value;
  rt::Expected<rt::Checkpoint> ckpt = rt::Checkpoint::open(path);
  if (!ckpt) {
    std::string message = "cannot prune checkpoint '" + path + "': " +
                          ckpt.message();
    if (checkpoint.getNumOccurrences()) {
      errs() << "circc: error: " << message << "\n";
      return ExitInputErrors;
    }
    return pruneCheckpointError(loaded, message);
  }

  prune::PruneOverrides overrides;
  overrides.tasks.assign(taskNames.begin(), taskNames.end());
  if (out.getNumOccurrences())
    overrides.out = out;
  if (corpus.getNumOccurrences())
    overrides.corpus = corpus;
  if (steps.getNumOccurrences())
    overrides.steps = steps;
  if (auditSteps.getNumOccurrences())
    overrides.auditSteps = auditSteps;
  if (threads.getNumOccurrences())
    overrides.threads = threads;
  overrides.audit = !noAudit;
  overrides.logitScaling = logitScaling;
  // Under mpirun/srun the ranks share the tasks; rank 0 reports.
  rt::Expected<std::unique_ptr<train::Communicator>> comm =
      train::createWorldCommunicator();
  if (!comm) {
    errs() << "circc: error: " << comm.message() << "\n";
    return ExitInputErrors;
  }
  train::Communicator &world = **comm;
  overrides.comm = &world;
  overrides.progress = !quiet && world.isRoot();
  rt::Expected<prune::PruneSummary> summary =
      prune::runPrune(spec, *ckpt, overrides);
  if (!summary)
    return train::reportFailure(world, summary.message(), ExitInputErrors);
  if (!world.isRoot())
    return ExitSuccess;
  for (const prune::TaskOutcome &t : summary->tasks) {
    if (!t.pruned) {
      outs() << t.task << ": skipped\n";
      continue;
    }
    outs() << t.task << ": " << t.nodes << " nodes, " << t.edges
           << " edges, loss " << format("%.4f", t.loss) << " (full model "
           << format("%.4f", t.fullLoss) << ")"
           << (t.reachedTarget ? "" : ", target not reached") << ", "
           << format("%.0f", t.seconds) << " s\n";
    for (const circuits::AuditRow &a : t.audit)
      outs() << "  " << a.check << ": " << format("%.4g", a.value) << " ("
             << a.verdict << ")\n";
  }
  if (std::isfinite(summary->geometricMeanEdges))
    outs() << "geometric mean circuit size: "
           << format("%.1f", summary->geometricMeanEdges) << " edges\n";
  outs() << "report: " << summary->index << "\n";
  return ExitSuccess;
}
