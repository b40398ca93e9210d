// The spectral detector: radial power spectrum and block-DCT statistics of the grey face crop,
// scored by a small mlp (see spectral.h).
#include "detect/spectral.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "detect/cv_image.h"
#include "detect/feature_model.h"
#include "detect/registry_table.h"

namespace unmask::detect {
namespace {

// The corner of the frequency plane, (0.5, 0.5) cycles/px: the radial bins reach it so that the
// diagonal checkerboard of transposed convolutions is inside the spectrum, not cut off at r = 0.5.
const double kMaxRadius = std::sqrt(0.5);

// Grey float image (values 0..255) of an 8-bit BGR or grey image, at its own size.
cv::Mat to_grey_float(const Image& image) {
  cv::Mat f;
  grey_of(image).convertTo(f, CV_64F);
  return f;
}

RadialSpectrum radial_spectrum_of(const cv::Mat& grey_in, int n_bins, bool windowed) {
  RadialSpectrum out;
  out.bins.assign(static_cast<size_t>(std::max(n_bins, 1)), 0.0);
  const int h = grey_in.rows, w = grey_in.cols;
  if (h == 0 || w == 0) return out;
  cv::Mat grey = grey_in.clone();
  if (windowed) {
    grey -= cv::mean(grey)[0];
    cv::Mat window;
    cv::createHanningWindow(window, grey.size(), CV_64F);
    grey = grey.mul(window);
  }
  cv::Mat spectrum;
  cv::dft(grey, spectrum, cv::DFT_COMPLEX_OUTPUT);
  const double norm = 1.0 / (static_cast<double>(h) * w * static_cast<double>(h) * w);
  std::vector<double> sums(out.bins.size(), 0.0);
  std::vector<int> counts(out.bins.size(), 0);
  for (int y = 0; y < h; ++y) {
    const cv::Vec2d* row = spectrum.ptr<cv::Vec2d>(y);
    const double fy = (y <= h / 2 ? y : y - h) / static_cast<double>(h);
    for (int x = 0; x < w; ++x) {
      const double fx = (x <= w / 2 ? x : x - w) / static_cast<double>(w);
      const double power = (row[x][0] * row[x][0] + row[x][1] * row[x][1]) * norm;
      if (x == 0 && y == 0) {
        out.dc = power;
        continue;
      }
      const double r = std::sqrt(fx * fx + fy * fy);
      // Bin i holds r in (i, i + 1] * kMaxRadius / n_bins.
      int bin = static_cast<int>(std::ceil(r / kMaxRadius * n_bins - 1e-9)) - 1;
      bin = std::clamp(bin, 0, n_bins - 1);
      sums[bin] += power;
      counts[bin] += 1;
    }
  }
  for (size_t i = 0; i < out.bins.size(); ++i) out.bins[i] = counts[i] > 0 ? sums[i] / counts[i] : 0.0;
  // Empty bins (small images: no frequency falls in them) take the previous bin's value so the
  // profile stays continuous.
  for (size_t i = 1; i < out.bins.size(); ++i) {
    if (counts[i] == 0) out.bins[i] = out.bins[i - 1];
  }
  return out;
}

// Mean absolute value, per anti-diagonal u + v = 1..14, of the 8x8 block DCT coefficients of the
// grey image (blocks on the grid from the top-left corner; a partial last row/column is left out),
// and the fraction of coefficients below 0.5 in magnitude per band group.
void dct_statistics(const cv::Mat& grey, std::vector<double>& band_mean_abs, double zero_fraction[3]) {
  band_mean_abs.assign(kSpectralDctBands, 0.0);
  std::vector<double> band_count(kSpectralDctBands, 0.0);
  double zero_count[3] = {0, 0, 0}, group_count[3] = {0, 0, 0};
  cv::Mat block(8, 8, CV_64F), coef;
  for (int by = 0; by + 8 <= grey.rows; by += 8) {
    for (int bx = 0; bx + 8 <= grey.cols; bx += 8) {
      grey(cv::Rect(bx, by, 8, 8)).copyTo(block);
      block -= 128.0;
      cv::dct(block, coef);
      for (int v = 0; v < 8; ++v) {
        for (int u = 0; u < 8; ++u) {
          const int d = u + v;
          if (d == 0) continue;
          const double a = std::abs(coef.at<double>(v, u));
          band_mean_abs[d - 1] += a;
          band_count[d - 1] += 1;
          const int group = d <= 4 ? 0 : (d <= 9 ? 1 : 2);
          group_count[group] += 1;
          if (a < 0.5) zero_count[group] += 1;
        }
      }
    }
  }
  for (int i = 0; i < kSpectralDctBands; ++i) band_mean_abs[i] = band_count[i] > 0 ? band_mean_abs[i] / band_count[i] : 0.0;
  for (int g = 0; g < 3; ++g) zero_fraction[g] = group_count[g] > 0 ? zero_count[g] / group_count[g] : 0.0;
}

class SpectralDetector final : public CropDetector {
 public:
  SpectralDetector(FeatureClassifier classifier, DetectorInfo info)
      : classifier_(std::move(classifier)), info_(std::move(info)) {}

  const DetectorInfo& info() const override { return info_; }
  face::AlignOptions alignment() const override { return {.size_px = kSpectralCropPx, .margin = kSpectralMargin}; }

