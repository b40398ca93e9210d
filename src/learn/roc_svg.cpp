// ROC curves as a standalone SVG document: axes with ticks, axis labels, the chance diagonal,
// one polyline per series and a legend with each series' AUC.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "learn/learn.h"

namespace unmask::learn {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// Colour-blind-safe palette (Okabe-Ito).
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#F0E442", "#000000"};

}  // namespace

std::string roc_svg(const std::vector<RocSeries>& series, const RocSvgOptions& options) {
  const double width = std::max(200, options.width_px), height = std::max(200, options.height_px);
  const double left = 60, right = 20, top = 40, bottom = 55;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double fpr) { return left + std::clamp(fpr, 0.0, 1.0) * plot_w; };
  auto py = [&](double tpr) { return top + (1.0 - std::clamp(tpr, 0.0, 1.0)) * plot_h; };

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", width) + "\" height=\"" +
         fmt("%.0f", height) + "\" viewBox=\"0 0 " + fmt("%.0f", width) + " " + fmt("%.0f", height) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  svg += "<text x=\"" + fmt("%.1f", width / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" +
         escape_markup(options.title) + "</text>\n";

  // Grid, ticks and tick labels.
  svg += "<g class=\"axes\" stroke=\"#dddddd\" stroke-width=\"1\">\n";
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    svg += "<line x1=\"" + fmt("%.1f", px(v)) + "\" y1=\"" + fmt("%.1f", py(0)) + "\" x2=\"" + fmt("%.1f", px(v)) +
           "\" y2=\"" + fmt("%.1f", py(1)) + "\"/>\n";
    svg += "<line x1=\"" + fmt("%.1f", px(0)) + "\" y1=\"" + fmt("%.1f", py(v)) + "\" x2=\"" + fmt("%.1f", px(1)) +
           "\" y2=\"" + fmt("%.1f", py(v)) + "\"/>\n";
  }
  svg += "</g>\n<g fill=\"#333333\">\n";
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    svg += "<text x=\"" + fmt("%.1f", px(v)) + "\" y=\"" + fmt("%.1f", py(0) + 16) +
           "\" text-anchor=\"middle\">" + fmt("%.1f", v) + "</text>\n";
    svg += "<text x=\"" + fmt("%.1f", px(0) - 6) + "\" y=\"" + fmt("%.1f", py(v) + 4) +
           "\" text-anchor=\"end\">" + fmt("%.1f", v) + "</text>\n";
  }
  svg += "</g>\n";
  svg += "<rect x=\"" + fmt("%.1f", left) + "\" y=\"" + fmt("%.1f", top) + "\" width=\"" + fmt("%.1f", plot_w) +
         "\" height=\"" + fmt("%.1f", plot_h) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
  svg += "<text x=\"" + fmt("%.1f", left + plot_w / 2) + "\" y=\"" + fmt("%.1f", height - 14) +
         "\" text-anchor=\"middle\">False positive rate (real called fake)</text>\n";
  svg += "<text x=\"16\" y=\"" + fmt("%.1f", top + plot_h / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " +
         fmt("%.1f", top + plot_h / 2) + ")\">True positive rate (fake caught)</text>\n";

  // Chance diagonal.
  svg += "<line class=\"chance\" x1=\"" + fmt("%.1f", px(0)) + "\" y1=\"" + fmt("%.1f", py(0)) + "\" x2=\"" +
         fmt("%.1f", px(1)) + "\" y2=\"" + fmt("%.1f", py(1)) +
         "\" stroke=\"#999999\" stroke-dasharray=\"4 4\"/>\n";

  // Curves.
  for (size_t s = 0; s < series.size(); ++s) {
    const char* colour = kColours[s % std::size(kColours)];
    svg += "<polyline class=\"roc\" fill=\"none\" stroke=\"" + std::string(colour) +
           "\" stroke-width=\"2\" points=\"";
    for (size_t i = 0; i < series[s].points.size(); ++i) {
      if (i) svg += ' ';
      svg += fmt("%.2f", px(series[s].points[i].fpr)) + "," + fmt("%.2f", py(series[s].points[i].tpr));
    }
    svg += "\"/>\n";
  }

  // Legend, bottom right inside the plot (where curves rarely are).
  const double row_h = 18, legend_w = std::min(plot_w - 20, 230.0);
  const double legend_h = row_h * static_cast<double>(series.size() + 1) + 6;
  const double lx = left + plot_w - legend_w - 8, ly = top + plot_h - legend_h - 8;
  svg += "<g class=\"legend\">\n<rect x=\"" + fmt("%.1f", lx) + "\" y=\"" + fmt("%.1f", ly) + "\" width=\"" +
         fmt("%.1f", legend_w) + "\" height=\"" + fmt("%.1f", legend_h) +
         "\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\"/>\n";
  for (size_t s = 0; s <= series.size(); ++s) {
    const double y = ly + 6 + row_h * static_cast<double>(s) + row_h / 2;
    const bool chance = s == series.size();
    const std::string colour = chance ? "#999999" : kColours[s % std::size(kColours)];
    svg += "<line x1=\"" + fmt("%.1f", lx + 8) + "\" y1=\"" + fmt("%.1f", y) + "\" x2=\"" + fmt("%.1f", lx + 30) +
           "\" y2=\"" + fmt("%.1f", y) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"" +
           (chance ? " stroke-dasharray=\"4 4\"" : "") + "/>\n";
    std::string text;
    if (chance) {
      text = "chance (AUC 0.500)";
    } else {
      text = escape_markup(series[s].label) + " (AUC " +
             (std::isfinite(series[s].auc) ? fmt("%.3f", series[s].auc) : std::string("n/a")) + ")";
    }
    svg += "<text x=\"" + fmt("%.1f", lx + 36) + "\" y=\"" + fmt("%.1f", y + 4) + "\">" + text + "</text>\n";
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

}  // namespace unmask::learn
