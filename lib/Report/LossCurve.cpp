//===- LossCurve.cpp - training curves from a metrics log -------*- C++ -*-===//
//
// Plain C++ (no MLIR): nlohmann::json's exceptions are caught here and never
// leave the library.
//
//===----------------------------------------------------------------------===//
#include "circ/Report/LossCurve.h"
#include "circ_runtime/Markup.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

using namespace circ;
using namespace circ::report;
using Json = nlohmann::json;

namespace {

/// Appends (step, value), first dropping the points a resumed run redid.
void append(Series &series, int64_t step, double value) {
  while (!series.empty() && series.back().first >= step)
    series.pop_back();
  series.emplace_back(step, value);
}

/// The message of a JSON parse error without the library's prefix.
std::string parseProblem(const Json::parse_error &e) {
  std::string what = e.what();
  size_t column = what.find("column ");
  size_t colon = what.find(": ", column == std::string::npos ? 0 : column);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

} // namespace

rt::Expected<TrainingCurves>
circ::report::readMetricsLog(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return rt::Error::failure(path + ": error: cannot read the metrics log");
  TrainingCurves curves;
  std::string line;
  for (int64_t lineNo = 1; std::getline(in, line); ++lineNo) {
    auto fail = [&](const std::string &problem) {
      return rt::Error::failure(path + ":" + std::to_string(lineNo) +
                                ": error: " + problem);
    };
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    Json record;
    try {
      record = Json::parse(line);
    } catch (const Json::parse_error &e) {
      return rt::Error::failure(path + ":" + std::to_string(lineNo) + ":" +
                                std::to_string(e.byte) +
                                ": error: invalid JSON: " + parseProblem(e));
    }
    if (!record.is_object())
      return fail("expected a JSON object per line");
    auto kind = record.find("kind");
    if (kind == record.end() || !kind->is_string())
      return fail("the record has no string \"kind\"");
    auto step = record.find("step");
    if (step == record.end() || !step->is_number_integer() ||
        step->get<int64_t>() < 0)
      return fail("the record has no non-negative integer \"step\"");
    auto number = [&](const char *key, bool required,
                      std::optional<double> &value) -> rt::Error {
      auto it = record.find(key);
      if (it == record.end()) {
        if (required)
          return fail("\"" + kind->get<std::string>() +
                      "\" records need a numeric \"" + key + "\"");
        return rt::Error::success();
      }
      if (!it->is_number())
        return fail(std::string("\"") + key + "\" is not a number");
      value = it->get<double>();
      return rt::Error::success();
    };
    const int64_t s = step->get<int64_t>();
    std::optional<double> v;
    if (*kind == "train") {
      if (rt::Error e = number("loss", true, v))
        return e;
      append(curves.trainLoss, s, *v);
      for (auto [key, series] :
           {std::pair{"weight_density", &curves.weightDensity},
            std::pair{"embed_density", &curves.embedDensity}}) {
        std::optional<double> d;
        if (rt::Error e = number(key, false, d))
          return e;
        if (d)
          append(*series, s, *d);
      }
      std::optional<double> nonzeros;
      if (rt::Error e = number("nonzeros", false, nonzeros))
        return e;
      curves.lastNonzeros = nonzeros ? static_cast<int64_t>(*nonzeros) : -1;
    } else if (*kind == "eval") {
      if (rt::Error e = number("holdout_loss", true, v))
        return e;
      append(curves.holdoutLoss, s, *v);
    }
  }
  if (in.bad())
    return rt::Error::failure(path + ": error: read failed");
  if (curves.trainLoss.empty())
    return rt::Error::failure(path + ": error: no \"train\" records to plot");
  return curves;
}

namespace {

/// An axis range widened to multiples of a 1/2/5 × 10^k spacing giving
/// about five intervals; an integral axis (steps) has integral ticks.
struct Axis {
  double lo, hi, spacing;
  bool integral;

