//===- Checkpoint.h - training checkpoints in safetensors -------*- C++ -*-===//
//
// A training checkpoint is one safetensors file:
//   tensors   "<param>"         F32, the weights (dense, explicit zeros)
//             "<param>.adam_m"  F32, Adam's first moment
//             "<param>.adam_v"  F32, Adam's second moment
//             for every parameter of modelParameters(config), nothing else;
//   metadata  "circ.format"         "circ-checkpoint-v1"
//             "circ.config"         the ModelConfig as JSON (modelConfigToJson)
//             "circ.step"           optimizer steps taken (decimal)
//             "circ.rng"            the trainer's RNG state (opaque text)
//             "circ.data_position"  DataLoader::position() (decimal)
//             "circ.run_spec_hash"  hash of the run specification
//             "circ.tokenizer"      the tokenizer (Tokenizer::toJson())
//             "circ.extra.<key>"    anything else the trainer records.
// Files are written to a temporary and renamed, so a crash leaves the previous
// checkpoint intact. Opening checks the tag, the config, and every tensor's
// presence, dtype and shape, and refuses anything else with a message naming
// the file and the problem.
//
// exportDenseWeights() writes only the weights (F32, explicit zeros) with
// "circ.format" = "dense": what `safetensors.torch.load_file` and the paper's
// reference code (dense state dicts) expect.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_CHECKPOINT_H
#define CIRC_RUNTIME_CHECKPOINT_H

#include "circ_runtime/Error.h"
#include "circ_runtime/ModelConfig.h"
#include "circ_runtime/Safetensors.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace circ::rt {

class ParamStore;
class ThreadPool;

extern const char *const kCheckpointFormat; ///< "circ-checkpoint-v1"
extern const char *const kDenseFormat;      ///< "dense"

/// The config as one JSON object with the reference code's field names where
/// it has them: n_layer, d_model, d_head, n_head (derived), d_mlp, n_ctx,
/// vocab_size, afrac, afrac_loctypes ("attn_in,attn_q,..."), weight_density,
/// embed_density, min_per_unit, sink, enable_bigram_table, positional_table.
std::string modelConfigToJson(const ModelConfig &config);
/// Parses modelConfigToJson's format; every field is required, no other is
/// allowed, and the result must validate. `where` prefixes messages.
Expected<ModelConfig> modelConfigFromJson(std::string_view json,
                                          const std::string &where);
/// "field: a vs b" for each difference; empty when the configs are equal.
std::vector<std::string> diffModelConfigs(const ModelConfig &a,
                                          const ModelConfig &b);

/// Everything in a checkpoint besides the tensors and the config.
struct TrainingState {
  int64_t step = 0;
  std::string rngState; ///< any UTF-8 text, e.g. hex words
  uint64_t dataPosition = 0;
  std::string runSpecHash;
  std::string tokenizerJson; ///< empty if the run has no tokenizer
  std::map<std::string, std::string> extra;
};

/// Writes a checkpoint of `store` (created for `config`) atomically.
Error saveCheckpoint(const std::string &path, const ModelConfig &config,
                     const ParamStore &store, const TrainingState &state);

/// A validated, memory-mapped checkpoint.
class Checkpoint {
public:
  static Expected<Checkpoint> open(const std::string &path);

  const std::string &path() const { return file.name(); }
  const ModelConfig &config() const { return cfg; }
  const TrainingState &state() const { return st; }
  const SafetensorsFile &safetensors() const { return file; }

  /// Copies weights and both moments into `store`, which must hold exactly
  /// config()'s parameters, then rebuilds its sparse indices on `pool`.
  Error restore(ParamStore &store, ThreadPool &pool) const;
  /// Weights only (moments untouched), e.g. for evaluation or pruning.
  Error restoreWeights(ParamStore &store, ThreadPool &pool) const;

private:
  SafetensorsFile file;
  ModelConfig cfg;
  TrainingState st;

  Error copyInto(ParamStore &store, bool moments, ThreadPool &pool) const;
};

/// Dense fp32 weights with explicit zeros, parameters only, plus the config,
/// tokenizer and each sparse parameter's density ("circ.density.<name>") in
/// the metadata.
Error exportDenseWeights(const Checkpoint &checkpoint, const std::string &path);
Error exportDenseWeights(const ModelConfig &config, const ParamStore &store,
                         const std::string &tokenizerJson,
                         const std::string &path);

/// A run directory's rolling checkpoints, `ckpt-<step>.safetensors`: save()
/// writes the new one, then deletes all but the newest `keep`; it also puts
/// config.json and tokenizer.json beside them for people and tools.
class CheckpointDir {
public:
  CheckpointDir(std::string dir, int keep) : dir(std::move(dir)), keep(keep) {}

  std::string pathForStep(int64_t step) const;
  /// (step, path) of every checkpoint file, oldest first.
  std::vector<std::pair<int64_t, std::string>> list() const;
  Expected<std::string> save(const ModelConfig &config, const ParamStore &store,
                             const TrainingState &state) const;
  /// The newest checkpoint that opens cleanly; those skipped are explained
  /// in `warnings`. Fails if there is none.
  Expected<Checkpoint> latest(std::vector<std::string> &warnings) const;

private:
  std::string dir;
  int keep;
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_CHECKPOINT_H
