//===- Checkpoint.cpp - training checkpoints in safetensors ---------------===//
#include "circ_runtime/Checkpoint.h"

#include "FileUtil.h"
#include "circ_runtime/ParamStore.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <variant>

namespace circ::rt {

const char *const kCheckpointFormat = "circ-checkpoint-v1";
const char *const kDenseFormat = "dense";

//===----------------------------------------------------------------------===//
// ModelConfig <-> JSON
//===----------------------------------------------------------------------===//

namespace {
using IntField = int64_t ModelConfig::*;
using RealField = double ModelConfig::*;
using BoolField = bool ModelConfig::*;
using SitesField = NodeLocationSet ModelConfig::*;
struct Field {
  const char *name;
  std::variant<IntField, RealField, BoolField, SitesField> member;
};
const Field kFields[] = {
    {"n_layer", &ModelConfig::nLayer},
    {"d_model", &ModelConfig::dModel},
    {"d_head", &ModelConfig::dHead},
    {"d_mlp", &ModelConfig::dMlp},
    {"n_ctx", &ModelConfig::ctx},
    {"vocab_size", &ModelConfig::vocab},
    {"afrac", &ModelConfig::activationFraction},
    {"afrac_loctypes", &ModelConfig::abstopkSites},
    {"weight_density", &ModelConfig::weightDensity},
    {"embed_density", &ModelConfig::embedDensity},
    {"min_per_unit", &ModelConfig::minPerUnit},
    {"sink", &ModelConfig::attentionSink},
    {"enable_bigram_table", &ModelConfig::bigramTable},
    {"positional_table", &ModelConfig::positionalTable},
};
// A field added to ModelConfig must be added to kFields too, or checkpoints
// silently lose it; this trips when the struct's size changes.
static_assert(sizeof(ModelConfig) == 96,
              "ModelConfig changed: update kFields in Checkpoint.cpp");

std::string sitesToString(NodeLocationSet sites) {
  std::string s;
  for (int i = 0; i < kNumNodeLocations; ++i) {
    auto loc = static_cast<NodeLocation>(i);
    if (contains(sites, loc))
      s += (s.empty() ? "" : ",") + std::string(nodeLocationName(loc));
  }
  return s;
}

bool sitesFromString(const std::string &s, NodeLocationSet &out) {
  out = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos)
      comma = s.size();
    auto loc = parseNodeLocation(s.substr(pos, comma - pos));
    if (!loc)
      return false;
    out |= NodeLocationSet(1u << static_cast<unsigned>(*loc));
    pos = comma + 1;
  }
  return true;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Digits only, no sign, no overflow.
bool parseU64(const std::string &s, uint64_t &out) {
  if (s.empty() || s.size() > 20)
    return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || __builtin_mul_overflow(out, 10u, &out) ||
        __builtin_add_overflow(out, uint64_t(c - '0'), &out))
      return false;
  }
  return true;
}
} // namespace

std::string modelConfigToJson(const ModelConfig &config) {
  nlohmann::ordered_json j;
  for (const Field &f : kFields) {
    if (auto *m = std::get_if<IntField>(&f.member))
      j[f.name] = config.*(*m);
    else if (auto *m = std::get_if<RealField>(&f.member))
      j[f.name] = config.*(*m);
    else if (auto *m = std::get_if<BoolField>(&f.member))
      j[f.name] = config.*(*m);
    else
      j[f.name] = sitesToString(config.*std::get<SitesField>(f.member));
    if (std::string(f.name) == "d_head")
      j["n_head"] = config.nHead();
  }
  return j.dump();
}

