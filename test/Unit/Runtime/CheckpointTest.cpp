//===- CheckpointTest.cpp - training checkpoint tests
//----------------------===//
#include "circ_runtime/Checkpoint.h"

#include "circ_runtime/ParamStore.h"
#include "circ_runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace circ;
using namespace circ::rt;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/circ-ckpt-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
};

ModelConfig smallConfig() {
  ModelConfig c;
  c.nLayer = 2;
  c.dModel = 16;
  c.dHead = 8;
  c.dMlp = 32;
  c.ctx = 8;
  c.vocab = 40;
  c.attentionSink = true;
  c.weightDensity = 0.25;
  return c;
}

/// A store whose every entry of values / moments is distinct and known.
std::unique_ptr<ParamStore> filledStore(const ModelConfig &c, float salt) {
  auto store = ParamStore::create(c);
  EXPECT_TRUE(store) << store.message();
  for (size_t i = 0; i < (*store)->size(); ++i)
    for (int64_t k = 0; k < (*store)->numel(i); ++k) {
      // Every third weight zero, as after a projection.
      (*store)->values(i)[k] = k % 3 ? salt + float(i) + 0.001f * k : 0.0f;
      (*store)->adamM(i)[k] = -salt - float(i) - 0.002f * k;
      (*store)->adamV(i)[k] = salt * 1e-3f + 0.0001f * k;
    }
  return std::move(*store);
}

TrainingState sampleState() {
  TrainingState s;
  s.step = 1234;
  s.rngState = "philox:0123456789abcdef:42";
  s.dataPosition = 98765;
  s.runSpecHash = "b1946ac92492d234";
  s.tokenizerJson = R"({"format": "circ-bpe-v1"})";
  s.extra["lr_scale"] = "0.5";
  return s;
}

// Tests that the config survives JSON exactly, with every field different
// from its default, and that diffs name the fields.
TEST(Checkpoint, ConfigJsonRoundTrip) {
  ModelConfig c;
  c.nLayer = 3;
  c.dModel = 48;
  c.dHead = 12;
  c.dMlp = 100;
  c.ctx = 33;
  c.vocab = 777;
  c.activationFraction = 0.1;
  c.abstopkSites =
      (1u << int(NodeLocation::AttnQ)) | (1u << int(NodeLocation::MlpNeuron));
  c.weightDensity = 1.0 / 1024;
  c.embedDensity = 0.0625;
  c.minPerUnit = 2;
  c.attentionSink = true;
  c.bigramTable = false;
  c.positionalTable = true;
  std::string json = modelConfigToJson(c);
  EXPECT_NE(json.find("\"afrac_loctypes\":\"attn_q,mlp_neuron\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"n_head\":4"), std::string::npos);
  auto back = modelConfigFromJson(json, "x");
  ASSERT_TRUE(back) << back.message();
  EXPECT_TRUE(diffModelConfigs(*back, c).empty());
  EXPECT_EQ(modelConfigToJson(*back), json);
  auto diffs = diffModelConfigs(c, ModelConfig());
  EXPECT_EQ(diffs.size(), 14u);
  EXPECT_EQ(diffs[0], "n_layer: 3 vs 2");
}

