//===- FrontendTest.cpp - unit tests of the .circ front end -----*- C++ -*-===//
//
// The pieces with arithmetic in them, each against an independent oracle:
// number literals against their decimal meaning, canonical number printing
// against re-parsing, source positions against hand-counted offsets,
// suggestions against hand-picked candidates, and the checked ModelConfig
// against ModelConfig::validate() and the values written.
//
//===----------------------------------------------------------------------===//

#include "Values.h"
#include "circ/Frontend/Check.h"
#include "circ/Frontend/Verify.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace circ::frontend;

namespace {

/// The value of `literal` as the model block's `weights` density reads it,
/// through the whole parser and checker.
double densityOf(const std::string &literal) {
  SourceFile source("t.circ", "model { weights = sparse(density: " + literal +
                                  ", min_per_neuron: 0) }");
  DiagnosticEngine diags;
  std::optional<RunSpec> spec = parseAndCheck(source, diags);
  EXPECT_TRUE(spec.has_value()) << literal;
  return spec ? spec->model.config.weightDensity : -1;
}

/// The value of `literal` as a count (train steps).
int64_t stepsOf(const std::string &literal) {
  SourceFile source("t.circ",
                    "data { }\nmodel { }\ntrain { steps = " + literal + " }");
  DiagnosticEngine diags;
  std::optional<RunSpec> spec = parseAndCheck(source, diags);
  EXPECT_TRUE(spec.has_value()) << literal;
  return spec ? spec->train->steps.value : -1;
}

TEST(FrontendNumbers, LiteralsMeanWhatTheySay) {
  EXPECT_EQ(stepsOf("40k"), 40000);
  EXPECT_EQ(stepsOf("1.5k"), 1500);
  EXPECT_EQ(stepsOf("2M"), 2000000);
  EXPECT_EQ(stepsOf("3G"), 3000000000);
  EXPECT_EQ(stepsOf("1_000_000"), 1000000);
  EXPECT_EQ(stepsOf("1e3"), 1000);
  EXPECT_EQ(stepsOf("2 * (3 + 4) - 10 / 5"), 12);
  EXPECT_EQ(densityOf("1/1000"), 1.0 / 1000);
  EXPECT_EQ(densityOf("50%"), 0.5);
  EXPECT_EQ(densityOf("12.5%"), 0.125);
  EXPECT_EQ(densityOf("1.5e-3"), 1.5e-3);
  EXPECT_EQ(densityOf("--0.25"), 0.25);
}

TEST(FrontendNumbers, CanonicalFormsReadBackExactly) {
  // Every printed form must parse back to the same double, whatever its
  // spelling (1/N, %, exponent): the spec printer relies on it.
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> values = {1.0,  0.5,     0.25,   1.0 / 3, 0.1,
                                0.01, 1e-3,    1e-4,   1e-5,    0.0128,
                                0.95, 2.0 / 3, 1e-300, 0.999999};
  for (int i = 0; i < 200; ++i)
    values.push_back(unit(rng));
  for (int i = 0; i < 50; ++i)
    values.push_back(std::pow(10.0, -10 * unit(rng)));
  for (double v : values) {
    if (v <= 0 || v > 1)
      continue;
    EXPECT_EQ(densityOf(formatNumber(v)), v) << formatNumber(v);
    EXPECT_EQ(densityOf(formatFraction(v)), v) << formatFraction(v);
    EXPECT_EQ(densityOf(formatPercent(v)), v) << formatPercent(v);
  }
  EXPECT_EQ(formatFraction(1.0 / 1000), "1/1000");
  EXPECT_EQ(formatFraction(0.25), "1/4");
  EXPECT_EQ(formatFraction(0.3), "0.3");
  EXPECT_EQ(formatPercent(0.01), "1%");
  EXPECT_EQ(formatPercent(0.125), "12.5%");
  EXPECT_EQ(formatNumber(40000), "40000");
  EXPECT_EQ(formatNumber(-2.5), "-2.5");
}

TEST(FrontendSource, LineAndColumnOfEveryLineEnding) {
  // Lines end with \n, \r\n or a lone \r; columns count bytes.
  SourceFile f("x", "ab\ncd\r\nef\rgh\n\xc3\xa9x");
  EXPECT_EQ(f.numLines(), 5u);
  EXPECT_EQ(f.lineCol(0).line, 1u);
  EXPECT_EQ(f.lineCol(1).col, 2u);
  EXPECT_EQ(f.lineCol(3).line, 2u);  // 'c'
  EXPECT_EQ(f.lineCol(7).line, 3u);  // 'e'
  EXPECT_EQ(f.lineCol(10).line, 4u); // 'g'
  EXPECT_EQ(f.lineCol(15).col, 3u);  // 'x' after a two-byte character
  EXPECT_EQ(f.lineText(2), "cd");
  EXPECT_EQ(f.lineText(3), "ef");
  EXPECT_EQ(f.lineText(5), "\xc3\xa9x");
}

TEST(FrontendSource, SplitKeepsLineNumbers) {
  SourceFile f("x", "a\nb\n// -----\nc\n  // -----  \nd");
  std::vector<SourceFile> parts = splitInputFile(f);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].lineText(4), "c");
  EXPECT_EQ(parts[2].lineText(6), "d");
  EXPECT_EQ(parts[0].lineText(2), "b");
}

