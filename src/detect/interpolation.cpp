#include "detect/interpolation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "detect/cv_image.h"
#include "detect/feature_model.h"
#include "detect/registry_table.h"

namespace unmask::detect {

namespace {

constexpr double kLogFloor = 1e-3;

// The model's feature row from the evidence: {log(median z + kLogFloor)}.
std::vector<float> feature_row(const InterpolationEvidence& evidence) {
  return {static_cast<float>(std::log(evidence.median_z + kLogFloor))};
}

class InterpolationDetector final : public TrackDetector {
 public:
  InterpolationDetector(FeatureClassifier classifier, DetectorInfo info)
      : classifier_(std::move(classifier)), info_(std::move(info)) {}
  const DetectorInfo& info() const override { return info_; }
  // Reads face_detail, which scan measures on every frame itself; no crops.
  std::optional<face::AlignOptions> alignment() const override { return std::nullopt; }
  bool reads_face_detail() const override { return true; }

  Result<TrackResult> score(const TrackSeries& track) const override {
    TrackResult result;
    const auto evidence = interpolation_evidence(track);
    if (!evidence) return result;
    auto p = classifier_.predict({feature_row(*evidence)});
    if (!p.ok()) return p.status();
    result.score = (*p)[0];
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "every second frame %.0f%% softer than its neighbours (z %.1f over %d windows of 2 s)",
                  100.0 * (1.0 - std::exp(-evidence->median_step)), evidence->median_z, evidence->n_windows);
    result.evidence.push_back(buf);
    return result;
  }

 private:
  FeatureClassifier classifier_;
  DetectorInfo info_;
};

}  // namespace

float face_detail(const Image& frame, const Box& box) {
  if (frame.empty() || frame.channels() != 3) return NAN;
  const cv::Mat image = as_mat(frame);
  const cv::Rect wanted(static_cast<int>(std::floor(box.x)), static_cast<int>(std::floor(box.y)),
                        static_cast<int>(std::ceil(box.w)), static_cast<int>(std::ceil(box.h)));
  const cv::Rect roi = wanted & cv::Rect(0, 0, image.cols, image.rows);
  if (roi.width < 16 || roi.height < 16) return NAN;
  cv::Mat grey, lap;
  cv::cvtColor(image(roi), grey, cv::COLOR_BGR2GRAY);
  cv::Laplacian(grey, lap, CV_16S, 1);
  const double m = cv::mean(cv::abs(lap))[0];
  return m > 0 ? static_cast<float>(std::log(m)) : NAN;
}

std::optional<InterpolationEvidence> interpolation_evidence(const TrackSeries& track) {
  const std::vector<float>& e = track.face_detail;
  const size_t n = e.size();
  if (n != track.pts_us.size() || !(track.fps > 0)) return std::nullopt;
  const int w = 2 * std::max(2, static_cast<int>(std::lround(track.fps * kInterpolationWindowSeconds / 2)));
  const double period_us = 1e6 / track.fps;
  std::vector<double> zs, steps;
  size_t begin = 0;  // start of the current stretch of consecutive measured frames
  for (size_t i = 0; i <= n; ++i) {
    const bool breaks = i == n || !std::isfinite(e[i]) ||
                        (i > begin && track.pts_us[i] - track.pts_us[i - 1] > 1.5 * period_us);
    if (!breaks) continue;
    for (size_t start = begin; start + w <= i; start += w / 2) {
      double x = 0, d2 = 0;
      for (int t = 0; t < w; ++t) x += (t % 2 ? -1.0 : 1.0) * e[start + t];
      x /= w;
      for (int t = 2; t < w; ++t) d2 += std::pow(e[start + t] - e[start + t - 2], 2);
      const double s = std::sqrt(d2 / (w - 2) / 2);
      if (!(s > 0)) continue;
      zs.push_back(std::fabs(x) * std::sqrt(static_cast<double>(w)) / s);
      steps.push_back(2 * std::fabs(x));
    }
    begin = (i < n && !std::isfinite(e[i])) ? i + 1 : i;
  }
  if (zs.empty()) return std::nullopt;
  return InterpolationEvidence{median_of(zs), median_of(steps), static_cast<int>(zs.size())};
}

std::optional<std::vector<float>> interpolation_features(const TrackSeries& track) {
  const auto evidence = interpolation_evidence(track);
  if (!evidence) return std::nullopt;
  return feature_row(*evidence);
}

Result<std::shared_ptr<const TrackDetector>> make_interpolation_detector(nn::Model model, const std::string& what,
                                                                         const std::string& model_sha256) {
  auto classifier =
      FeatureClassifier::create(std::move(model), what, kInterpolationFeatureVersion, kInterpolationFeatureCount);
  if (!classifier.ok()) return classifier.status();
  DetectorInfo info{.name = "interpolation", .version = "1", .model_sha256 = model_sha256,
                    .model_path = what, .kind = DetectorKind::kTrack};
  return std::shared_ptr<const TrackDetector>(
      std::make_shared<InterpolationDetector>(std::move(*classifier), std::move(info)));
}

Status load_interpolation(const std::string& models_dir, DetectorSet& set) {
  return load_feature_detector(models_dir, "interpolation", make_interpolation_detector, set.track);
}

}  // namespace unmask::detect