Expected<ModelConfig> modelConfigFromJson(std::string_view text,
                                          const std::string &where) {
  using json = nlohmann::json;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto fail = [&](const std::string &what) -> Expected<ModelConfig> {
    return Error::failure(where + ": " + what);
  };
  if (j.is_discarded() || !j.is_object())
    return fail("model config is not a JSON object");
  ModelConfig c;
  std::set<std::string> known = {"n_head"};
  for (const Field &f : kFields) {
    known.insert(f.name);
    auto it = j.find(f.name);
    if (it == j.end())
      return fail(std::string("model config lacks \"") + f.name + "\"");
    bool ok = true;
    if (auto *m = std::get_if<IntField>(&f.member)) {
      if ((ok = it->is_number_integer()))
        c.*(*m) = it->get<int64_t>();
    } else if (auto *m = std::get_if<RealField>(&f.member)) {
      if ((ok = it->is_number()))
        c.*(*m) = it->get<double>();
    } else if (auto *m = std::get_if<BoolField>(&f.member)) {
      if ((ok = it->is_boolean()))
        c.*(*m) = it->get<bool>();
    } else {
      ok =
          it->is_string() && sitesFromString(it->get<std::string>(),
                                             c.*std::get<SitesField>(f.member));
      if (!ok)
        return fail("model config: \"afrac_loctypes\" must list node "
                    "locations (attn_in, attn_q, attn_k, attn_v, attn_out, "
                    "mlp_in, mlp_neuron, mlp_out) separated by commas");
    }
    if (!ok)
      return fail(std::string("model config: \"") + f.name +
                  "\" has the wrong type");
  }
  for (auto &item : j.items())
    if (!known.count(item.key()))
      return fail("model config has an unknown field \"" + item.key() + "\"");
  std::vector<std::string> problems = c.validate();
  if (!problems.empty())
    return fail("invalid model config: " + problems.front());
  auto nHead = j.find("n_head");
  if (nHead != j.end() &&
      (!nHead->is_number_integer() || nHead->get<int64_t>() != c.nHead()))
    return fail("model config: n_head is not d_model / d_head");
  return c;
}

std::vector<std::string> diffModelConfigs(const ModelConfig &a,
                                          const ModelConfig &b) {
  nlohmann::json ja = nlohmann::json::parse(modelConfigToJson(a));
  nlohmann::json jb = nlohmann::json::parse(modelConfigToJson(b));
  std::vector<std::string> diffs;
  for (const Field &f : kFields)
    if (ja[f.name] != jb[f.name])
      diffs.push_back(std::string(f.name) + ": " + ja[f.name].dump() + " vs " +
                      jb[f.name].dump());
  return diffs;
}

//===----------------------------------------------------------------------===//
// Saving
//===----------------------------------------------------------------------===//

/// Checks that `store` holds exactly the parameters of `config`.
static Error checkStore(const ModelConfig &config, const ParamStore &store,
                        const std::string &what) {
  std::vector<ParamSpec> params = modelParameters(config);
  if (params.size() != store.size())
    return Error::failure(
        what + ": the model config has " + std::to_string(params.size()) +
        " parameters, the parameter store " + std::to_string(store.size()));
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].name != store.spec(i).name ||
        params[i].shape != store.spec(i).shape)
      return Error::failure(
          what + ": parameter " + std::to_string(i) + " is " + params[i].name +
          " " + shapeString(params[i].shape) + " in the config but " +
          store.spec(i).name + " " + shapeString(store.spec(i).shape) +
          " in the parameter store");
  return Error::success();
}

