//===- FilesTest.cpp - circuit.json, circuit.dot, report.html ---*- C++ -*-===//
//
// circuit.json: the circuit-tracer fields are present, write -> read ->
// write is byte-identical, and bad files get errors naming the JSON path.
// circuit.dot and report.html: checked against the graph they render.
// (report.html is also loaded in headless Chromium by test/Viewer.)
//
//===----------------------------------------------------------------------===//
#include "CircuitFixtures.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace circ;
using namespace circ::circuits;
using circ::test::TinyModel;
using Json = nlohmann::json;

namespace {

CircuitGraph tinyGraph(size_t maxLinks = 20000) {
  TinyModel m;
  auto g = buildCircuitGraph(m.circuit, m.weights(), maxLinks);
  EXPECT_TRUE(bool(g)) << g.message();
  return g ? *g : CircuitGraph{};
}

// Tests the fields viewers of the circuit-tracer format read, and Circ's.
TEST(CircuitJson, HasTheGraphFields) {
  CircuitGraph g = tinyGraph();
  Json j = Json::parse(toJson(g));
  const Json &meta = j["metadata"];
  EXPECT_EQ(meta["slug"], "tinymodel-tiny");
  EXPECT_EQ(meta["scan"], "tinymodel");
  EXPECT_EQ(meta["schema_version"], 1);
  EXPECT_EQ(meta["edge_counts"]["total"], 11);
  EXPECT_EQ(meta["edge_counts"]["embed"], 3);
  EXPECT_EQ(meta["edge_counts"]["per_layer"][0]["mlp_fc"], 4);
  EXPECT_EQ(meta["node_count"], 12);
  EXPECT_TRUE(j["qParams"]["pinnedIds"].is_array());
  // 2 embedding tokens with links, 12 block nodes, 2 logits.
  ASSERT_EQ(j["nodes"].size(), 16u);
  const Json &first = j["nodes"][0];
  EXPECT_EQ(first["node_id"], "E.embed.1");
  EXPECT_EQ(first["layer"], "E");
  EXPECT_EQ(first["feature_type"], "embedding");
  EXPECT_EQ(first["token"], "x");
  Json v;
  for (const Json &n : j["nodes"])
    if (n["node_id"] == "0.attn_v.2")
      v = n;
  ASSERT_FALSE(v.is_null());
  EXPECT_EQ(v["viz_name"], "0.attn.v.2");
  EXPECT_EQ(v["layer"], "0");
  EXPECT_EQ(v["feature"], 2);
  EXPECT_EQ(v["feature_type"], "attn_v");
  EXPECT_EQ(v["head"], 1);
  EXPECT_EQ(v["influence"], 0.75);
  EXPECT_EQ(v["clerp"], "quote-type value </script>");
  EXPECT_EQ(v["task_samples"][1]["values"][2], -2.0);
  EXPECT_EQ(j["nodes"].back()["node_id"], "U.logit.3");
  EXPECT_EQ(j["nodes"].back()["is_target_logit"], true);
  ASSERT_EQ(j["links"].size(), 19u);
  for (const Json &l : j["links"]) {
    EXPECT_TRUE(l["source"].is_string());
    EXPECT_TRUE(l["weight"].is_number());
  }
  EXPECT_EQ(j["circ"]["loss_curve"][2]["kept_nodes"], 13);
  EXPECT_EQ(j["circ"]["audit"][2]["reference"], nullptr);
}

// Tests write -> read -> write byte identity and the read values.
TEST(CircuitJson, RoundTrip) {
  CircuitGraph g = tinyGraph();
  std::string text = toJson(g);
  auto back = fromJson(text, "c.json");
  ASSERT_TRUE(bool(back)) << back.message();
  EXPECT_EQ(toJson(*back), text);
  EXPECT_EQ(back->counts.blockEdges(), 11);
  EXPECT_EQ(back->counts.unembed, 3);
  EXPECT_EQ(back->circuit.nodes.size(), 12u);
  EXPECT_EQ(back->links.size(), g.links.size());
  EXPECT_EQ(back->circuit.tokenText.at(4), " </script>");
  EXPECT_EQ(back->circuit.config.dMlp, 4);
  const NodeInfo &v = back->circuit.nodes[4];
  EXPECT_EQ(nodeName(v.id), "0.attn_v.2");
  EXPECT_EQ(*v.meanActivation, -0.125);
  EXPECT_EQ(v.pretrainSnippets[0].tokens[3], "')\n");
  EXPECT_FALSE(back->circuit.nodes[0].importance.has_value());
}

// Tests that bad files are rejected with the place of the problem.
TEST(CircuitJson, Errors) {
  std::string good = toJson(tinyGraph());
  auto expectError = [](const std::string &text, const std::string &want) {
    auto r = fromJson(text, "c.json");
    ASSERT_FALSE(bool(r));
    EXPECT_EQ(r.message(), want);
  };
  expectError("{\n  \"metadata\": [1,\n}",
              "c.json:3:1: invalid JSON: syntax error while parsing value - "
              "unexpected '}'; expected '[', '{', or a literal");
  expectError("[1e999]", "c.json: invalid JSON: number overflow parsing "
                         "'1e999'");
  Json j = Json::parse(good);
  j["metadata"].erase("task");
  expectError(j.dump(), "c.json: $.metadata.task: missing");
  j = Json::parse(good);
  j["metadata"]["schema_version"] = 7;
  expectError(j.dump(), "c.json: $.metadata.schema_version: is 7; this Circ "
                        "reads version 1");
  j = Json::parse(good);
  j["nodes"][3]["node_id"] = "bogus";
  expectError(j.dump(), "c.json: $.nodes[3].node_id: 'bogus' is not a node "
                        "name such as 0.mlp_neuron.388");
  j = Json::parse(good);
  j["metadata"]["config"]["d_mlp"] = 2;
  expectError(j.dump(), "c.json: circuit 'tiny': node 0.mlp_neuron.2: index "
                        "out of range (mlp_neuron has 2)");
  j = Json::parse(good);
  j["links"][0]["target"] = "0.mlp_out.0";
  expectError(j.dump(), "c.json: $.links[0].target: '0.mlp_out.0' is not a "
                        "node of this graph");
  j = Json::parse(good);
  j["nodes"][5]["task_samples"] = Json::object();
  expectError(j.dump(), "c.json: $.nodes[5].task_samples: expected an array");
  j = Json::parse(good);
  j["circ"]["token_text"]["5"] = "five";
  expectError(j.dump(), "c.json: $.circ.token_text.5: key is not a token id "
                        "of the vocabulary");
  j = Json::parse(good);
  j["metadata"]["config"]["n_layer"] = 100000;
  expectError(j.dump(), "c.json: $.metadata.config: has a dimension beyond "
                        "Circ's limits (layers 4096, d_model 2^20, d_mlp "
                        "2^22, vocab and ctx 2^24)");
  j = Json::parse(good);
  j["metadata"]["edge_counts"]["total"] = 12;
  expectError(j.dump(), "c.json: $.metadata.edge_counts.total: is not the "
                        "sum of per_layer");
}

// Tests truncation: the strongest weights are kept, residual links go first.
TEST(CircuitGraph, TruncatesToTheStrongestLinks) {
  CircuitGraph g = tinyGraph(3);
  EXPECT_TRUE(g.linksTruncated);
  ASSERT_EQ(g.links.size(), 3u);
  for (const Edge &e : g.links) {
    EXPECT_NE(e.kind, EdgeKind::Residual);
    EXPECT_GE(std::fabs(e.weight), 1.0f); // |w| 2, 2 and then a 1
  }
  EXPECT_EQ(g.counts.blockEdges(), 11); // counts stay exact
  EXPECT_FALSE(tinyGraph().linksTruncated);
}

// Tests the DOT text: every link once, colours by sign, clusters per layer.
TEST(CircuitDot, RendersEveryLink) {
  CircuitGraph g = tinyGraph();
  std::string dot = toDot(g);
  size_t arrows = 0;
  for (size_t p = dot.find(" -> "); p != std::string::npos;
       p = dot.find(" -> ", p + 1))
    ++arrows;
  EXPECT_EQ(arrows, g.links.size());
  EXPECT_NE(dot.find("\"0.mlp_in.3\" -> \"0.mlp_neuron.0\" [color=\"#1f77b4\", "
                     "penwidth=3.00, tooltip=\"mlp_fc -2.0000\"];"),
            std::string::npos)
      << dot;
  EXPECT_NE(dot.find("\"0.attn_out.1\" -> \"0.mlp_in.1\" [style=dashed"),
            std::string::npos);
  EXPECT_NE(dot.find("subgraph cluster_layer0"), std::string::npos);
  EXPECT_NE(dot.find("\"E.embed.4\" [shape=box, fillcolor=\"#eeeeee\", "
                     "label=\" </script>\"];"),
            std::string::npos);
  EXPECT_EQ(dot.rfind("}\n"), dot.size() - 2);
}

std::string between(const std::string &s, const std::string &a,
                    const std::string &b) {
  size_t i = s.find(a);
  if (i == std::string::npos)
    return "";
  i += a.size();
  return s.substr(i, s.find(b, i) - i);
}

// Tests that report.html is self-contained and carries the exact JSON.
TEST(ReportHtml, SelfContainedWithInlinedJson) {
  CircuitGraph g = tinyGraph();
  std::string html = toHtml(g);
  EXPECT_EQ(html.find("@CIRC_"), std::string::npos);
  // The only "</script>" tags are the two real ones.
  size_t closes = 0;
  for (size_t p = html.find("</script>"); p != std::string::npos;
       p = html.find("</script>", p + 1))
    ++closes;
  EXPECT_EQ(closes, 2u);
  // No external resource of any kind.
  for (const char *bad : {"src=", "href=\"http", "@import", "url(", "fetch("})
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  std::string data = between(
      html, "<script type=\"application/json\" id=\"circuit\">", "</script>");
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(Json::parse(data), Json::parse(toJson(g)));
  EXPECT_NE(html.find("<title>tiny circuit - tinymodel</title>"),
            std::string::npos);
  EXPECT_NE(html.find("function drawGraph()"), std::string::npos);
  EXPECT_NE(html.find("#graph-panel"), std::string::npos);
}

// Tests writing the three files, and the error for a missing directory.
TEST(CircuitFiles, WritesAllThree) {
  char dir[] = "/tmp/circ-circuit-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  CircuitGraph g = tinyGraph();
  ASSERT_FALSE(writeCircuitFiles(g, dir));
  for (auto [name, want] :
       {std::pair<const char *, std::string>{"circuit.json", toJson(g)},
        {"circuit.dot", toDot(g)},
        {"report.html", toHtml(g)}}) {
    std::string path = std::string(dir) + "/" + name;
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str(), want) << name;
    std::remove(path.c_str());
  }
  rmdir(dir);
  rt::Error e = writeCircuitFiles(g, std::string(dir) + "/missing");
  ASSERT_TRUE(bool(e));
  EXPECT_NE(e.message().find("No such file or directory"), std::string::npos)
      << e.message();
}

} // namespace
