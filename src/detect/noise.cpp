// The noise detector (noise.h): face-versus-surroundings noise statistics of aligned crops.
#include "detect/noise.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "detect/cv_image.h"
#include "detect/feature_model.h"
#include "detect/registry_table.h"

namespace unmask::detect {
namespace {

constexpr double kEps = 0.05;  // grey levels: keeps flat, noiseless regions finite

// Crop coordinate of template coordinate t (0..1 across the canonical face).
double crop_coord(double t, int size) { return (kNoiseMargin + t) / (1.0 + 2.0 * kNoiseMargin) * size; }

struct Regions {
  cv::Mat inner, ring;  // CV_8U masks
};

const Regions& regions() {
  static const Regions r = [] {
    Regions x;
    const int n = kNoiseCropPx;
    x.inner = cv::Mat::zeros(n, n, CV_8U);
    x.ring = cv::Mat::zeros(n, n, CV_8U);
    const int ix0 = static_cast<int>(crop_coord(0.25, n)), ix1 = static_cast<int>(crop_coord(0.75, n));
    const int iy0 = static_cast<int>(crop_coord(0.35, n)), iy1 = static_cast<int>(crop_coord(0.85, n));
    x.inner(cv::Rect(ix0, iy0, ix1 - ix0, iy1 - iy0)).setTo(255);
    // Ring: the square of 1.9x the template face minus the one of 1.6x, both centred on it.
    auto square = [&](double grow) {
      const double lo = std::max(0.0, crop_coord(0.5 - grow / 2, n)), hi = std::min<double>(n, crop_coord(0.5 + grow / 2, n));
      return cv::Rect(static_cast<int>(lo), static_cast<int>(lo), static_cast<int>(hi - lo), static_cast<int>(hi - lo));
    };
    x.ring(square(1.9)).setTo(255);
    x.ring(square(1.6)).setTo(0);
    return x;
  }();
  return r;
}

double masked_median(const cv::Mat& values, const cv::Mat& mask) {
  std::vector<float> v;
  v.reserve(static_cast<size_t>(cv::countNonZero(mask)));
  for (int y = 0; y < values.rows; ++y) {
    const float* a = values.ptr<float>(y);
    const uint8_t* m = mask.ptr<uint8_t>(y);
    for (int x = 0; x < values.cols; ++x) {
      if (m[x]) v.push_back(a[x]);
    }
  }
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

double log_ratio(double inside, double ring) { return std::log((inside + kEps) / (ring + kEps)); }

class NoiseDetector final : public TrackDetector {
 public:
  NoiseDetector(FeatureClassifier classifier, DetectorInfo info, double real_ratio)
      : classifier_(std::move(classifier)), info_(std::move(info)), real_ratio_(real_ratio) {}

  const DetectorInfo& info() const override { return info_; }
  std::optional<face::AlignOptions> alignment() const override {
    return face::AlignOptions{.size_px = kNoiseCropPx, .margin = kNoiseMargin};
  }

  Result<TrackResult> score(const TrackSeries& track) const override {
    TrackResult result;
    auto row = noise_track_features(track.crops);
    if (!row) {
      result.evidence.push_back("too few face crops to compare the face's noise with its surroundings");
      return result;
    }
    auto p = classifier_.predict({*row});
    if (!p.ok()) return p.status();
    result.score = (*p)[0];
    char buf[160];
    std::snprintf(buf, sizeof buf, "face noise %.2fx its surroundings (real training tracks: median %.2fx)",
                  std::exp(static_cast<double>((*row)[0])), real_ratio_);
    result.evidence.push_back(buf);
    return result;
  }

 private:
  FeatureClassifier classifier_;
  DetectorInfo info_;
  double real_ratio_;
};

}  // namespace

std::optional<std::array<float, kNoiseFeatureCount>> noise_crop_features(const Image& crop) {
  if (crop.empty() || crop.width_px() != kNoiseCropPx || crop.height_px() != kNoiseCropPx ||
      (crop.channels() != 1 && crop.channels() != 3)) {
    return std::nullopt;
  }
  cv::Mat f, b1, b2;
  grey_of(crop).convertTo(f, CV_32F);  // grey or BGR: other channel counts were refused above
  cv::GaussianBlur(f, b1, cv::Size(0, 0), 1.0, 1.0, cv::BORDER_REFLECT);
  cv::GaussianBlur(f, b2, cv::Size(0, 0), 2.5, 2.5, cv::BORDER_REFLECT);
  const cv::Mat hp = cv::abs(f - b1);
  const cv::Mat band = cv::abs(b1 - b2);
  const Regions& r = regions();
  std::array<float, kNoiseFeatureCount> out{};
  out[0] = static_cast<float>(log_ratio(cv::mean(hp, r.inner)[0], cv::mean(hp, r.ring)[0]));
  out[1] = static_cast<float>(log_ratio(masked_median(hp, r.inner), masked_median(hp, r.ring)));
  out[2] = static_cast<float>(log_ratio(cv::mean(band, r.inner)[0], cv::mean(band, r.ring)[0]));
  return out;
}

std::optional<std::vector<float>> noise_track_features(const std::vector<Image>& crops) {
  std::array<std::vector<double>, kNoiseFeatureCount> per;
  for (const Image& c : crops) {
    auto f = noise_crop_features(c);
    if (!f) continue;
    for (int j = 0; j < kNoiseFeatureCount; ++j) per[j].push_back((*f)[j]);
  }
  if (per[0].size() < static_cast<size_t>(kNoiseMinCrops)) return std::nullopt;
  std::vector<float> row(kNoiseFeatureCount);
  for (int j = 0; j < kNoiseFeatureCount; ++j) row[j] = static_cast<float>(median_of(per[j]));
  return row;
}

Result<std::shared_ptr<const TrackDetector>> make_noise_detector(nn::Model model, const std::string& what,
                                                                 const std::string& model_sha256) {
  const nn::Metadata meta = model.metadata();
  auto classifier = FeatureClassifier::create(std::move(model), what, kNoiseFeatureVersion, kNoiseFeatureCount);
  if (!classifier.ok()) return classifier.status();
  const auto log_ratio = metadata_number(meta, "real_noise_ratio_median");
  const double real_ratio = log_ratio ? std::exp(*log_ratio) : 1.0;
  DetectorInfo info{.name = "noise", .version = "1", .model_sha256 = model_sha256,
                    .model_path = what, .kind = DetectorKind::kTrack};
  return std::shared_ptr<const TrackDetector>(
      std::make_shared<NoiseDetector>(std::move(*classifier), std::move(info), real_ratio));
}

Status load_noise(const std::string& models_dir, DetectorSet& set) {
  return load_feature_detector(models_dir, "noise", make_noise_detector, set.track);
}

}  // namespace unmask::detect
