// The noise detector on generated crops: a frame with the same sensor noise everywhere against
// the same frame with a smoothed face pasted in the middle; the statistics, the track median, a
// tiny model trained here, and bad model files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "detect/detector.h"
#include "detect/feature_model.h"
#include "detect/noise.h"
#include "model_file_checks.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

// A kNoiseCropPx crop: smooth shading with a few soft blobs (a "scene"), plus Gaussian noise of
// sigma `noise` everywhere; with `smooth_face`, the central region (the template face and a
// little more, an ellipse) is replaced by a 5x5 box-blurred copy of itself: a pasted face that
// lost the camera's noise.
Image make_crop(uint32_t seed, double noise, bool smooth_face) {
  const int n = kNoiseCropPx;
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, noise);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double bx = 40 + 40 * u(rng), by = 40 + 40 * u(rng), phase = 6.28 * u(rng);
  std::vector<double> grey(static_cast<size_t>(n) * n);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const double shade = 90 + 50 * std::sin(x / bx + phase) * std::cos(y / by) + 0.1 * y;
      grey[static_cast<size_t>(y) * n + x] = shade + g(rng);
    }
  }
  if (smooth_face) {
    std::vector<double> blurred = grey;
    const double c = n / 2.0, r = 0.36 * n;
    for (int y = 2; y < n - 2; ++y) {
      for (int x = 2; x < n - 2; ++x) {
        if (std::hypot(x - c, (y - c) * 0.9) > r) continue;
        double s = 0;
        for (int dy = -2; dy <= 2; ++dy) {
          for (int dx = -2; dx <= 2; ++dx) s += grey[static_cast<size_t>(y + dy) * n + x + dx];
        }
        blurred[static_cast<size_t>(y) * n + x] = s / 25.0;
      }
    }
    grey = blurred;
  }
  Image im(n, n, 3);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const auto v = static_cast<uint8_t>(std::clamp(std::lround(grey[static_cast<size_t>(y) * n + x]), 0L, 255L));
      uint8_t* p = im.at(x, y);
      p[0] = p[1] = p[2] = v;
    }
  }
  return im;
}

TEST(NoiseFeatures, SameNoiseEverywhereIsNeutralAndASmoothedFaceIsLow) {
  auto even = noise_crop_features(make_crop(1, 8.0, false));
  auto pasted = noise_crop_features(make_crop(1, 8.0, true));
  ASSERT_TRUE(even && pasted);
  for (int j = 0; j < kNoiseFeatureCount; ++j) {
    EXPECT_NEAR((*even)[j], 0.0f, 0.25f) << "feature " << j;
    EXPECT_LT((*pasted)[j], (*even)[j] - 0.3f) << "feature " << j;
  }
  // Noise-level ratios: box blur 5x5 cuts the high-pass energy of white noise by far more than 2x.
  EXPECT_LT((*pasted)[0], -0.7f);
  EXPECT_LT((*pasted)[1], -0.7f);
}

TEST(NoiseFeatures, WrongCropsAndShortTracksGiveNothing) {
  EXPECT_FALSE(noise_crop_features(Image()).has_value());
  EXPECT_FALSE(noise_crop_features(Image(64, 64, 3)).has_value());
  std::vector<Image> two = {make_crop(2, 8.0, false), make_crop(3, 8.0, false)};
  EXPECT_FALSE(noise_track_features(two).has_value());
  two.push_back(Image(10, 10, 3));  // unusable: still two usable crops
  EXPECT_FALSE(noise_track_features(two).has_value());
}

TEST(NoiseFeatures, TheTrackMedianIgnoresAFewOddFrames) {
  // Eight untouched frames and two with a smoothed face: the median stays untouched.
  std::vector<Image> crops;
  for (uint32_t s = 0; s < 10; ++s) crops.push_back(make_crop(10 + s, 8.0, s < 2));
  auto row = noise_track_features(crops);
  ASSERT_TRUE(row.has_value());
  EXPECT_NEAR((*row)[0], 0.0f, 0.25f);
}

Result<FeatureTrainResult> tiny_model() {
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  for (uint32_t seed = 0; seed < 16; ++seed) {
    const bool fake = seed % 2 == 1;
    std::vector<Image> crops;
    for (uint32_t k = 0; k < 3; ++k) crops.push_back(make_crop(100 + 3 * seed + k, 4.0 + seed % 5, fake));
    auto f = noise_track_features(crops);
    if (!f) return Status::internal("noise_test", "no features");
    rows.push_back(*f);
    labels.push_back(fake ? 1 : 0);
    is_val.push_back(seed >= 12);
  }
  FeatureTrainOptions opts;
  opts.epochs = 40;
  opts.batch_size = 4;
  opts.learning_rate = 0.05;
  opts.seed = 3;
  opts.feature_version = kNoiseFeatureVersion;
  opts.extra_metadata = {{"real_noise_ratio_median", format_floats({rows[0][0]})}};
  return train_feature_classifier(rows, labels, is_val, opts);
}

TrackSeries series_of(std::vector<Image> crops) {
  TrackSeries t;
  t.fps = 25;
  for (size_t i = 0; i < crops.size(); ++i) {
    t.pts_us.push_back(static_cast<int64_t>(i) * 40000);
    t.landmarks.push_back({});
    t.boxes.push_back({});
    t.detected.push_back(true);
    t.crop_index.push_back(i);
  }
  t.crops = std::move(crops);
  return t;
}

TEST(NoiseDetector, APastedSmoothFaceScoresHigherThanTheUntouchedFrame) {
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  auto detector = make_noise_detector(trained->model, "test model");
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->info().name, "noise");
  EXPECT_EQ((*detector)->info().kind, DetectorKind::kTrack);
  ASSERT_TRUE((*detector)->alignment().has_value());
  EXPECT_EQ((*detector)->alignment()->size_px, kNoiseCropPx);

  std::vector<Image> real_crops, fake_crops;
  for (uint32_t k = 0; k < 5; ++k) {
    real_crops.push_back(make_crop(500 + k, 6.0, false));
    fake_crops.push_back(make_crop(500 + k, 6.0, true));  // the same frames, face smoothed
  }
  auto real = (*detector)->score(series_of(real_crops));
  auto fake = (*detector)->score(series_of(fake_crops));
  ASSERT_TRUE(real.ok() && fake.ok());
  ASSERT_TRUE(real->score.has_value() && fake->score.has_value());
  EXPECT_GT(*fake->score, *real->score + 0.3);
  EXPECT_GT(*fake->score, 0.5);
  EXPECT_LT(*real->score, 0.5);
  ASSERT_FALSE(fake->evidence.empty());
  EXPECT_NE(fake->evidence[0].find("face noise"), std::string::npos) << fake->evidence[0];

  auto none = (*detector)->score(series_of({make_crop(9, 6.0, false)}));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->score.has_value());
}

TEST(NoiseDetector, MissingOrCorruptModelIsAModelError) {
  testing::TempDir dir;
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  expect_track_model_file_checks(dir, "noise", trained->model);
}

}  // namespace
}  // namespace unmask::detect
