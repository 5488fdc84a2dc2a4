//===- RunSpec.h - the checked, fully resolved .circ file -------*- C++ -*-===//
//
// What `circc` subcommands read after the checker has accepted a file: the
// model (a circ::ModelConfig), its data, how to train it, how to prune it and
// optional kernel choices. Every value is resolved (no "unset"); each records
// whether it was written, defaulted, or derived from other values, and where,
// so `circc check --print-spec` can show it and later errors can point at it.
//
// Defaults are the paper's (Gao et al. 2025, reference/paper.md §2 and §5)
// unless a comment says otherwise. Plain C++ (no LLVM or MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_RUNSPEC_H
#define CIRC_FRONTEND_RUNSPEC_H

#include "circ/Frontend/Source.h"
#include "circ/Tasks/Tasks.h"
#include "circ_runtime/ModelConfig.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace circ::frontend {

/// Where a resolved value came from.
struct Origin {
  enum class Kind : uint8_t {
    Default, ///< not written; the documented default
    Written, ///< written in the file at `range`
    Derived, ///< computed from other values (`because` says how)
  };
  Kind kind = Kind::Default;
  /// Written: the value's text. Default/Derived: the block it belongs to.
  SourceRange range;
  /// Derived: how, e.g. "4 × d_model". Default: optional provenance.
  std::string because;

  bool written() const { return kind == Kind::Written; }
};

template <typename T> struct Setting {
  T value{};
  Origin origin;
};

//===----------------------------------------------------------------------===//
// data
//===----------------------------------------------------------------------===//

struct DataSpec {
  std::string name; ///< the block's name, "" if unnamed
  SourceRange range;
  /// Glob patterns of corpus files, relative to the working directory. Empty
  /// means the source of the Python standard library of the system's
  /// `python3` (written `files = python_stdlib`).
  Setting<std::vector<std::string>> files;
  /// Byte-level BPE trained on `files` with this many tokens, including
  /// <|endoftext|> (the last id). 2048 as tinypython_2k.
  Setting<int64_t> vocab{2048, {}};
  /// Fraction of the corpus held out for evaluation, in [0, 1). Not in the
  /// paper; 1%.
  Setting<double> holdout{0.01, {}};

  bool usesPythonStdlib() const { return files.value.empty(); }
};

//===----------------------------------------------------------------------===//
// model
//===----------------------------------------------------------------------===//

struct ModelSpec {
  std::string name; ///< the block's name, or the file's stem if unnamed
  SourceRange range;
  circ::ModelConfig config;

  /// Origins by key, for diagnostics and the builder's location hook.
  Origin layers, dModel, dHead, heads, dMlp, ctx, vocab;
  Origin activationKeep, activationSites; ///< activations = abstopk(keep:, at:)
  Origin weightDensity,
      minPerNeuron;    ///< weights = sparse(density:, min_per_neuron:)
  Origin embedDensity; ///< embeddings = sparse(density:)
  Origin sink, bigram, positional;

  /// The origin of a key of the model block ("layers", "activations",
  /// "weights", ...), or of the block itself for "model" and unknown keys.
  /// For a key with several parts (activations, weights) this is the first
  /// written part.
  Origin originOf(std::string_view key) const;
};

//===----------------------------------------------------------------------===//
// train
//===----------------------------------------------------------------------===//

enum class LrDecay : uint8_t { Linear, None };
enum class AnnealShape : uint8_t { Linear, PowerLaw };

struct TrainSpec {
  SourceRange range;
  /// Optimizer steps; written, or derived from `tokens = ...` as
  /// ceil(tokens / (batch × ctx)).
  Setting<int64_t> steps;
  /// Sequences of `ctx` tokens per step (paper: 512).
  Setting<int64_t> batch{512, {}};
  Setting<uint64_t> seed{0, {}};
  /// Worker threads; 0 = one per core.
  Setting<int64_t> threads{0, {}};

  // optimizer = adamw(betas: (beta1, beta2), eps:, weight_decay:). Weight
  // decay is LR-coupled: p -= weight_decay · lr_t · p after the projection.
  Setting<double> beta1{0.9, {}};
  Setting<double> beta2{0.95, {}};
  Setting<double> eps{0.1, {}};
  Setting<double> weightDecay{0.1, {}};

  // lr = sharkfin(peak:, warmup:, decay:) | warmup_decay(...) | <number>.
  // lr_t = peak · warmup-then-decay(t) · (sharkfin ? sqrt(d_final / d_t) : 1)
  // where d is the weight density of the anneal below.
  Setting<double> lrPeak{1.28e-2, {}};
  Setting<double> lrWarmup{0.01, {}}; ///< fraction of steps
  Setting<LrDecay> lrDecay{LrDecay::Linear, {}};
  Setting<bool> sharkfin{true, {}};

  // sparsity = anneal(from -> target, during: start..end, shape:) | none.
  // Each sparse parameter's density is `annealFrom` before `annealStart`,
  // its final density (ModelConfig::weightDensity or embedDensity) after
  // `annealEnd`, and moves by `annealShape` in between. `none` is
  // start = end = 0: the final density from the first step.
  Setting<double> annealFrom{1.0, {}};
  Setting<double> annealStart{0.01, {}}; ///< fraction of steps
  Setting<double> annealEnd{0.5, {}};    ///< fraction of steps
  Setting<AnnealShape> annealShape{AnnealShape::Linear, {}};

