//===- circ-build-model.cpp - build a circ model from flags -----*- C++ -*-===//
//
// Example client of the builder API: turns command-line flags into a
// ::circ::ModelConfig, calls mlir::circ::buildModel and prints the verified
// module. Bad settings are reported against the flag that set them:
//
//   $ circ-build-model --d-model=100
//   circ-build-model: error: --d-head: d_head (16) must divide d_model (100)
//
//===----------------------------------------------------------------------===//

#include "circ/Builder/ModelBuilder.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {
const ::circ::ModelConfig kDefaults;

cl::OptionCategory category("model");
cl::opt<int64_t> layers("layers", cl::desc("transformer blocks"),
                        cl::init(kDefaults.nLayer), cl::cat(category));
cl::opt<int64_t> dModel("d-model", cl::desc("residual stream width"),
                        cl::init(kDefaults.dModel), cl::cat(category));
cl::opt<int64_t> dHead("d-head", cl::desc("channels per attention head"),
                       cl::init(kDefaults.dHead), cl::cat(category));
cl::opt<int64_t> dMlp("d-mlp", cl::desc("MLP neurons"),
                      cl::init(kDefaults.dMlp), cl::cat(category));
cl::opt<int64_t> ctxLen("ctx", cl::desc("context length"),
                        cl::init(kDefaults.ctx), cl::cat(category));
cl::opt<int64_t> vocab("vocab", cl::desc("vocabulary size"),
                       cl::init(kDefaults.vocab), cl::cat(category));
cl::opt<double> activationFraction(
    "activation-fraction",
    cl::desc("AbsTopK keeps floor(fraction * width) entries (1 = off)"),
    cl::init(kDefaults.activationFraction), cl::cat(category));
cl::list<std::string>
    sites("abstopk-sites",
          cl::desc("node locations with AbsTopK, comma separated (default: "
                   "all eight; 'none' for none)"),
          cl::CommaSeparated, cl::cat(category));
cl::opt<double> weightDensity("weight-density",
                              cl::desc("final nonzero fraction of matrices"),
                              cl::init(kDefaults.weightDensity),
                              cl::cat(category));
cl::opt<double> embedDensity("embed-density",
                             cl::desc("final nonzero fraction of wte/lm_head"),
                             cl::init(kDefaults.embedDensity),
                             cl::cat(category));
cl::opt<int64_t> minPerUnit("min-per-unit",
                            cl::desc("nonzeros every neuron/channel keeps"),
                            cl::init(kDefaults.minPerUnit), cl::cat(category));
cl::opt<bool> sink("sink", cl::desc("per-head attention sink"),
                   cl::init(kDefaults.attentionSink), cl::cat(category));
cl::opt<bool> bigram("bigram", cl::desc("dense bigram logit table"),
                     cl::init(kDefaults.bigramTable), cl::cat(category));
cl::opt<bool> positional("positional", cl::desc("learned positional table"),
                         cl::init(kDefaults.positionalTable),
                         cl::cat(category));

cl::OptionCategory functions("functions");
cl::opt<int64_t> batch("batch", cl::desc("batch size (0 = dynamic)"),
                       cl::init(0), cl::cat(functions));
cl::opt<int64_t> seqLen("seq-len", cl::desc("sequence length (0 = ctx)"),
                        cl::init(0), cl::cat(functions));
cl::opt<bool> loss("loss", cl::desc("also emit @loss(tokens, targets, ...)"),
                   cl::cat(functions));
cl::opt<bool> taskLoss(
    "task-loss",
    cl::desc("also emit @task_loss(tokens, positions, correct, wrong, ...)"),
    cl::cat(functions));
cl::opt<bool> activations(
    "activations", cl::desc("also emit @activations(tokens, ...) returning "
                            "every node location's output"),
    cl::cat(functions));
cl::opt<bool> maskGates("mask-gates",
                        cl::desc("circ.mask_gate at every node location"),
                        cl::cat(functions));