TEST(Checkpoint, ConfigJsonRejections) {
  std::string good = modelConfigToJson(ModelConfig());
  auto with = [&](const std::string &from, const std::string &to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  struct Case {
    std::string text;
    const char *expected;
  };
  for (const Case &c : std::vector<Case>{
           {"[]", "not a JSON object"},
           {with("\"n_layer\":2,", ""), "lacks \"n_layer\""},
           {with("\"n_layer\":2", "\"n_layer\":2,\"dropout\":0"),
            "unknown field \"dropout\""},
           {with("\"sink\":false", "\"sink\":0"),
            "\"sink\" has the wrong type"},
           {with("\"d_head\":16", "\"d_head\":15"), "must divide d_model"},
           {with("attn_in,", "attn_inn,"), "afrac_loctypes"},
           {with("\"n_head\":4", "\"n_head\":5"), "n_head is not"},
       }) {
    auto r = modelConfigFromJson(c.text, "cfg.json");
    ASSERT_FALSE(r) << c.expected;
    EXPECT_EQ(r.message().rfind("cfg.json: ", 0), 0u);
    EXPECT_NE(r.message().find(c.expected), std::string::npos) << r.message();
  }
}

// Tests the round trip: weights, both moments and every state field come back
// bit for bit, and the sparse indices are rebuilt from the loaded weights.
TEST(Checkpoint, RoundTrip) {
  TempDir dir;
  ModelConfig c = smallConfig();
  auto store = filledStore(c, 1.5f);
  TrainingState state = sampleState();
  std::string path = dir.path + "/a.safetensors";
  ASSERT_FALSE(saveCheckpoint(path, c, *store, state));

  auto ck = Checkpoint::open(path);
  ASSERT_TRUE(ck) << ck.message();
  EXPECT_TRUE(diffModelConfigs(ck->config(), c).empty());
  EXPECT_EQ(ck->state().step, 1234);
  EXPECT_EQ(ck->state().rngState, state.rngState);
  EXPECT_EQ(ck->state().dataPosition, 98765u);
  EXPECT_EQ(ck->state().runSpecHash, state.runSpecHash);
  EXPECT_EQ(ck->state().tokenizerJson, state.tokenizerJson);
  EXPECT_EQ(ck->state().extra, state.extra);
  EXPECT_EQ(ck->safetensors().tensors().size(), 3 * store->size());

  auto fresh = ParamStore::create(c);
  ASSERT_TRUE(fresh);
  ThreadPool pool(2);
  ASSERT_FALSE(ck->restore(**fresh, pool));
  for (size_t i = 0; i < store->size(); ++i) {
    size_t bytes = store->numel(i) * sizeof(float);
    EXPECT_EQ(std::memcmp((*fresh)->values(i), store->values(i), bytes), 0);
    EXPECT_EQ(std::memcmp((*fresh)->adamM(i), store->adamM(i), bytes), 0);
    EXPECT_EQ(std::memcmp((*fresh)->adamV(i), store->adamV(i), bytes), 0);
    if (const SparseIndex *idx = (*fresh)->index(i)) {
      int64_t nonzeros = 0;
      for (int64_t k = 0; k < store->numel(i); ++k)
        nonzeros += store->values(i)[k] != 0.0f;
      EXPECT_EQ(idx->nnz(), nonzeros) << store->spec(i).name;
    }
  }
  // Weights only: moments stay as they were.
  auto weightsOnly = ParamStore::create(c);
  ASSERT_TRUE(weightsOnly);
  ASSERT_FALSE(ck->restoreWeights(**weightsOnly, pool));
  EXPECT_EQ((*weightsOnly)->values(1)[1], store->values(1)[1]);
  EXPECT_EQ((*weightsOnly)->adamM(1)[1], 0.0f);

  // A store of another shape is refused, naming the parameter.
  ModelConfig wider = c;
  wider.dMlp = 64;
  auto other = ParamStore::create(wider);
  ASSERT_TRUE(other);
  Error e = ck->restore(**other, pool);
  ASSERT_TRUE(e);
  EXPECT_NE(e.message().find("h.0.mlp.c_fc.weight [32, 16] in the config"),
            std::string::npos)
      << e.message();
}

/// Writes a safetensors file holding `store`'s checkpoint tensors with a
/// change applied, to build foreign and broken checkpoints.
std::string writeVariant(
    const std::string &path, const ModelConfig &c, const ParamStore &store,
    const std::function<void(SafetensorsWriter &, std::string &)> &edit) {
  SafetensorsWriter w;
  std::string skip;
  edit(w, skip);
  for (size_t i = 0; i < store.size(); ++i) {
    const ParamSpec &p = store.spec(i);
    for (auto [suffix, data] : {std::make_pair("", store.values(i)),
                                std::make_pair(".adam_m", store.adamM(i)),
                                std::make_pair(".adam_v", store.adamV(i))}) {
      std::string name = p.name + suffix;
      if (name != skip)
        EXPECT_FALSE(w.add(name, DType::F32, p.shape, data));
    }
  }
  EXPECT_FALSE(w.write(path));
  return path;
}

// Tests that foreign, broken and incomplete files are refused clearly.
TEST(Checkpoint, RefusesForeignAndBrokenFiles) {
  TempDir dir;
  ModelConfig c = smallConfig();
  auto store = filledStore(c, 0.5f);
  std::string cfg = modelConfigToJson(c);
  auto meta = [&](SafetensorsWriter &w) {
    w.setMetadata("circ.format", kCheckpointFormat);
    w.setMetadata("circ.config", cfg);
    w.setMetadata("circ.step", "5");
    w.setMetadata("circ.rng", "");
    w.setMetadata("circ.data_position", "0");
    w.setMetadata("circ.run_spec_hash", "");
    w.setMetadata("circ.tokenizer", "");
  };
  float extra = 1.0f;
  struct Case {
    std::string what;
    std::function<void(SafetensorsWriter &, std::string &)> edit;
    const char *expected;
  };
  std::vector<Case> cases = {
      {"plain weights", [](SafetensorsWriter &, std::string &) {},
       "not a circ training checkpoint"},
      {"dense export",
       [&](SafetensorsWriter &w, std::string &) {
         meta(w);
         w.setMetadata("circ.format", "dense");
       },
       "a dense weight export"},
      {"future format",
       [&](SafetensorsWriter &w, std::string &) {
         meta(w);
         w.setMetadata("circ.format", "circ-checkpoint-v9");
       },
       "unsupported checkpoint format \"circ-checkpoint-v9\""},
      {"bad step",
       [&](SafetensorsWriter &w, std::string &) {
         meta(w);
         w.setMetadata("circ.step", "-3");
       },
       "\"circ.step\" is not a step number: \"-3\""},
      {"bad config",
       [&](SafetensorsWriter &w, std::string &) {
         meta(w);
         w.setMetadata("circ.config", "{}");
       },
       "model config lacks \"n_layer\""},
      {"missing moment",
       [&](SafetensorsWriter &w, std::string &skip) {
         meta(w);
         skip = "h.1.mlp.c_proj.weight.adam_v";
       },
       "missing tensor 'h.1.mlp.c_proj.weight.adam_v'"},
      {"extra tensor",
       [&](SafetensorsWriter &w, std::string &) {
         meta(w);
         EXPECT_FALSE(w.add("h.2.ln_1.weight", DType::F32, {}, &extra));
       },
       "unexpected tensor 'h.2.ln_1.weight'"},
      {"config mismatch",
       [&](SafetensorsWriter &w, std::string &) {
         meta(w);
         ModelConfig smaller = c;
         smaller.vocab = 39;
         w.setMetadata("circ.config", modelConfigToJson(smaller));
       },
       "tensor 'wte.weight' has shape [40, 16], the config needs [39, 16]"},
  };
  for (const Case &k : cases) {
    std::string path = dir.path + "/bad.safetensors";
    writeVariant(path, c, *store, k.edit);
    auto ck = Checkpoint::open(path);
    ASSERT_FALSE(ck) << k.what;
    EXPECT_EQ(ck.message().rfind(path + ": ", 0), 0u) << ck.message();
    EXPECT_NE(ck.message().find(k.expected), std::string::npos)
        << k.what << ": " << ck.message();
  }
  // A truncated real checkpoint.
  std::string path = dir.path + "/t.safetensors";
  ASSERT_FALSE(saveCheckpoint(path, c, *store, sampleState()));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  ASSERT_EQ(truncate(path.c_str(), st.st_size - 4), 0);
  auto truncated = Checkpoint::open(path);
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.message().find(path + ": truncated"), std::string::npos)
      << truncated.message();
  // Not safetensors at all.
  std::string text = dir.path + "/notes.txt";
  FILE *f = fopen(text.c_str(), "w");
  fputs("hello, this is not a checkpoint\n", f);
  fclose(f);
  auto foreign = Checkpoint::open(text);
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.message().find("not a safetensors file"), std::string::npos)
      << foreign.message();
}