  Axis(double min, double max, bool integral = false) : integral(integral) {
    double raw = (max - min) / 5;
    if (!(raw > 0))
      raw = min != 0 ? std::fabs(min) / 10 : 0.1;
    if (integral)
      raw = std::max(raw, 1.0);
    double unit = std::pow(10.0, std::floor(std::log10(raw)));
    spacing = unit * 10;
    for (double m : {1.0, 2.0, 5.0})
      if (raw <= m * unit) {
        spacing = m * unit;
        break;
      }
    lo = std::floor(min / spacing) * spacing;
    hi = std::ceil(max / spacing) * spacing;
    if (hi <= lo)
      hi = lo + spacing;
  }
  /// 0..1 position of `v` along the axis.
  double at(double v) const { return (v - lo) / (hi - lo); }
  /// A tick's label: steps as 2.5k or 1M once they are that large.
  std::string label(double v) const {
    char buf[32];
    if (integral && std::fabs(v) >= 1e6)
      std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
    else if (integral && std::fabs(v) >= 1e3)
      std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
    else
      std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    for (int64_t i = 0; lo + i * spacing <= hi + spacing / 2; ++i)
      t.push_back(lo + i * spacing);
    return t;
  }
};

std::string format(const char *fmt, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, a);
  return buf;
}

struct Line {
  const char *cssClass, *label, *color;
  const Series *series;
};

/// One chart: frame, grid, tick labels, axis titles, lines and a legend
/// naming each line's last value.
void renderPanel(std::ostringstream &svg, int index, const Axis &x,
                 const Axis &y, const char *yTitle,
                 const std::vector<Line> &lines, const std::string &note) {
  const double left = index * kPanelWidth + kPlotLeft, top = kPlotTop;
  const double right = left + kPlotWidth, bottom = top + kPlotHeight;
  auto px = [&](double v) { return left + x.at(v) * kPlotWidth; };
  auto py = [&](double v) { return bottom - y.at(v) * kPlotHeight; };
  svg << "<g class=\"panel\">\n";
  for (double t : x.ticks())
    svg << format("<line class=\"grid\" x1=\"%.1f\"", px(t))
        << format(" y1=\"%.1f\"", top) << format(" x2=\"%.1f\"", px(t))
        << format(" y2=\"%.1f\"/>", bottom)
        << format("<text class=\"tick\" x=\"%.1f\"", px(t))
        << format(" y=\"%.1f\" text-anchor=\"middle\">", bottom + 16)
        << x.label(t) << "</text>\n";
  for (double t : y.ticks())
    svg << format("<line class=\"grid\" x1=\"%.1f\"", left)
        << format(" y1=\"%.1f\"", py(t)) << format(" x2=\"%.1f\"", right)
        << format(" y2=\"%.1f\"/>", py(t))
        << format("<text class=\"tick\" x=\"%.1f\"", left - 6)
        << format(" y=\"%.1f\" text-anchor=\"end\">", py(t) + 4) << y.label(t)
        << "</text>\n";
  svg << format("<rect class=\"frame\" x=\"%.1f\"", left)
      << format(" y=\"%.1f\"", top) << " width=\"" << kPlotWidth
      << "\" height=\"" << kPlotHeight << "\"/>\n"
      << format("<text class=\"axis-label\" x=\"%.1f\"", (left + right) / 2)
      << format(" y=\"%.1f\" text-anchor=\"middle\">step</text>\n", bottom + 34)
      << format("<text class=\"axis-label\" transform=\"translate(%.1f,",
                left - 46)
      << format("%.1f) rotate(-90)\" text-anchor=\"middle\">",
                (top + bottom) / 2)
      << yTitle << "</text>\n";
  double legendY = top + 16;
  for (const Line &l : lines) {
    if (l.series->empty())
      continue;
    svg << "<polyline class=\"" << l.cssClass << "\" stroke=\"" << l.color
        << "\" points=\"";
    for (size_t i = 0; i < l.series->size(); ++i)
      svg << (i ? " " : "") << format("%.1f", px((*l.series)[i].first)) << ","
          << format("%.1f", py((*l.series)[i].second));
    svg << "\"/>\n"
        << format("<text class=\"legend\" x=\"%.1f\"", right - 8)
        << format(" y=\"%.1f\" text-anchor=\"end\" fill=\"", legendY) << l.color
        << "\">" << l.label << " " << format("%.4g", l.series->back().second)
        << "</text>\n";
    legendY += 16;
  }
  if (!note.empty())
    svg << format("<text class=\"legend\" x=\"%.1f\"", right - 8)
        << format(" y=\"%.1f\" text-anchor=\"end\">", legendY) << note
        << "</text>\n";
  svg << "</g>\n";
}

/// Smallest and largest value over several series.
std::pair<double, double>
valueRange(std::initializer_list<const Series *> all) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series *s : all)
    for (const auto &[step, v] : *s)
      lo = std::min(lo, v), hi = std::max(hi, v);
  return {lo, hi};
}

} // namespace

std::string circ::report::renderTrainingCurvesSvg(const TrainingCurves &curves,
                                                  const std::string &title) {
  int64_t lastStep = 1;
  for (const Series *s : {&curves.trainLoss, &curves.holdoutLoss,
                          &curves.weightDensity, &curves.embedDensity})
    if (!s->empty())
      lastStep = std::max(lastStep, s->back().first);
  Axis steps(0, static_cast<double>(lastStep), /*integral=*/true);
  auto [lossLo, lossHi] = valueRange({&curves.trainLoss, &curves.holdoutLoss});
  double densityHi =
      valueRange({&curves.weightDensity, &curves.embedDensity}).second;
  Axis loss(lossLo, lossHi);
  Axis density(0, std::isfinite(densityHi) ? std::max(1.0, densityHi) : 1.0);

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << 2 * kPanelWidth
      << "\" height=\"" << kSvgHeight << "\" viewBox=\"0 0 " << 2 * kPanelWidth
      << " " << kSvgHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<title>" << rt::escapeMarkup(title) << "</title>\n"
      << "<style>.grid{stroke:#e4e4e4}.frame{fill:none;stroke:#444}"
         "polyline{fill:none;stroke-width:1.5}.tick{fill:#444}</style>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text class=\"title\" x=\"" << kPanelWidth
      << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">"
      << rt::escapeMarkup(title) << "</text>\n";
  renderPanel(svg, 0, steps, loss, "loss (nats/token)",
              {{"train-loss", "train", "#1f77b4", &curves.trainLoss},
               {"holdout-loss", "holdout", "#d62728", &curves.holdoutLoss}},
              "");
  renderPanel(
      svg, 1, steps, density, "density (nonzero fraction)",
      {{"weight-density", "matrices", "#2ca02c", &curves.weightDensity},
       {"embed-density", "embeddings", "#9467bd", &curves.embedDensity}},
      curves.lastNonzeros >= 0
          ? "L0 " + std::to_string(curves.lastNonzeros) + " nonzeros"
          : "");
  svg << "</svg>\n";
  return svg.str();
}