cl::opt<std::string> funcName("func-name", cl::desc("model function name"),
                              cl::init("forward"), cl::cat(functions));
cl::opt<std::string> output("o", cl::desc("output file"), cl::init("-"),
                            cl::value_desc("file"));

/// The flag each diagnostic key of ModelBuildOptions::locationFor stands for.
StringRef flagFor(StringRef key) {
  return StringSwitch<StringRef>(key)
      .Case("layers", "--layers")
      .Case("d_model", "--d-model")
      .Case("d_head", "--d-head")
      .Case("d_mlp", "--d-mlp")
      .Case("ctx", "--ctx")
      .Case("vocab", "--vocab")
      .Case("activations", "--activation-fraction")
      .Case("weights", "--weight-density")
      .Case("min_per_unit", "--min-per-unit")
      .Case("embeddings", "--embed-density")
      .Case("batch", "--batch")
      .Case("seq_len", "--seq-len")
      .Case("function", "--func-name")
      .Default("");
}

void report(StringRef where, const Twine &message,
            StringRef severity = "error") {
  errs() << "circ-build-model: " << severity << ": ";
  if (!where.empty())
    errs() << where << ": ";
  errs() << message << "\n";
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "builds a weight-sparse GPT-2-style circ model");

  ::circ::ModelConfig config;
  config.nLayer = layers;
  config.dModel = dModel;
  config.dHead = dHead;
  config.dMlp = dMlp;
  config.ctx = ctxLen;
  config.vocab = vocab;
  config.activationFraction = activationFraction;
  config.weightDensity = weightDensity;
  config.embedDensity = embedDensity;
  config.minPerUnit = minPerUnit;
  config.attentionSink = sink;
  config.bigramTable = bigram;
  config.positionalTable = positional;
  if (sites.getNumOccurrences()) {
    config.abstopkSites = 0;
    for (const std::string &name : sites) {
      if (name == "none")
        continue;
      std::optional<::circ::NodeLocation> site =
          ::circ::parseNodeLocation(name);
      if (!site) {
        report("--abstopk-sites",
               "unknown node location '" + name +
                   "' (expected attn_in, attn_q, attn_k, attn_v, attn_out, "
                   "mlp_in, mlp_neuron, mlp_out or none)");
        return 1;
      }
      config.abstopkSites |= 1u << static_cast<unsigned>(*site);
    }
  }

  mlir::MLIRContext ctx;
  // Settings point at their flag; ops are named after their model part.
  mlir::circ::ModelBuildOptions options;
  options.funcName = funcName;
  options.batch = batch;
  options.seqLen = seqLen;
  options.withLoss = loss;
  options.withMaskGates = maskGates;
  options.withTaskLoss = taskLoss;
  options.withActivations = activations;
  options.locationFor = [&](StringRef key) -> mlir::Location {
    StringRef flag = flagFor(key);
    if (flag.empty())
      return mlir::UnknownLoc::get(&ctx);
    return mlir::NameLoc::get(mlir::StringAttr::get(&ctx, flag));
  };
  mlir::ScopedDiagnosticHandler handler(&ctx, [](mlir::Diagnostic &d) {
    StringRef where;
    if (auto name = llvm::dyn_cast<mlir::NameLoc>(d.getLocation()))
      where = name.getName().getValue();
    bool isError = d.getSeverity() == mlir::DiagnosticSeverity::Error;
    report(where, d.str(), isError ? "error" : "note");
    for (const mlir::Diagnostic &note : d.getNotes())
      report(where, note.str(), "note");
    return mlir::success();
  });

  auto module = mlir::circ::buildModel(ctx, config, options);
  if (mlir::failed(module))
    return 1;

  std::string error;
  std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(output, &error);
  if (!out) {
    report("-o", error);
    return 1;
  }
  (*module)->print(out->os());
  out->os() << "\n";
  out->keep();
  return 0;
}
