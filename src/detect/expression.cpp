// The expression detector (expression.h): brow motion against the eyes over a face track.
#include "detect/expression.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "detect/feature_model.h"
#include "detect/registry_table.h"
#include "detect/temporal.h"

namespace unmask::detect {
namespace {

constexpr double kWindowSeconds = 2.0, kHopSeconds = 1.0;
constexpr int kMedianFrames = 5;
constexpr size_t kMinFrames = 10;
constexpr double kLogFloor = 1e-3;
constexpr double kMaxGapSeconds = 1.0;

std::vector<double> running_median(const std::vector<double>& x, int width) {
  std::vector<double> out(x.size()), w;
  const int half = width / 2, n = static_cast<int>(x.size());
  for (int t = 0; t < n; ++t) {
    w.assign(x.begin() + std::max(0, t - half), x.begin() + std::min(n, t + half + 1));
    std::nth_element(w.begin(), w.begin() + w.size() / 2, w.end());
    out[t] = w[w.size() / 2];
  }
  return out;
}

class ExpressionDetector final : public TrackDetector {
 public:
  ExpressionDetector(FeatureClassifier classifier, DetectorInfo info, double real_median)
      : classifier_(std::move(classifier)), info_(std::move(info)), real_median_(real_median) {}

  const DetectorInfo& info() const override { return info_; }
  std::optional<face::AlignOptions> alignment() const override { return std::nullopt; }  // landmarks only

  Result<TrackResult> score(const TrackSeries& track) const override {
    TrackResult result;
    const auto activity = brow_activity(track);
    if (!activity) {
      result.evidence.push_back("track too short to judge the brows over time (needs 2 s)");
      return result;
    }
    auto p = classifier_.predict({{static_cast<float>(std::log(*activity + kLogFloor))}});
    if (!p.ok()) return p.status();
    result.score = (*p)[0];
    const double span_s = track.pts_us.size() >= 2 ? (track.pts_us.back() - track.pts_us.front()) / 1e6
                                                   : track.landmarks.size() / track.fps;
    char buf[200];
    std::snprintf(buf, sizeof buf, "brow motion over %.1f s: %.3f (real training tracks: median %.3f)%s", span_s,
                  *activity, real_median_, *activity < 0.5 * real_median_ ? ", the brows hardly move" : "");
    result.evidence.push_back(buf);
    return result;
  }

 private:
  FeatureClassifier classifier_;
  DetectorInfo info_;
  double real_median_;
};

}  // namespace

std::optional<double> brow_raise(const face::Landmarks& l) {
  const face::Point2 left = face::landmark_mean(l, 36, 41), right = face::landmark_mean(l, 42, 47);
  const double dx = right.x - left.x, dy = right.y - left.y, iod = std::hypot(dx, dy);
  if (!(iod > 1e-3)) return std::nullopt;
  const double c = dx / iod, s = dy / iod;
  const face::Point2 mid{(left.x + right.x) / 2, (left.y + right.y) / 2};
  // Height below the eye line in the roll-free frame (positive downwards, as image y).
  auto below_eyes = [&](const face::Point2& p) { return -s * (p.x - mid.x) + c * (p.y - mid.y); };
  const double nose = below_eyes(l[30]);
  if (!(nose > 0.1 * iod)) return std::nullopt;
  double brow = 0;
  for (int i = 17; i <= 26; ++i) brow += below_eyes(l[i]);
  brow /= 10;
  return -brow / nose;
}

// The windows of window_activity: adds each window's max - min to `sum` and counts it.
static void add_window_ranges(const std::vector<double>& values, double fps, double& sum, int& windows) {
  const int n = static_cast<int>(values.size());
  if (n < 2 || !(fps > 0)) return;
  const std::vector<double> x = running_median(values, kMedianFrames);
  const int window = std::min(n, static_cast<int>(std::lround(kWindowSeconds * fps)));
  const int hop = std::max(1, static_cast<int>(std::lround(kHopSeconds * fps)));
  for (int start = 0; start + window <= n; start += hop, ++windows) {
    const auto [lo, hi] = std::minmax_element(x.begin() + start, x.begin() + start + window);
    sum += *hi - *lo;
  }
}

double window_activity(const std::vector<double>& values, double fps) {
  double sum = 0;
  int windows = 0;
  add_window_ranges(values, fps, sum, windows);
  return windows > 0 ? sum / windows : NAN;
}

std::optional<double> brow_activity(const TrackSeries& track) {
  if (!(track.fps > 0)) return std::nullopt;
  // Stretches of the track without a gap over kMaxGapSeconds (scan keeps long tracks as 10 s
  // chunks spread over their length): a window never spans two of them.
  const bool timed = track.pts_us.size() == track.landmarks.size();
  std::vector<std::vector<double>> stretches(1);
  int64_t last_pts = 0;
  for (size_t i = 0; i < track.landmarks.size(); ++i) {
    if (timed && !stretches.back().empty() && (track.pts_us[i] - last_pts) / 1e6 > kMaxGapSeconds) stretches.emplace_back();
    if (timed) last_pts = track.pts_us[i];
    if (auto r = brow_raise(track.landmarks[i])) stretches.back().push_back(*r);
  }
  double sum = 0;
  int windows = 0;
  for (const auto& raise : stretches) {
    if (raise.size() < kMinFrames || raise.size() / track.fps < kExpressionMinSeconds) continue;
    add_window_ranges(raise, track.fps, sum, windows);
  }
  if (windows == 0) return std::nullopt;
  return sum / windows;
}

std::optional<std::vector<float>> expression_features(const TrackSeries& track) {
  const auto activity = brow_activity(track);
  if (!activity) return std::nullopt;
  return std::vector<float>{static_cast<float>(std::log(*activity + kLogFloor))};
}

Result<std::shared_ptr<const TrackDetector>> make_expression_detector(nn::Model model, const std::string& what,
                                                                      const std::string& model_sha256) {
  const nn::Metadata meta = model.metadata();
  auto classifier = FeatureClassifier::create(std::move(model), what, kExpressionFeatureVersion, kExpressionFeatureCount);
  if (!classifier.ok()) return classifier.status();
  const double real_median = metadata_number(meta, "real_brow_activity_median").value_or(0.0);
  if (!(real_median > 0)) return Status::model(what, "metadata lacks real_brow_activity_median");
  DetectorInfo info{.name = "expression", .version = "1", .model_sha256 = model_sha256,
                    .model_path = what, .kind = DetectorKind::kTrack};
  return std::shared_ptr<const TrackDetector>(
      std::make_shared<ExpressionDetector>(std::move(*classifier), std::move(info), real_median));
}

Status load_expression(const std::string& models_dir, DetectorSet& set) {
  return load_feature_detector(models_dir, "expression", make_expression_detector, set.track);
}

}  // namespace unmask::detect
