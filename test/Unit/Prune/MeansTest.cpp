//===- MeansTest.cpp - node means and their cache ---------------*- C++ -*-===//
//
// Means against a direct average of the reference model's node outputs, and
// the cache beside the checkpoint: reused when nothing changed, recomputed
// when the weights or the data change or the file is damaged.
//
//===----------------------------------------------------------------------===//

#include "HandBuiltModel.h"
#include "ReferenceTaskModel.h"

#include "circ/Prune/Means.h"
#include "circ_runtime/ParamStore.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace circ;
using namespace circ::prune;
using namespace circ::prune::testing;

namespace {

TEST(Means, WindowsSpreadEvenly) {
  EXPECT_EQ(windowStarts(100, 10, 4), (std::vector<int64_t>{0, 30, 60, 90}));
  EXPECT_EQ(windowStarts(12, 10, 5), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(windowStarts(10, 10, 3), (std::vector<int64_t>{0}));
  EXPECT_TRUE(windowStarts(9, 10, 3).empty());
}

std::vector<int32_t> stream(size_t n, int vocab, int salt) {
  std::vector<int32_t> s(n);
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<int32_t>((i * 7 + salt * (i / 5)) % vocab);
  return s;
}

TEST(Means, AverageEveryTokenOfEveryWindow) {
  ModelConfig c;
  c.nLayer = 1;
  c.dModel = 16;
  c.dHead = 8;
  c.dMlp = 32;
  c.ctx = 6;
  c.vocab = 11;
  reference::Params params = reference::randomParams(c, 5);
  ReferenceTaskModel model(c, params, 2, 6, /*actBatch=*/2, /*actSeqLen=*/6);
  NodeSpace space(c);
  std::vector<int32_t> tokens = stream(50, c.vocab, 1);
  std::vector<int64_t> starts = windowStarts(50, 6, 5); // a partial batch
  rt::Expected<std::vector<float>> means =
      computeNodeMeans(model, space, tokens, starts);
  ASSERT_TRUE(bool(means)) << means.message();
  // Oracle: one sequence at a time, summed in double.
  std::vector<double> sum(space.size(), 0.0);
  for (int64_t s : starts) {
    std::vector<int64_t> ids(tokens.begin() + s, tokens.begin() + s + 6);
    reference::ForwardResult f = reference::forward(c, params, ids, 1, 6);
    for (const GateSlice &g : space.gates()) {
      const reference::Tensor &t = f.nodes.at(reference::nodeName(g.layer, g.site));
      for (int64_t r = 0; r < 6; ++r)
        for (int64_t ch = 0; ch < g.width; ++ch)
          sum[g.offset + ch] += t[r * g.width + ch];
    }
  }
  for (int64_t i = 0; i < space.size(); ++i)
    EXPECT_NEAR((*means)[i], sum[i] / (starts.size() * 6), 1e-5) << i;
}

class MeansCache : public ::testing::Test {
protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("circ-means-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    ckpt = (dir / "model.safetensors").string();
    config = handBuiltConfig();
    params = handBuiltParams(config);
    save();
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  void save() {
    auto store = rt::ParamStore::create(config);
    ASSERT_TRUE(bool(store));
    for (size_t i = 0; i < (*store)->size(); ++i) {
      const reference::Tensor &t = params.at((*store)->spec(i).name);
      std::copy(t.begin(), t.end(), (*store)->values(i));
    }
    rt::TrainingState state;
    ASSERT_FALSE(rt::saveCheckpoint(ckpt, config, **store, state));
  }
  rt::Expected<CachedMeans> means(ReferenceTaskModel &model,
                                  const std::vector<int32_t> &tokens) {
    rt::Expected<rt::Checkpoint> c = rt::Checkpoint::open(ckpt);
    if (!c)
      return c.takeError();
    return checkpointMeans(*c, model, NodeSpace(config), tokens, 4);
  }

  std::filesystem::path dir;
  std::string ckpt;
  ModelConfig config;
  reference::Params params;
};

TEST_F(MeansCache, ReusedUntilWeightsOrDataChange) {
  ReferenceTaskModel model(config, params, 2, 8);
  std::vector<int32_t> tokens = stream(64, config.vocab, 2);
  rt::Expected<CachedMeans> first = means(model, tokens);
  ASSERT_TRUE(bool(first)) << first.message();
  EXPECT_FALSE(first->fromCache);
  EXPECT_EQ(first->cachePath, ckpt + ".means.safetensors");
  EXPECT_TRUE(std::filesystem::exists(first->cachePath));
  EXPECT_EQ(first->tokens, 4 * 8);
  int64_t calls = model.activationCalls;

  rt::Expected<CachedMeans> second = means(model, tokens);
  ASSERT_TRUE(bool(second));
  EXPECT_TRUE(second->fromCache);
  EXPECT_EQ(second->means, first->means);
  EXPECT_EQ(model.activationCalls, calls);

  // Other data: recomputed.
  rt::Expected<CachedMeans> other = means(model, stream(64, config.vocab, 3));
  ASSERT_TRUE(bool(other));
  EXPECT_FALSE(other->fromCache);
  EXPECT_GT(model.activationCalls, calls);

  // New weights under the same file name: recomputed, with the new means.
  params["wte.weight"][3 * 8 + 2] = 5.0;
  save();
  ReferenceTaskModel changed(config, params, 2, 8);
  rt::Expected<CachedMeans> third = means(changed, tokens);
  ASSERT_TRUE(bool(third));
  EXPECT_FALSE(third->fromCache);
  EXPECT_NE(third->means, first->means);
  rt::Expected<CachedMeans> fourth = means(changed, tokens);
  ASSERT_TRUE(bool(fourth));
  EXPECT_TRUE(fourth->fromCache);
}

TEST_F(MeansCache, DamagedCacheIsReplacedWithAWarning) {
  ReferenceTaskModel model(config, params, 2, 8);
  std::vector<int32_t> tokens = stream(64, config.vocab, 2);
  std::ofstream(ckpt + ".means.safetensors") << "not a safetensors file";
  rt::Expected<CachedMeans> m = means(model, tokens);
  ASSERT_TRUE(bool(m)) << m.message();
  EXPECT_FALSE(m->fromCache);
  ASSERT_EQ(m->warnings.size(), 1u);
  EXPECT_NE(m->warnings[0].find("unreadable means cache"), std::string::npos);
  rt::Expected<CachedMeans> again = means(model, tokens);
  ASSERT_TRUE(bool(again));
  EXPECT_TRUE(again->fromCache);
  EXPECT_TRUE(again->warnings.empty());
}

TEST_F(MeansCache, TooFewTokensIsAnError) {
  ReferenceTaskModel model(config, params, 2, 8);
  rt::Expected<CachedMeans> m = means(model, stream(5, config.vocab, 2));
  ASSERT_FALSE(bool(m));
  EXPECT_NE(m.message().find("shorter than one window of 8 tokens"),
            std::string::npos);
}

} // namespace
