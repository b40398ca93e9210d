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

#include "face/face.h"
#include "learn/learn.h"
#include "probe_setup.h"

namespace {

using namespace unmask;

constexpr double kMinRunS = 2.0;
constexpr double kWindowS = 2.0, kHopS = 1.0;
constexpr int kMedianFrames = 5;

struct Expression { double brow = 0, mouth = 0, iod_px = 0; };

face::Point2 mean_of(const face::Landmarks& l, int first, int last) {
  face::Point2 m{0, 0};
  for (int i = first; i <= last; ++i) { m.x += l[i].x; m.y += l[i].y; }
  const double n = last - first + 1;
  return {m.x / n, m.y / n};
}

// nullopt when the face is degenerate (eyes on top of each other, nose tip not below the eyes).
std::optional<Expression> expression_of(const face::Landmarks& l) {
  const face::Point2 left = mean_of(l, 36, 41), right = mean_of(l, 42, 47);
  const double dx = right.x - left.x, dy = right.y - left.y, iod = std::hypot(dx, dy);
  if (iod < 1e-3) return std::nullopt;
  const double c = dx / iod, s = dy / iod;
  const face::Point2 mid{(left.x + right.x) / 2, (left.y + right.y) / 2};
  // Height below the eye line in the roll-free frame (positive downwards, as image y).
  auto below_eyes = [&](const face::Point2& p) { return -s * (p.x - mid.x) + c * (p.y - mid.y); };
  const double nose = below_eyes(l[30]);
  if (nose < 0.1 * iod) return std::nullopt;
  double brow = 0;
  for (int i = 17; i <= 26; ++i) brow += below_eyes(l[i]);
  brow /= 10;
  const double mouth = std::hypot(l[62].x - l[66].x, l[62].y - l[66].y);
  return Expression{-brow / nose, mouth / nose, iod};
}

std::vector<double> running_median(const std::vector<double>& x, int width) {
  std::vector<double> out(x.size());
  const int half = width / 2, n = static_cast<int>(x.size());
  std::vector<double> w;
  for (int t = 0; t < n; ++t) {
    w.assign(x.begin() + std::max(0, t - half), x.begin() + std::min(n, t + half + 1));
    std::nth_element(w.begin(), w.begin() + w.size() / 2, w.end());
    out[t] = w[w.size() / 2];
  }
  return out;
}

// Mean over 2 s windows (1 s hop) of max - min; one window when the run is shorter than 3 s.
double window_activity(const std::vector<double>& raw, double fps) {
  const auto x = running_median(raw, kMedianFrames);
  const int n = static_cast<int>(x.size());
  const int window = std::min(n, static_cast<int>(std::lround(kWindowS * fps)));
  const int hop = std::max(1, static_cast<int>(std::lround(kHopS * fps)));
  double sum = 0;
  int windows = 0;
  for (int start = 0; start + window <= n; start += hop, ++windows) {
    const auto [lo, hi] = std::minmax_element(x.begin() + start, x.begin() + start + window);
    sum += *hi - *lo;
  }
  return windows > 0 ? sum / windows : NAN;
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
    // Runs of consecutive frames whose largest face keeps one track id.
    std::vector<std::vector<Expression>> runs(1);
    int64_t prev_index = -10;
    int prev_track = -2;
    face::TrackFileOptions o;
    o.max_frames = setup.max_frames;
    o.keep_tracks = false;
    auto r = face::track_file(item.path, setup.models, o, [&](face::FrameFaces& f) -> Status {
      const face::Face* best = face::largest_face(f.faces);
      const auto e = best ? expression_of(best->landmarks) : std::nullopt;
      const bool continues = e && f.index == prev_index + 1 && best->track_id == prev_track;
      if (!continues && !runs.back().empty()) runs.emplace_back();
      if (e) runs.back().push_back(*e);
      prev_index = e ? f.index : -10;
      prev_track = e ? best->track_id : -2;
      return Status::ok();
    });
    if (!r.ok()) {
      std::fprintf(stderr, "failed %s: %s\n", item.path.c_str(), r.status().message().c_str());
      continue;
    }
    const auto& run = *std::max_element(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
    const double fps = r->fps > 0 ? r->fps : 25.0;
    const double run_s = run.size() / fps;
    std::string cues = ",,,";
    if (run_s >= kMinRunS) {
      std::vector<double> brow, mouth, iod;
      for (const auto& e : run) {
        brow.push_back(e.brow);
        mouth.push_back(e.mouth);
        iod.push_back(e.iod_px);
      }
      const double brow_activity = window_activity(brow, fps), mouth_activity = window_activity(mouth, fps);
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
