//===- CircuitJson.cpp - circuit.json writer and reader --------*- C++ -*-===//
//
// The layout follows circuit-tracer's graph JSON (metadata / qParams / nodes
// / links with node_id, layer, feature, feature_type, clerp, influence), so
// its frontend and Neuronpedia can read the graph; Circ's extras live in
// extra node fields and a top-level "circ" object. docs/circuits.md is the
// schema. The reader accepts what the writer writes plus user edits (labels),
// and names the offending JSON path on bad input.
//
//===----------------------------------------------------------------------===//
#include "circ/Circuits/Circuit.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

namespace circ::circuits {

using Json = nlohmann::ordered_json;

namespace {

constexpr int kSchemaVersion = 1;

Json optionalNumber(const std::optional<double> &v) {
  return v && std::isfinite(*v) ? Json(*v) : Json(nullptr);
}

Json samplesJson(const std::vector<ActivationSample> &samples) {
  Json out = Json::array();
  for (const ActivationSample &s : samples)
    out.push_back(
        {{"label", s.label}, {"tokens", s.tokens}, {"values", s.values}});
  return out;
}

std::string layerField(const NodeId &id) {
  if (id.site == Site::Embed)
    return "E";
  return std::to_string(id.layer);
}

std::string tokenText(const Circuit &c, int64_t token) {
  auto it = c.tokenText.find(static_cast<int32_t>(token));
  return it == c.tokenText.end() ? "#" + std::to_string(token) : it->second;
}

Json nodeJson(const CircuitGraph &g, const NodeId &id, const NodeInfo *info) {
  const Circuit &c = g.circuit;
  std::string name = nodeName(id);
  Json n;
  n["node_id"] = name;
  n["jsNodeId"] = name;
  n["viz_name"] = vizName(id);
  n["layer"] = layerField(id);
  n["layer_index"] = id.layer;
  bool token = id.site == Site::Embed || id.site == Site::Logit;
  n["feature_type"] = id.site == Site::Embed   ? "embedding"
                      : id.site == Site::Logit ? "logit"
                                               : siteName(id.site);
  n["feature"] = id.index;
  int64_t head = headOf(c.config, id);
  n["head"] = head >= 0 ? Json(head) : Json(nullptr);
  // Channel nodes are not tied to a position; 0 keeps position-keyed
  // viewers working.
  n["ctx_idx"] = 0;
  n["clerp"] = info ? info->label : "";
  if (token) {
    n["token"] = tokenText(c, id.index);
    if (id.site == Site::Logit)
      n["is_target_logit"] = true;
    return n;
  }
  n["importance"] = optionalNumber(info->importance);
  n["influence"] = optionalNumber(info->importance);
  n["activation"] = optionalNumber(info->taskActivation);
  n["mean_activation"] = optionalNumber(info->meanActivation);
  n["task_samples"] = samplesJson(info->taskSamples);
  n["top_snippets"] = samplesJson(info->pretrainSnippets);
  return n;
}

} // namespace

std::string toJson(const CircuitGraph &g) {
  const Circuit &c = g.circuit;
  const ModelConfig &cfg = c.config;
  Json j;
  Json &meta = j["metadata"];
  meta["slug"] = c.model + "-" + c.task;
  meta["scan"] = c.model;
  meta["prompt_tokens"] = Json::array();
  meta["prompt"] = c.examples.empty() ? "" : c.examples[0].promptA;
  meta["generator"] = "circ";
  meta["schema_version"] = kSchemaVersion;
  meta["model"] = c.model;
  meta["task"] = c.task;
  meta["task_description"] = c.taskDescription;
  meta["target_loss"] = c.targetLoss;
  meta["ablation"] = c.ablation;
  meta["config"] = {{"n_layer", cfg.nLayer}, {"d_model", cfg.dModel},
                    {"d_head", cfg.dHead},   {"d_mlp", cfg.dMlp},
                    {"ctx", cfg.ctx},        {"vocab", cfg.vocab}};
  meta["input_tokens"] = c.inputTokens;
  meta["output_tokens"] = c.outputTokens;
  Json perLayer = Json::array();
  for (size_t l = 0; l < g.counts.layers.size(); ++l) {
    const LayerEdgeCounts &e = g.counts.layers[l];
    perLayer.push_back({{"layer", l},
                        {"q", e.q},
                        {"k", e.k},
                        {"v", e.v},
                        {"attn_proj", e.attnProj},
                        {"mlp_fc", e.mlpFc},
                        {"mlp_proj", e.mlpProj}});
  }
  meta["edge_counts"] = {{"total", g.counts.blockEdges()},
                         {"embed", g.counts.embed},
                         {"unembed", g.counts.unembed},
                         {"residual_links", g.counts.residualLinks},
                         {"per_layer", perLayer}};
  meta["node_count"] = c.nodes.size();
  meta["links_truncated"] = g.linksTruncated;

  j["qParams"] = {{"pinnedIds", Json::array()},
                  {"supernodes", Json::array()},
                  {"linkType", "both"},
                  {"clickedId", nullptr},
                  {"sg_pos", ""}};

  // Nodes: embedding tokens that have a link, the block nodes in
  // (layer, location, index) order, then every output token.
  std::vector<const NodeInfo *> sorted;
  for (const NodeInfo &n : c.nodes)
    sorted.push_back(&n);
  std::sort(sorted.begin(), sorted.end(),
            [](const NodeInfo *a, const NodeInfo *b) { return a->id < b->id; });
  std::set<int64_t> inputs,
      outputs(c.outputTokens.begin(), c.outputTokens.end());
  for (const Edge &e : g.links) {
    if (e.source.site == Site::Embed)
      inputs.insert(e.source.index);
    if (e.target.site == Site::Logit)
      outputs.insert(e.target.index);
  }
  Json &nodes = j["nodes"] = Json::array();
  for (int64_t t : inputs)
    nodes.push_back(nodeJson(g, NodeId{-1, Site::Embed, t}, nullptr));
  for (const NodeInfo *n : sorted)
    nodes.push_back(nodeJson(g, n->id, n));
  for (int64_t t : outputs)
    nodes.push_back(nodeJson(
        g, NodeId{static_cast<int32_t>(cfg.nLayer), Site::Logit, t}, nullptr));

  Json &links = j["links"] = Json::array();
  for (const Edge &e : g.links)
    links.push_back({{"source", nodeName(e.source)},
                     {"target", nodeName(e.target)},
                     {"weight", e.weight},
                     {"kind", edgeKindName(e.kind)}});

  Json &extra = j["circ"];
  extra["losses"] = Json::object();
  for (const auto &[k, v] : c.losses)
    extra["losses"][k] = std::isfinite(v) ? Json(v) : Json(nullptr);
  extra["loss_curve"] = Json::array();
  for (const CurvePoint &p : c.lossCurve)
    extra["loss_curve"].push_back(
        {{"kept_nodes", p.keptNodes}, {"loss", p.loss}});
  extra["audit"] = Json::array();
  for (const AuditRow &a : c.audit)
    extra["audit"].push_back(
        {{"check", a.check},
         {"description", a.description},
         {"value", std::isfinite(a.value) ? Json(a.value) : Json(nullptr)},
         {"reference", optionalNumber(a.reference)},
         {"verdict", a.verdict}});
  extra["examples"] = Json::array();
  for (const TaskExample &e : c.examples)
    extra["examples"].push_back({{"prompt_a", e.promptA},
                                 {"prompt_b", e.promptB},
                                 {"completion_a", e.completionA},
                                 {"completion_b", e.completionB}});
  extra["token_text"] = Json::object();
  for (const auto &[id, text] : c.tokenText)
    extra["token_text"][std::to_string(id)] = text;
  return j.dump(1) + "\n";
}

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

namespace {

/// Thrown inside the reader only; fromJson turns it into an Error.
struct BadField {
  std::string path, problem;
};

/// Typed access with the JSON path in every complaint.
class Field {
public:
  Field(const Json &j, std::string path) : j(j), path(std::move(path)) {}