  /// grad_norm = rms: divide every gradient by (global gradient RMS + 1e-5).
  Setting<bool> gradRmsNorm{true, {}};

  // log = every(N, to: path): one JSON line of metrics per N steps.
  Setting<int64_t> logEvery{10, {}};
  Setting<std::string> logPath;
  // eval = every(N, batches: M) | none: holdout loss over M batches.
  // Paper: validation every 20 steps.
  Setting<int64_t> evalEvery{20, {}}; ///< 0 = never
  Setting<int64_t> evalBatches{4, {}};
  // checkpoint = every(N, to: path): `{step}` in the path is replaced by the
  // step number. A checkpoint is also written after the last step.
  Setting<int64_t> checkpointEvery{1000, {}};
  Setting<std::string> checkpointPath;
  /// Run directory (default "runs/<model name>").
  Setting<std::string> out;

  /// The checkpoint written after the last step.
  std::string finalCheckpointPath() const;
};

//===----------------------------------------------------------------------===//
// prune
//===----------------------------------------------------------------------===//

enum class Ablation : uint8_t { Mean, Zero };

struct PruneSpec {
  SourceRange range;
  /// Task names from `prune for <task>` or `prune for [<task>, ...]`: each
  /// a built-in task or one of the file's `task` blocks (RunSpec::findTask).
  Setting<std::vector<std::string>> tasks;
  /// Checkpoint to prune; by default the train block's final checkpoint.
  Setting<std::string> checkpoint;
  /// Per-prompt binary cross-entropy the circuit must reach.
  Setting<double> targetLoss{0.15, {}};
  /// A pruned node's activation is replaced by its mean over pretraining
  /// data (mean), or by 0 (zero).
  Setting<Ablation> ablation{Ablation::Mean, {}};
  /// Node locations whose channels can be pruned.
  Setting<circ::NodeLocationSet> nodes{circ::kAllNodeLocations, {}};
  /// Loss = task loss + kCoef · (number of kept nodes).
  Setting<double> kCoef{1e-4, {}};
  /// Mask optimisation steps (the paper trains 48 epochs of its task data;
  /// its task sets are not published, so the default is 2000 steps).
  Setting<int64_t> steps{2000, {}};
  Setting<double> lr{3e-3, {}};
  /// Task pairs per step (paper: 64 pairs = 128 prompts).
  Setting<int64_t> batch{64, {}};
  /// Bisect the number of kept nodes down to the target loss.
  Setting<bool> bisect{true, {}};
  /// Hyperparameter trials around (lr, kCoef): 1 = none (`search = none`),
  /// N = random search with N trials (`search = random(trials: N)`).
  Setting<int64_t> searchTrials{1, {}};
  Setting<uint64_t> seed{0, {}};
  Setting<int64_t> threads{0, {}};
  /// Output directory for circuits (default "<train out>/circuits").
  Setting<std::string> out;
};

//===----------------------------------------------------------------------===//
// kernel
//===----------------------------------------------------------------------===//

enum class KernelTarget : uint8_t { Cpu, Cuda };
enum class WeightLayout : uint8_t { Auto, Dense, Csr };

/// How to compute on one target. Never changes what is computed.
struct KernelSpec {
  SourceRange range;
  KernelTarget target = KernelTarget::Cpu;
  int smArch = 0; ///< Cuda: e.g. 90 for sm_90
  Setting<WeightLayout> layout{WeightLayout::Auto, {}};
  Setting<int> indexBits{32, {}}; ///< Csr: 16 or 32
  /// Matmul tile (rows, cols); empty = the compiler chooses.
  Setting<std::vector<int64_t>> tile;
  Setting<int64_t> vectorWidth{0, {}};     ///< Cpu; 0 = the compiler chooses
  Setting<int64_t> threadsPerBlock{0, {}}; ///< Cuda; 0 = the compiler chooses
};

//===----------------------------------------------------------------------===//
// The whole file
//===----------------------------------------------------------------------===//

struct RunSpec {
  std::string path; ///< the .circ file as named on the command line
  std::optional<DataSpec> data;
  ModelSpec model;
  std::optional<TrainSpec> train;
  std::optional<PruneSpec> prune;
  std::vector<KernelSpec> kernels;
  /// Tasks defined by the file's `task` blocks (docs/tasks.md); the built-in
  /// ones are circ::tasks::builtinTasks().
  std::vector<circ::tasks::Task> userTasks;
  /// The file's `task` and `list` blocks, as written (--print-spec copies
  /// them).
  std::vector<SourceRange> templateBlocks;

  const KernelSpec *kernelFor(KernelTarget target) const;
  /// The task called `name`: the file's own, else a built-in one, else null.
  const circ::tasks::Task *findTask(std::string_view name) const;
};

/// Display names used by the checker and the spec printer.
const char *name(LrDecay decay);
const char *name(AnnealShape shape);
const char *name(Ablation ablation);
const char *name(KernelTarget target);
const char *name(WeightLayout layout);

} // namespace circ::frontend

#endif // CIRC_FRONTEND_RUNSPEC_H
