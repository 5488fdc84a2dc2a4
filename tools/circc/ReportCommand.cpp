//===- ReportCommand.cpp - circc report -------------------------*- C++ -*-===//
//
// `circc report <run dir | metrics.jsonl> [-o curve.svg]`: draws a training
// run's loss (train and holdout) and density curves as one SVG file.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ/Report/LossCurve.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace circ;
using namespace circ::driver;
using namespace llvm;

cl::SubCommand circ::driver::reportCommand(
    "report", "Draw a training run's loss and density curves as SVG");

static cl::opt<std::string> input(cl::Positional,
                                  cl::desc("<run dir | metrics.jsonl>"),
                                  cl::sub(reportCommand),
                                  cl::cat(circcCategory));
static cl::opt<std::string>
    outputPath("o",
               cl::desc("Output file ('-' = stdout; default: curve.svg "
                        "beside the metrics log)"),
               cl::value_desc("file"), cl::sub(reportCommand),
               cl::cat(circcCategory));

int circ::driver::runReport() {
  if (input.empty())
    return usageError("no run directory or metrics log; run 'circc report "
                      "--help'");
  std::string metrics = input;
  if (sys::fs::is_directory(metrics))
    metrics = (Twine(metrics) + "/metrics.jsonl").str();
  if (!sys::fs::exists(metrics))
    return usageError("cannot read '" + metrics + "': no such file");
  rt::Expected<report::TrainingCurves> curves = report::readMetricsLog(metrics);
  if (!curves) {
    errs() << curves.message() << "\n";
    return ExitInputErrors;
  }
  std::string output = outputPath;
  if (output.empty()) {
    SmallString<256> path(metrics);
    sys::path::remove_filename(path);
    sys::path::append(path, "curve.svg");
    output = std::string(path);
  }
  std::error_code ec;
  ToolOutputFile file(output, ec, sys::fs::OF_None);
  if (ec)
    return usageError("cannot write '" + output + "': " + ec.message());
  file.os() << report::renderTrainingCurvesSvg(*curves, metrics);
  file.keep();
  if (output != "-")
    outs() << "wrote " << output << " (" << curves->trainLoss.size()
           << " training and " << curves->holdoutLoss.size()
           << " holdout points)\n";
  return ExitSuccess;
}