// Tests the dense export: exactly the parameters, as F32 with their zeros,
// and each sparse parameter's density.
TEST(Checkpoint, ExportsDenseWeights) {
  TempDir dir;
  ModelConfig c = smallConfig();
  auto store = filledStore(c, 2.0f);
  std::string ckPath = dir.path + "/ck.safetensors";
  ASSERT_FALSE(saveCheckpoint(ckPath, c, *store, sampleState()));
  auto ck = Checkpoint::open(ckPath);
  ASSERT_TRUE(ck);
  std::string fromCk = dir.path + "/dense1.safetensors";
  std::string fromStore = dir.path + "/dense2.safetensors";
  ASSERT_FALSE(exportDenseWeights(*ck, fromCk));
  ASSERT_FALSE(
      exportDenseWeights(c, *store, sampleState().tokenizerJson, fromStore));
  auto a = SafetensorsFile::open(fromCk);
  auto b = SafetensorsFile::open(fromStore);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->metadata(), b->metadata());
  EXPECT_EQ(*a->metadataValue("circ.format"), "dense");
  EXPECT_EQ(a->tensors().size(), store->size());
  for (size_t i = 0; i < store->size(); ++i) {
    const ParamSpec &p = store->spec(i);
    std::vector<float> got(p.numel());
    ASSERT_FALSE(a->copyTo(p.name, DType::F32, p.shape, got.data()));
    EXPECT_EQ(
        std::memcmp(got.data(), store->values(i), got.size() * sizeof(float)),
        0);
    const std::string *density = a->metadataValue("circ.density." + p.name);
    EXPECT_EQ(density != nullptr, p.isSparse()) << p.name;
  }
  // wte [40, 16]: 640 entries, k % 3 == 0 zero -> 214 zeros.
  EXPECT_EQ(*a->metadataValue("circ.density.wte.weight"), "0.665625");
  auto refused = Checkpoint::open(fromCk);
  ASSERT_FALSE(refused);
}