TEST(FrontendSuggestions, ClosestMatch) {
  std::vector<std::string_view> keys = {"layers", "d_model", "d_head",
                                        "d_mlp",  "ctx",     "vocab"};
  EXPECT_EQ(closestMatch("layres", keys),
            std::optional<std::string_view>("layers")); // transposition
  EXPECT_EQ(closestMatch("D_MODEL", keys),
            std::optional<std::string_view>("d_model")); // case
  EXPECT_EQ(closestMatch("dmodel", keys),
            std::optional<std::string_view>("d_model")); // deletion
  EXPECT_EQ(closestMatch("colour", keys), std::nullopt);
  EXPECT_EQ(closestMatch("x", {"y"}), std::nullopt); // nothing in common
}

TEST(FrontendCheck, ModelConfigFromTheFile) {
  SourceFile source("m.circ", R"(
data { tokenizer = bpe(vocab: 4096) }
model gpt {
  layers = 3; d_model = 96; heads = 4
  activations = abstopk(keep: 1/8, at: [attn_q, mlp_out])
  weights = sparse(density: 1/16, min_per_neuron: 2)
  sink = true; bigram = false; positional = true
}
)");
  DiagnosticEngine diags;
  std::optional<RunSpec> spec = parseAndCheck(source, diags);
  ASSERT_TRUE(spec.has_value());
  const circ::ModelConfig &c = spec->model.config;
  EXPECT_TRUE(c.validate().empty());
  EXPECT_EQ(spec->model.name, "gpt");
  EXPECT_EQ(c.nLayer, 3);
  EXPECT_EQ(c.dModel, 96);
  EXPECT_EQ(c.dHead, 24); // d_model / heads
  EXPECT_EQ(c.nHead(), 4);
  EXPECT_EQ(c.dMlp, 384); // 4 × d_model
  EXPECT_EQ(c.ctx, 256);
  EXPECT_EQ(c.vocab, 4096); // from the tokenizer
  EXPECT_EQ(c.activationFraction, 0.125);
  EXPECT_EQ(c.abstopkSites, (1u << unsigned(circ::NodeLocation::AttnQ)) |
                                (1u << unsigned(circ::NodeLocation::MlpOut)));
  EXPECT_EQ(c.weightDensity, 1.0 / 16);
  EXPECT_EQ(c.embedDensity, 1.0 / 16);
  EXPECT_EQ(c.minPerUnit, 2);
  EXPECT_TRUE(c.attentionSink);
  EXPECT_FALSE(c.bigramTable);
  EXPECT_TRUE(c.positionalTable);

  // Origins: written keys point at their values, others at the block.
  Origin layers = spec->model.originOf("layers");
  EXPECT_TRUE(layers.written());
  EXPECT_EQ(source.slice(layers.range), "3");
  EXPECT_EQ(source.slice(spec->model.originOf("weights").range), "1/16");
  Origin ctx = spec->model.originOf("ctx");
  EXPECT_FALSE(ctx.written());
  EXPECT_EQ(source.lineCol(ctx.range.begin).line, 3u);
}

TEST(FrontendCheck, TrainScheduleInProgress) {
  // every(10%) of 250 steps is 25; tokens become steps by ceil division.
  SourceFile source("t.circ", R"(
data { }
model { ctx = 100 }
train { tokens = 100k; batch = 4; log = every(10%, to: "m.jsonl") }
)");
  DiagnosticEngine diags;
  std::optional<RunSpec> spec = parseAndCheck(source, diags);
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->train->steps.value, 250);
  EXPECT_EQ(spec->train->logEvery.value, 25);
  EXPECT_EQ(spec->train->finalCheckpointPath(), "runs/t/step-250.safetensors");
}

} // namespace