Error saveCheckpoint(const std::string &path, const ModelConfig &config,
                     const ParamStore &store, const TrainingState &state) {
  if (Error e = checkStore(config, store, path))
    return e;
  if (state.step < 0)
    return Error::failure(path + ": negative step " +
                          std::to_string(state.step));
  SafetensorsWriter w;
  for (size_t i = 0; i < store.size(); ++i) {
    const ParamSpec &p = store.spec(i);
    Error e = w.add(p.name, DType::F32, p.shape, store.values(i));
    if (!e)
      e = w.add(p.name + ".adam_m", DType::F32, p.shape, store.adamM(i));
    if (!e)
      e = w.add(p.name + ".adam_v", DType::F32, p.shape, store.adamV(i));
    if (e)
      return Error::failure(path + ": " + e.message());
  }
  w.setMetadata("circ.format", kCheckpointFormat);
  w.setMetadata("circ.config", modelConfigToJson(config));
  w.setMetadata("circ.step", std::to_string(state.step));
  w.setMetadata("circ.rng", state.rngState);
  w.setMetadata("circ.data_position", std::to_string(state.dataPosition));
  w.setMetadata("circ.run_spec_hash", state.runSpecHash);
  w.setMetadata("circ.tokenizer", state.tokenizerJson);
  for (const auto &[key, value] : state.extra)
    w.setMetadata("circ.extra." + key, value);
  return w.write(path);
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

Expected<Checkpoint> Checkpoint::open(const std::string &path) {
  auto file = SafetensorsFile::open(path);
  if (!file)
    return file.takeError();
  auto fail = [&](const std::string &what) -> Expected<Checkpoint> {
    return Error::failure(path + ": " + what);
  };
  const std::string *format = file->metadataValue("circ.format");
  if (!format)
    return fail("not a circ training checkpoint (its metadata has no "
                "\"circ.format\")");
  if (*format == kDenseFormat)
    return fail("a dense weight export, not a training checkpoint (it has no "
                "optimizer state to resume from)");
  if (*format != kCheckpointFormat)
    return fail("unsupported checkpoint format \"" + *format +
                "\" (expected \"" + kCheckpointFormat + "\")");
  auto meta = [&](const char *key) { return file->metadataValue(key); };
  for (const char *key :
       {"circ.config", "circ.step", "circ.rng", "circ.data_position",
        "circ.run_spec_hash", "circ.tokenizer"})
    if (!meta(key))
      return fail(std::string("incomplete checkpoint: no \"") + key +
                  "\" metadata");
  Checkpoint ck;
  auto config = modelConfigFromJson(*meta("circ.config"), path);
  if (!config)
    return config.takeError();
  ck.cfg = *config;
  uint64_t step;
  if (!parseU64(*meta("circ.step"), step) || step > uint64_t(INT64_MAX))
    return fail("\"circ.step\" is not a step number: \"" + *meta("circ.step") +
                "\"");
  ck.st.step = static_cast<int64_t>(step);
  if (!parseU64(*meta("circ.data_position"), ck.st.dataPosition))
    return fail("\"circ.data_position\" is not a number: \"" +
                *meta("circ.data_position") + "\"");
  ck.st.rngState = *meta("circ.rng");
  ck.st.runSpecHash = *meta("circ.run_spec_hash");
  ck.st.tokenizerJson = *meta("circ.tokenizer");
  const std::string extra = "circ.extra.";
  for (const auto &[key, value] : file->metadata())
    if (key.compare(0, extra.size(), extra) == 0)
      ck.st.extra[key.substr(extra.size())] = value;

  std::set<std::string> expected;
  for (const ParamSpec &p : modelParameters(ck.cfg)) {
    for (const std::string &name :
         {p.name, p.name + ".adam_m", p.name + ".adam_v"}) {
      const TensorInfo *info = file->find(name);
      if (!info)
        return fail("missing tensor '" + name + "' (the config has " + p.name +
                    " " + shapeString(p.shape) + ")");
      if (info->dtype != DType::F32)
        return fail("tensor '" + name + "' is " + dtypeName(info->dtype) +
                    ", expected F32");
      if (info->shape != p.shape)
        return fail("tensor '" + name + "' has shape " +
                    shapeString(info->shape) + ", the config needs " +
                    shapeString(p.shape));
      expected.insert(name);
    }
  }
  for (const TensorInfo &info : file->tensors())
    if (!expected.count(info.name))
      return fail("unexpected tensor '" + info.name +
                  "': not a parameter of the model in circ.config");
  ck.file = std::move(*file);
  return ck;
}

Error Checkpoint::copyInto(ParamStore &store, bool moments,
                           ThreadPool &pool) const {
  if (Error e = checkStore(cfg, store, path()))
    return e;
  for (size_t i = 0; i < store.size(); ++i) {
    const ParamSpec &p = store.spec(i);
    Error e = file.copyTo(p.name, DType::F32, p.shape, store.values(i));
    if (!e && moments)
      e = file.copyTo(p.name + ".adam_m", DType::F32, p.shape, store.adamM(i));
    if (!e && moments)
      e = file.copyTo(p.name + ".adam_v", DType::F32, p.shape, store.adamV(i));
    if (e)
      return e;
  }
  return store.rebuildIndices(pool);
}

Error Checkpoint::restore(ParamStore &store, ThreadPool &pool) const {
  return copyInto(store, /*moments=*/true, pool);
}

Error Checkpoint::restoreWeights(ParamStore &store, ThreadPool &pool) const {
  return copyInto(store, /*moments=*/false, pool);
}

//===----------------------------------------------------------------------===//
// Dense export
//===----------------------------------------------------------------------===//

namespace {
struct WeightRef {
  const ParamSpec *spec;
  const void *data; ///< F32, possibly unaligned (a mapped file)
};

Error writeDense(const std::string &path, const ModelConfig &config,
                 const std::vector<WeightRef> &weights,
                 const std::string &tokenizerJson) {
  SafetensorsWriter w;
  w.setMetadata("circ.format", kDenseFormat);
  w.setMetadata("circ.config", modelConfigToJson(config));
  if (!tokenizerJson.empty())
    w.setMetadata("circ.tokenizer", tokenizerJson);
  for (const WeightRef &ref : weights) {
    const ParamSpec &p = *ref.spec;
    if (Error e = w.add(p.name, DType::F32, p.shape, ref.data))
      return Error::failure(path + ": " + e.message());
    if (!p.isSparse())
      continue;
    const auto *bytes = static_cast<const unsigned char *>(ref.data);
    int64_t n = p.numel(), nonzeros = 0;
    for (int64_t k = 0; k < n; ++k) {
      float v;
      std::memcpy(&v, bytes + k * sizeof(float), sizeof(float));
      nonzeros += v != 0.0f;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9g",
                  n ? double(nonzeros) / double(n) : 0.0);
    w.setMetadata("circ.density." + p.name, buf);
  }
  return w.write(path);
}
} // namespace

Error exportDenseWeights(const Checkpoint &checkpoint,
                         const std::string &path) {
  std::vector<ParamSpec> params = modelParameters(checkpoint.config());
  std::vector<WeightRef> weights;
  for (const ParamSpec &p : params)
    weights.push_back({&p, checkpoint.safetensors().data(
                               *checkpoint.safetensors().find(p.name))});
  return writeDense(path, checkpoint.config(), weights,
                    checkpoint.state().tokenizerJson);
}

Error exportDenseWeights(const ModelConfig &config, const ParamStore &store,
                         const std::string &tokenizerJson,
                         const std::string &path) {
  if (Error e = checkStore(config, store, path))
    return e;
  std::vector<ParamSpec> params = modelParameters(config);
  std::vector<WeightRef> weights;
  for (size_t i = 0; i < params.size(); ++i)
    weights.push_back({&params[i], store.values(i)});
  return writeDense(path, config, weights, tokenizerJson);
}

//===----------------------------------------------------------------------===//
// Rolling checkpoints
//===----------------------------------------------------------------------===//

std::string CheckpointDir::pathForStep(int64_t step) const {
  char name[64];
  std::snprintf(name, sizeof(name), "ckpt-%08lld.safetensors",
                static_cast<long long>(step));
  return dir + "/" + name;
}

/// Reads the step out of "ckpt-<digits>.safetensors".
static bool checkpointStep(const std::string &name, int64_t &step) {
  const std::string prefix = "ckpt-", suffix = ".safetensors";
  if (name.size() <= prefix.size() + suffix.size() ||
      name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  uint64_t v;
  if (!parseU64(name.substr(prefix.size(),
                            name.size() - prefix.size() - suffix.size()),
                v) ||
      v > uint64_t(INT64_MAX))
    return false;
  step = static_cast<int64_t>(v);
  return true;
}

static std::vector<std::string> directoryNames(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      names.emplace_back(e->d_name);
    closedir(d);
  }
  return names;
}

std::vector<std::pair<int64_t, std::string>> CheckpointDir::list() const {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const std::string &name : directoryNames(dir)) {
    int64_t step;
    if (checkpointStep(name, step))
      out.emplace_back(step, dir + "/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Writes `text` to `path` unless the file already holds exactly that.
static Error writeIfChanged(const std::string &path, const std::string &text) {
  Expected<std::string> old = readFile(path);
  if (old && *old == text)
    return Error::success();
  return writeFileAtomic(path, {text});
}

Expected<std::string> CheckpointDir::save(const ModelConfig &config,
                                          const ParamStore &store,
                                          const TrainingState &state) const {
  if (Error e = makeDirectories(dir))
    return e;
  // Temporaries of writers that died mid-write (their pid is gone).
  for (const std::string &name : directoryNames(dir)) {
    size_t at = name.find(".safetensors.tmp.");
    if (name.compare(0, 5, "ckpt-") != 0 || at == std::string::npos)
      continue;
    uint64_t pid;
    if (parseU64(name.substr(at + 17), pid) && pid != uint64_t(getpid()) &&
        kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      ::unlink((dir + "/" + name).c_str());
  }
  std::string path = pathForStep(state.step);
  if (Error e = saveCheckpoint(path, config, store, state))
    return e;
  if (Error e = writeIfChanged(dir + "/config.json",
                               modelConfigToJson(config) + "\n"))
    return e;
  if (!state.tokenizerJson.empty())
    if (Error e = writeIfChanged(dir + "/tokenizer.json", state.tokenizerJson))
      return e;
  auto all = list();
  size_t keepN = static_cast<size_t>(std::max(keep, 1));
  for (size_t i = 0; i + keepN < all.size(); ++i)
    if (all[i].second != path)
      ::unlink(all[i].second.c_str());
  return path;
}

Expected<Checkpoint>
CheckpointDir::latest(std::vector<std::string> &warnings) const {
  auto all = list();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    Expected<Checkpoint> ck = Checkpoint::open(it->second);
    if (ck)
      return ck;
    warnings.push_back("skipping " + ck.message());
  }
  return Error::failure(dir + ": " +
                        (all.empty()
                             ? std::string("no checkpoints "
                                           "(ckpt-<step>.safetensors)")
                             : "none of the " + std::to_string(all.size()) +
                                   " checkpoints can be used"));
}

} // namespace circ::rt