  Result<std::vector<CropScore>> score(std::span<const Image> crops) const override {
    std::vector<std::vector<float>> rows;
    rows.reserve(crops.size());
    for (const Image& crop : crops) {
      if (crop.empty()) return Status::input("spectral", "empty crop");
      if (crop.channels() != 1 && crop.channels() != 3) return Status::input("spectral", "crop must be grey or BGR");
      rows.push_back(spectral_features(crop));
    }
    auto probs = classifier_.predict(rows);
    if (!probs.ok()) return probs.status();
    std::vector<CropScore> out(probs->size());
    for (size_t i = 0; i < out.size(); ++i) out[i].score = (*probs)[i];
    return out;
  }

 private:
  FeatureClassifier classifier_;
  DetectorInfo info_;
};

}  // namespace

RadialSpectrum radial_power_spectrum(const Image& image, int n_bins, bool windowed) {
  if (image.empty()) return RadialSpectrum{0.0, std::vector<double>(static_cast<size_t>(std::max(n_bins, 1)), 0.0)};
  return radial_spectrum_of(to_grey_float(image), n_bins, windowed);
}

std::vector<float> spectral_features(const Image& crop) {
  std::vector<float> f;
  f.reserve(kSpectralFeatureCount);
  if (crop.empty()) return std::vector<float>(kSpectralFeatureCount, 0.0f);
  cv::Mat grey = to_grey_float(crop);
  if (grey.rows != kSpectralCropPx || grey.cols != kSpectralCropPx) {
    cv::Mat resized;
    const bool shrink = grey.rows > kSpectralCropPx || grey.cols > kSpectralCropPx;
    cv::resize(grey, resized, cv::Size(kSpectralCropPx, kSpectralCropPx), 0, 0,
               shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    grey = resized;
  }

  // Radial spectrum, log10, minus its mean: the shape, independent of the crop's contrast.
  RadialSpectrum rs = radial_spectrum_of(grey, kSpectralRadialBins, /*windowed=*/true);
  std::vector<double> logp(kSpectralRadialBins);
  for (int i = 0; i < kSpectralRadialBins; ++i) logp[i] = std::log10(rs.bins[i] + 1e-10);
  const double mean_logp = std::accumulate(logp.begin(), logp.end(), 0.0) / kSpectralRadialBins;
  for (double& v : logp) v -= mean_logp;
  for (double v : logp) f.push_back(static_cast<float>(v));

  // Slope of log power against log radius over the upper half.
  const int half = kSpectralRadialBins / 2;
  double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
  for (int i = half; i < kSpectralRadialBins; ++i) {
    const double x = std::log10((i + 0.5) / kSpectralRadialBins);
    sx += x;
    sy += logp[i];
    sxx += x * x;
    sxy += x * logp[i];
    n += 1;
  }
  const double slope = (n * sxy - sx * sy) / std::max(1e-12, n * sxx - sx * sx);
  f.push_back(static_cast<float>(slope));
  // Tail level: top 8 bins against bins 16..23.
  double top = 0, mid = 0;
  for (int i = kSpectralRadialBins - 8; i < kSpectralRadialBins; ++i) top += logp[i] / 8.0;
  for (int i = 16; i < 24; ++i) mid += logp[i] / 8.0;
  f.push_back(static_cast<float>(top - mid));
  // Largest bump of a top-half bin over the mean of its two neighbours.
  double peak = 0;
  for (int i = half; i + 1 < kSpectralRadialBins; ++i) peak = std::max(peak, logp[i] - 0.5 * (logp[i - 1] + logp[i + 1]));
  f.push_back(static_cast<float>(peak));

  // Block DCT statistics.
  std::vector<double> band;
  double zero_fraction[3];
  dct_statistics(grey, band, zero_fraction);
  std::vector<double> log_band(kSpectralDctBands);
  for (int i = 0; i < kSpectralDctBands; ++i) log_band[i] = std::log10(band[i] + 1e-6);
  const double mean_band = std::accumulate(log_band.begin(), log_band.end(), 0.0) / kSpectralDctBands;
  for (double v : log_band) f.push_back(static_cast<float>(v - mean_band));
  for (double z : zero_fraction) f.push_back(static_cast<float>(z));
  return f;
}

Result<std::shared_ptr<const CropDetector>> make_spectral_detector(nn::Model model, const std::string& what,
                                                                   const std::string& model_sha256) {
  auto classifier = FeatureClassifier::create(std::move(model), what, kSpectralFeatureVersion, kSpectralFeatureCount);
  if (!classifier.ok()) return classifier.status();
  // Its fakes are StyleGAN stills; on held-out real video it raised confident false alarms
  // (docs/detectors.md), so video frames are left to the other detectors (stills_only).
  DetectorInfo info{.name = "spectral", .version = "1", .model_sha256 = model_sha256,
                    .model_path = what, .kind = DetectorKind::kCrop, .stills_only = true};
  return std::shared_ptr<const CropDetector>(std::make_shared<SpectralDetector>(std::move(*classifier), std::move(info)));
}

Status load_spectral(const std::string& models_dir, DetectorSet& set) {
  return load_feature_detector(models_dir, "spectral", make_spectral_detector, set.crop);
}

}  // namespace unmask::detect