  Field operator[](const char *key) const {
    if (!j.is_object())
      fail("expected an object");
    auto it = j.find(key);
    if (it == j.end())
      throw BadField{path + "." + key, "missing"};
    return Field(*it, path + "." + key);
  }
  Field at(size_t i) const {
    return Field(j[i], path + "[" + std::to_string(i) + "]");
  }
  bool has(const char *key) const { return j.is_object() && j.contains(key); }
  bool isNull() const { return j.is_null(); }
  size_t size() const {
    if (!j.is_array())
      fail("expected an array");
    return j.size();
  }
  const Json &object() const {
    if (!j.is_object())
      fail("expected an object");
    return j;
  }
  std::string str() const {
    if (!j.is_string())
      fail("expected a string");
    return j.get<std::string>();
  }
  int64_t integer() const {
    if (!j.is_number_integer())
      fail("expected an integer");
    return j.get<int64_t>();
  }
  double number() const {
    if (!j.is_number())
      fail("expected a number");
    return j.get<double>();
  }
  std::optional<double> optNumber() const {
    if (j.is_null())
      return std::nullopt;
    return number();
  }
  bool boolean() const {
    if (!j.is_boolean())
      fail("expected true or false");
    return j.get<bool>();
  }
  [[noreturn]] void fail(const std::string &problem) const {
    throw BadField{path, problem};
  }

private:
  const Json &j;
  std::string path;
};

std::vector<ActivationSample> readSamples(const Field &f) {
  std::vector<ActivationSample> out;
  for (size_t i = 0; i < f.size(); ++i) {
    Field s = f.at(i);
    ActivationSample a;
    a.label = s["label"].str();
    Field tokens = s["tokens"], values = s["values"];
    for (size_t k = 0; k < tokens.size(); ++k)
      a.tokens.push_back(tokens.at(k).str());
    for (size_t k = 0; k < values.size(); ++k)
      a.values.push_back(static_cast<float>(values.at(k).number()));
    if (a.tokens.size() != a.values.size())
      s.fail("has " + std::to_string(a.tokens.size()) + " tokens but " +
             std::to_string(a.values.size()) + " values");
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<int32_t> readTokens(const Field &f) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < f.size(); ++i)
    out.push_back(static_cast<int32_t>(f.at(i).integer()));
  return out;
}

CircuitGraph readGraph(const Json &root) {
  CircuitGraph g;
  Circuit &c = g.circuit;
  Field top(root, "$");
  Field meta = top["metadata"];
  int64_t version = meta["schema_version"].integer();
  if (version != kSchemaVersion)
    meta["schema_version"].fail("is " + std::to_string(version) +
                                "; this Circ reads version " +
                                std::to_string(kSchemaVersion));
  c.model = meta["model"].str();
  c.task = meta["task"].str();
  c.taskDescription = meta["task_description"].str();
  c.targetLoss = meta["target_loss"].number();
  c.ablation = meta["ablation"].str();
  Field cfg = meta["config"];
  c.config.nLayer = cfg["n_layer"].integer();
  c.config.dModel = cfg["d_model"].integer();
  c.config.dHead = cfg["d_head"].integer();
  c.config.dMlp = cfg["d_mlp"].integer();
  c.config.ctx = cfg["ctx"].integer();
  c.config.vocab = cfg["vocab"].integer();
  std::vector<std::string> problems = c.config.validate();
  if (!problems.empty())
    cfg.fail(problems[0]);
  // Bounds far above any model Circ trains, so a corrupt file cannot make
  // the renderers loop for ever.
  if (c.config.nLayer > 4096 || c.config.dModel > (1 << 20) ||
      c.config.dMlp > (1 << 22) || c.config.vocab > (1 << 24) ||
      c.config.ctx > (1 << 24))
    cfg.fail("has a dimension beyond Circ's limits (layers 4096, d_model "
             "2^20, d_mlp 2^22, vocab and ctx 2^24)");
  c.inputTokens = readTokens(meta["input_tokens"]);
  c.outputTokens = readTokens(meta["output_tokens"]);
  Field counts = meta["edge_counts"];
  g.counts.embed = counts["embed"].integer();
  g.counts.unembed = counts["unembed"].integer();
  g.counts.residualLinks = counts["residual_links"].integer();
  Field perLayer = counts["per_layer"];
  for (size_t l = 0; l < perLayer.size(); ++l) {
    Field e = perLayer.at(l);
    g.counts.layers.push_back({e["q"].integer(), e["k"].integer(),
                               e["v"].integer(), e["attn_proj"].integer(),
                               e["mlp_fc"].integer(), e["mlp_proj"].integer()});
  }
  if (g.counts.blockEdges() != counts["total"].integer())
    counts["total"].fail("is not the sum of per_layer");
  g.linksTruncated = meta["links_truncated"].boolean();

  Field nodes = top["nodes"];
  std::set<std::string> names;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Field n = nodes.at(i);
    std::string name = n["node_id"].str();
    auto id = parseNodeName(name, c.config.nLayer);
    if (!id)
      n["node_id"].fail("'" + name +
                        "' is not a node name such as "
                        "0.mlp_neuron.388");
    names.insert(name);
    // Token nodes are derived from the links and $.circ.token_text.
    if (id->site == Site::Embed || id->site == Site::Logit)
      continue;
    NodeInfo info;
    info.id = *id;
    info.label = n["clerp"].str();
    info.importance = n["importance"].optNumber();
    info.taskActivation = n["activation"].optNumber();
    info.meanActivation = n["mean_activation"].optNumber();
    info.taskSamples = readSamples(n["task_samples"]);
    info.pretrainSnippets = readSamples(n["top_snippets"]);
    c.nodes.push_back(std::move(info));
  }
  Field links = top["links"];
  for (size_t i = 0; i < links.size(); ++i) {
    Field l = links.at(i);
    Edge e;
    std::string kind = l["kind"].str();
    auto k = parseEdgeKindName(kind);
    if (!k)
      l["kind"].fail("unknown edge kind '" + kind + "'");
    e.kind = *k;
    for (auto [key, end] :
         {std::pair{"source", &e.source}, std::pair{"target", &e.target}}) {
      std::string name = l[key].str();
      auto id = parseNodeName(name, c.config.nLayer);
      if (!id || !names.count(name))
        l[key].fail("'" + name + "' is not a node of this graph");
      *end = *id;
    }
    e.weight = static_cast<float>(l["weight"].number());
    g.links.push_back(e);
  }

