//===- LossCurve.h - training curves from a metrics log ---------*- C++ -*-===//
//
// `circc report`'s library: reads the JSONL metrics log that `circc train`
// writes (one object per logged step) and renders the training and holdout
// loss and the weight density (L0 as a fraction of the sparse parameters)
// against the step as one self-contained SVG file.
//
// The SVG is written by hand: Debian has no plotting library that fits a C++
// tool (gnuplot and matplotlib are separate programs with their own runtime),
// and two line charts need only polylines, ticks and labels.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_REPORT_LOSSCURVE_H
#define CIRC_REPORT_LOSSCURVE_H

#include "circ_runtime/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace circ::report {

/// (step, value) in step order.
using Series = std::vector<std::pair<int64_t, double>>;

/// What a metrics log holds that the curves show.
struct TrainingCurves {
  Series trainLoss;          ///< "kind":"train" records' "loss"
  Series holdoutLoss;        ///< "kind":"eval" records' "holdout_loss"
  Series weightDensity;      ///< "kind":"train" records' "weight_density"
  Series embedDensity;       ///< "kind":"train" records' "embed_density"
  int64_t lastNonzeros = -1; ///< the last train record's "nonzeros", if any
};

/// Reads a metrics log. Each non-blank line must be a JSON object with a
/// string "kind" and an integer "step" >= 0; "train" records need a numeric
/// "loss", "eval" records a numeric "holdout_loss"; other kinds are skipped
/// (later versions may add some). A record whose step is not past the
/// previous one of its kind replaces the tail it overlaps: that is what a
/// log appended to by a resumed run means. On failure the message is a
/// complete diagnostic, `path:line: error: ...` (or `path: error: ...`).
rt::Expected<TrainingCurves> readMetricsLog(const std::string &path);

/// Layout of the rendered SVG (pixels), so tests can compute coordinates:
/// two panels side by side, loss on the left and density on the right.
/// Panel i's plot area spans x in [i·kPanelWidth + kPlotLeft,
/// i·kPanelWidth + kPlotLeft + kPlotWidth] and y in [kPlotTop, kPlotTop +
/// kPlotHeight]; values map linearly, the step axis from 0, the loss axis
/// over its data and the density axis from 0 to at least 1, each widened to
/// multiples of a 1/2/5 × 10^k tick spacing.
constexpr int kPanelWidth = 480, kSvgHeight = 360;
constexpr int kPlotLeft = 64, kPlotWidth = 400, kPlotTop = 40,
              kPlotHeight = 260;

/// The curves as a standalone SVG document; `title` is shown on top.
std::string renderTrainingCurvesSvg(const TrainingCurves &curves,
                                    const std::string &title);

} // namespace circ::report

#endif // CIRC_REPORT_LOSSCURVE_H