/// A safetensors reader written from the format description in Python (the
/// language of the reference `safetensors.torch.load_file`), independent of
/// ours: it applies the reference checks and prints, per tensor, its name,
/// dtype, shape, number of zeros and the bytes of its second value.
const char *kPythonReader = R"PY(
import json, struct, sys
from array import array
data = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', data[:8])
assert n <= 100_000_000 and 8 + n <= len(data)
def no_dups(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), 'duplicate'
    return dict(pairs)
header = json.loads(data[8:8 + n].decode('utf-8'), object_pairs_hook=no_dups)
meta = header.pop('__metadata__', {})
assert all(isinstance(v, str) for v in meta.values())
buf = data[8 + n:]
end = 0
for name, t in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
    b, e = t['data_offsets']
    assert b == end, (name, b, end)
    count = 1
    for d in t['shape']:
        count *= d
    assert t['dtype'] == 'F32' and e - b == 4 * count
    values = array('f', buf[b:e])
    print(name, t['dtype'], 'x'.join(map(str, t['shape'])),
          sum(1 for v in values if v == 0.0), buf[b + 4:b + 8].hex())
    end = e
assert end == len(buf), 'tiling'
print('format', meta['circ.format'])
)PY";

// Tests that the dense export satisfies an independent reader of the format.
TEST(Checkpoint, DenseExportPassesIndependentReader) {
  TempDir dir;
  ModelConfig c = smallConfig();
  auto store = filledStore(c, 2.5f);
  std::string path = dir.path + "/dense.safetensors";
  ASSERT_FALSE(exportDenseWeights(c, *store, "", path));
  std::string script = dir.path + "/reader.py";
  FILE *f = fopen(script.c_str(), "w");
  fputs(kPythonReader, f);
  fclose(f);
  FILE *p =
      popen(("python3 '" + script + "' '" + path + "' 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p))
    out.append(buf, n);
  int status = pclose(p);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    GTEST_SKIP() << "no python3 on PATH";
  ASSERT_EQ(status, 0) << out;
  std::string expected;
  std::vector<size_t> order(store->size());
  for (size_t i = 0; i < store->size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return store->spec(a).name < store->spec(b).name; // all F32: by name
  });
  for (size_t i : order) {
    const ParamSpec &spec = store->spec(i);
    std::string shape;
    for (int64_t d : spec.shape)
      shape += (shape.empty() ? "" : "x") + std::to_string(d);
    int64_t zeros = 0;
    for (int64_t k = 0; k < store->numel(i); ++k)
      zeros += store->values(i)[k] == 0.0f;
    unsigned char bytes[4];
    std::memcpy(bytes, store->values(i) + 1, 4);
    char hex[9];
    std::snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", bytes[0], bytes[1],
                  bytes[2], bytes[3]);
    expected += spec.name + " F32 " + shape + " " + std::to_string(zeros) +
                " " + hex + "\n";
  }
  expected += "format dense\n";
  EXPECT_EQ(out, expected);
}

