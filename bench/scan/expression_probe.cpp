// expression_probe: measures the frozen-brow cue on the manifest videos before it is wired into a
// detector. An audio-driven talking head made from one photo moves the mouth, the blinks and the
// head; its upper face keeps the photo's expression, so the brows hardly move against the eyes.
// People who talk raise and knit their brows.
//
// Per video, on the largest face of the longest run of consecutive frames that keep one track
// (landmarks as scan sees them: the default tracker, One-Euro-smoothed):
//   - the landmarks rotated so the eye line is level (head roll removed);
//   - brow raise r = (eye line - mean height of the brow points 17-26) / (nose tip 30 - eye line),
//     mouth opening m = |62 - 66| / (nose tip 30 - eye line): ratios of vertical distances, so
//     head pitch, which shortens both, cancels to first order;
//   - each series through a 5-frame running median, cut into 2 s windows every 1 s; a window's
//     activity is its max minus min.
// The brow raise and the windows are the expression detector's own code (detect::brow_raise,
// detect::window_activity), so the probe measures what the detector sees.
// Cues (the direction that means "fake" was fixed before any run, in docs/detectors.md):
//   brow_activity     mean window activity of r (low = fake)            <- primary
//   brow_mouth_ratio  brow_activity / max(mouth_activity, 0.01) (low = fake)
//   mouth_activity    mean window activity of m (context, no direction)
// A run shorter than 2 s gives no cues (empty fields).
//
// Usage: expression_probe --data DIR [--max-frames N] > expression.csv
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "detect/expression.h"
#include "face/face.h"
#include "learn/learn.h"
#include "probe_setup.h"

namespace {

using namespace unmask;

constexpr double kMinRunS = 2.0;

struct Expression { double brow = 0, mouth = 0, iod_px = 0; };

// nullopt when the face is degenerate (detect::brow_raise gives nothing).
std::optional<Expression> expression_of(const face::Landmarks& l) {
  const auto brow = detect::brow_raise(l);
  if (!brow) return std::nullopt;
  // brow_raise's denominator: the nose tip's height below the line of the eye centres, roll removed.
  const face::Point2 left = face::landmark_mean(l, 36, 41), right = face::landmark_mean(l, 42, 47);
  const double dx = right.x - left.x, dy = right.y - left.y, iod = std::hypot(dx, dy);
  const double nose = (-dy / iod) * (l[30].x - (left.x + right.x) / 2) + (dx / iod) * (l[30].y - (left.y + right.y) / 2);
  const double mouth = std::hypot(l[62].x - l[66].x, l[62].y - l[66].y);
  return Expression{*brow, mouth / nose, iod};
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  bench::ProbeSetup setup;
  if (auto exit_code = bench::probe_setup(argc, argv, "expression_probe", 450, setup)) return *exit_code;
  std::printf("path,source,label,run_s,fps,iod_px,brow_activity,brow_mouth_ratio,mouth_activity\n");
  for (const auto& item : setup.videos) {
    auto r = bench::longest_face_run<Expression>(item.path, setup, [](const face::FrameFaces&, const face::Face& f) {
      return expression_of(f.landmarks);
    });
    if (!r.ok()) {
      std::fprintf(stderr, "failed %s: %s\n", item.path.c_str(), r.status().message().c_str());
      continue;
    }
    const auto& run = r->values;
    const double fps = r->fps;
    const double run_s = run.size() / fps;
    std::string cues = ",,,";
    if (run_s >= kMinRunS) {
      std::vector<double> brow, mouth, iod;
      for (const auto& e : run) {
        brow.push_back(e.brow);
        mouth.push_back(e.mouth);
        iod.push_back(e.iod_px);
      }
      const double brow_activity = detect::window_activity(brow, fps), mouth_activity = detect::window_activity(mouth, fps);
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.1f,%.5f,%.4f,%.5f", median(iod), brow_activity,
                    brow_activity / std::max(mouth_activity, 0.01), mouth_activity);
      cues = buf;
    }
    std::printf("\"%s\",%s,%d,%.2f,%.2f,%s\n", item.path.c_str(), item.columns.at("source_repo").c_str(), item.label, run_s, fps,
                cues.c_str());
    std::fflush(stdout);
  }
  return 0;
}