  Field extra = top["circ"];
  for (const auto &[k, v] : extra["losses"].object().items())
    c.losses[k] = Field(v, "$.circ.losses." + k).optNumber().value_or(NAN);
  Field curve = extra["loss_curve"];
  for (size_t i = 0; i < curve.size(); ++i)
    c.lossCurve.push_back(
        {curve.at(i)["kept_nodes"].integer(), curve.at(i)["loss"].number()});
  Field audit = extra["audit"];
  for (size_t i = 0; i < audit.size(); ++i) {
    Field a = audit.at(i);
    c.audit.push_back({a["check"].str(), a["description"].str(),
                       a["value"].optNumber().value_or(NAN),
                       a["reference"].optNumber(), a["verdict"].str()});
  }
  Field examples = extra["examples"];
  for (size_t i = 0; i < examples.size(); ++i) {
    Field e = examples.at(i);
    c.examples.push_back({e["prompt_a"].str(), e["prompt_b"].str(),
                          e["completion_a"].str(), e["completion_b"].str()});
  }
  for (const auto &[k, v] : extra["token_text"].object().items()) {
    Field t(v, "$.circ.token_text." + k);
    char *end = nullptr;
    long id = std::strtol(k.c_str(), &end, 10);
    if (k.empty() || *end != '\0' || id < 0 || id >= c.config.vocab)
      t.fail("key is not a token id of the vocabulary");
    c.tokenText[static_cast<int32_t>(id)] = t.str();
  }
  return g;
}

/// nlohmann's message without its "[json.exception.x.n] " prefix.
std::string reason(const Json::exception &e) {
  std::string why = e.what();
  if (size_t p = why.find("] "); p != std::string::npos)
    why = why.substr(p + 2);
  if (size_t p = why.find(": ");
      why.rfind("parse error", 0) == 0 && p != std::string::npos)
    why = why.substr(p + 2);
  return why;
}

} // namespace

rt::Expected<CircuitGraph> fromJson(std::string_view text,
                                    const std::string &name) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error &e) {
    // Report where, as line:col, and nlohmann's reason without its prefix.
    size_t at = std::min<size_t>(e.byte ? e.byte - 1 : 0, text.size());
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; ++i, ++col)
      if (text[i] == '\n') {
        ++line;
        col = 0;
      }
    return rt::Error::failure(name + ":" + std::to_string(line) + ":" +
                              std::to_string(col) +
                              ": invalid JSON: " + reason(e));
  } catch (const Json::exception &e) { // e.g. a number out of range
    return rt::Error::failure(name + ": invalid JSON: " + reason(e));
  }
  try {
    CircuitGraph g = readGraph(root);
    if (rt::Error e = validateCircuit(g.circuit))
      return rt::Error::failure(name + ": " + e.message());
    return g;
  } catch (const BadField &b) {
    return rt::Error::failure(name + ": " + b.path + ": " + b.problem);
  }
}

} // namespace circ::circuits