// Tests rolling checkpoints: only the newest `keep` remain, the newest
// loadable one is found, and a corrupt newest falls back to the previous.
TEST(Checkpoint, RollingDirectory) {
  TempDir dir;
  ModelConfig c = smallConfig();
  auto store = filledStore(c, 3.0f);
  CheckpointDir ckdir(dir.path + "/run/ckpts", 2);
  std::vector<std::string> warnings;
  EXPECT_FALSE(ckdir.latest(warnings));
  TrainingState s = sampleState();
  for (int64_t step : {10, 20, 30, 40}) {
    s.step = step;
    auto path = ckdir.save(c, *store, s);
    ASSERT_TRUE(path) << path.message();
    EXPECT_EQ(*path, ckdir.pathForStep(step));
  }
  auto all = ckdir.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 30);
  EXPECT_EQ(all[1].first, 40);
  struct stat st;
  EXPECT_EQ(stat((dir.path + "/run/ckpts/config.json").c_str(), &st), 0);
  EXPECT_EQ(stat((dir.path + "/run/ckpts/tokenizer.json").c_str(), &st), 0);

  auto latest = ckdir.latest(warnings);
  ASSERT_TRUE(latest) << latest.message();
  EXPECT_EQ(latest->state().step, 40);
  EXPECT_TRUE(warnings.empty());

  ASSERT_EQ(truncate(all[1].second.c_str(), 1000), 0);
  auto fallback = ckdir.latest(warnings);
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->state().step, 30);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("truncated"), std::string::npos) << warnings[0];

  // A failed write (the target name is taken by a directory) leaves no
  // temporary and keeps the others.
  s.step = 50;
  ASSERT_EQ(mkdir(ckdir.pathForStep(50).c_str(), 0755), 0);
  ASSERT_EQ(mkdir((ckdir.pathForStep(50) + "/x").c_str(), 0755), 0);
  EXPECT_FALSE(ckdir.save(c, *store, s));
  EXPECT_EQ(ckdir.list().size(), 3u); // 30, 40 and the directory named 50
  bool tmpLeft = false;
  for (int64_t step : {30, 40, 50})
    tmpLeft |=
        stat((ckdir.pathForStep(step) + ".tmp." + std::to_string(getpid()))
                 .c_str(),
             &st) == 0;
  EXPECT_FALSE(tmpLeft);
}

} // namespace
