// The spectral detector: the radial spectrum against hand-computed values, the feature vector, a
// tiny model built here that tells an up-sampling checkerboard from the clean crop, bad models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "detect/detector.h"
#include "detect/feature_model.h"
#include "detect/spectral.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

constexpr double kPi = 3.14159265358979323846;

Image grey_image(int size, const std::function<double(int, int)>& value) {
  Image img(size, size, 1);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) img.at(x, y)[0] = static_cast<uint8_t>(std::lround(std::clamp(value(x, y), 0.0, 255.0)));
  }
  return img;
}

size_t argmax(const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

TEST(SpectralFeatures, FlatImageHasOnlyDc) {
  Image flat = grey_image(64, [](int, int) { return 100.0; });
  RadialSpectrum s = radial_power_spectrum(flat, 32, /*windowed=*/false);
  EXPECT_NEAR(s.dc, 100.0 * 100.0, 1e-6);
  ASSERT_EQ(s.bins.size(), 32u);
  for (double b : s.bins) EXPECT_NEAR(b, 0.0, 1e-9);
  // Windowed: the mean is removed first, so nothing is left at all.
  RadialSpectrum w = radial_power_spectrum(flat, 32, /*windowed=*/true);
  for (double b : w.bins) EXPECT_NEAR(b, 0.0, 1e-9);
}

TEST(SpectralFeatures, SinusoidGratingPutsItsEnergyInTheExpectedBin) {
  // 8 cycles across 64 px: frequency 0.125 cycles/px; 32 bins over (0, sqrt(0.5)] are 0.0221
  // wide, so r = 0.125 (5.66 bin widths) lands in bin 5.
  Image vertical = grey_image(64, [](int x, int) { return 128 + 60 * std::cos(2 * kPi * 8 * x / 64.0); });
  RadialSpectrum s = radial_power_spectrum(vertical, 32, false);
  EXPECT_EQ(argmax(s.bins), 5u);
  // A cosine of amplitude A puts A^2/4 at each of +-f; bin 7 averages them with the other
  // frequencies of its ring (all zero).
  double others = 0;
  for (size_t i = 0; i < s.bins.size(); ++i) {
    if (i != 5) others = std::max(others, s.bins[i]);
  }
  EXPECT_GT(s.bins[5], 1000.0 * others + 1e-9);
  EXPECT_NEAR(s.dc, 128.0 * 128.0, 2.0);  // rounding to 8 bits moves the mean a little

  // A diagonal grating (6, 8) cycles: radius 10/64 = 7.07 bin widths -> bin 7.
  Image diagonal = grey_image(64, [](int x, int y) { return 128 + 60 * std::cos(2 * kPi * (6 * x + 8 * y) / 64.0); });
  EXPECT_EQ(argmax(radial_power_spectrum(diagonal, 32, false).bins), 7u);
  // The period-2 checkerboard sits in the corner (0.5, 0.5): the last bin.
  Image checker = grey_image(64, [](int x, int y) { return (x + y) % 2 == 0 ? 160.0 : 96.0; });
  EXPECT_EQ(argmax(radial_power_spectrum(checker, 32, false).bins), 31u);

  // Windowing spreads the line over its neighbours but keeps it there.
  size_t windowed_peak = argmax(radial_power_spectrum(vertical, 32, true).bins);
  EXPECT_GE(windowed_peak, 4u);
  EXPECT_LE(windowed_peak, 6u);
}

Image textured_crop(uint32_t seed) {
  // A smooth random field: sum of a few low-frequency waves, like skin and shading.
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  double fx[4], fy[4], ph[4], amp[4];
  for (int k = 0; k < 4; ++k) {
    fx[k] = 1 + 5 * u(rng);
    fy[k] = 1 + 5 * u(rng);
    ph[k] = 2 * kPi * u(rng);
    amp[k] = 15 + 25 * u(rng);
  }
  std::normal_distribution<double> noise(0, 2.0);
  Image img(kSpectralCropPx, kSpectralCropPx, 3);
  for (int y = 0; y < kSpectralCropPx; ++y) {
    for (int x = 0; x < kSpectralCropPx; ++x) {
      double v = 120;
      for (int k = 0; k < 4; ++k) v += amp[k] * std::sin(2 * kPi * (fx[k] * x + fy[k] * y) / kSpectralCropPx + ph[k]);
      v += noise(rng);
      for (int c = 0; c < 3; ++c) img.at(x, y)[c] = static_cast<uint8_t>(std::clamp(std::lround(v + 5 * c), 0L, 255L));
    }
  }
  return img;
}

// The transposed-convolution checkerboard: +-a on a period-2 grid.
Image with_checkerboard(const Image& clean, int amplitude) {
  Image out = clean;
  for (int y = 0; y < out.height_px(); ++y) {
    for (int x = 0; x < out.width_px(); ++x) {
      const int sign = ((x + y) % 2 == 0) ? 1 : -1;
      for (int c = 0; c < out.channels(); ++c) {
        out.at(x, y)[c] = static_cast<uint8_t>(std::clamp(out.at(x, y)[c] + sign * amplitude, 0, 255));
      }
    }
  }
  return out;
}

TEST(SpectralFeatures, HaveTheStatedLengthAndAreDeterministic) {
  Image crop = textured_crop(3);
  std::vector<float> a = spectral_features(crop);
  ASSERT_EQ(a.size(), static_cast<size_t>(kSpectralFeatureCount));
  for (float v : a) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(a, spectral_features(crop));
  // The checkerboard raises the top of the spectrum (tail-level feature 49).
  std::vector<float> b = spectral_features(with_checkerboard(crop, 6));
  EXPECT_GT(b[49], a[49] + 0.5f);
  // Any size works: a larger crop is resized to kSpectralCropPx first.
  EXPECT_EQ(spectral_features(testing::resize_bilinear(crop, 150, 150)).size(), static_cast<size_t>(kSpectralFeatureCount));
}

TEST(SpectralDetector, TinyModelScoresTheUpsamplingPatternAboveTheCleanCrop) {
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  for (uint32_t seed = 0; seed < 24; ++seed) {
    Image clean = textured_crop(100 + seed);
    const int amplitude = 3 + static_cast<int>(seed % 4);
    rows.push_back(spectral_features(clean));
    labels.push_back(0);
    rows.push_back(spectral_features(with_checkerboard(clean, amplitude)));
    labels.push_back(1);
    is_val.push_back(seed % 4 == 0);
    is_val.push_back(seed % 4 == 0);
  }
  FeatureTrainOptions opts;
  opts.hidden_widths = {8};
  opts.epochs = 30;
  opts.batch_size = 8;
  opts.learning_rate = 0.01;
  opts.seed = 5;
  opts.feature_version = kSpectralFeatureVersion;
  auto trained = train_feature_classifier(rows, labels, is_val, opts);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  auto detector = make_spectral_detector(trained->model, "test model");
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->info().name, "spectral");
  EXPECT_EQ((*detector)->alignment().size_px, kSpectralCropPx);

  std::vector<Image> crops;
  for (uint32_t seed = 0; seed < 4; ++seed) {
    Image clean = textured_crop(900 + seed);
    crops.push_back(clean);
    crops.push_back(with_checkerboard(clean, 4));
  }
  auto scores = (*detector)->score(crops);
  ASSERT_TRUE(scores.ok()) << scores.status().message();
  ASSERT_EQ(scores->size(), crops.size());
  for (size_t i = 0; i < crops.size(); i += 2) {
    EXPECT_GT((*scores)[i + 1].score, (*scores)[i].score + 0.3) << "pair " << i / 2;
    EXPECT_GE((*scores)[i].score, 0.0);
    EXPECT_LE((*scores)[i + 1].score, 1.0);
  }
}

TEST(SpectralDetector, RealFacePhotoGivesAProbability) {
  // A Debian-shipped photo through the whole crop path (align, features) with a model that has
  // the right metadata: the score is a probability, and empty crops are an input error.
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  for (uint32_t seed = 0; seed < 8; ++seed) {
    rows.push_back(spectral_features(textured_crop(seed)));
    labels.push_back(static_cast<int>(seed % 2));
    is_val.push_back(seed >= 4);
  }
  FeatureTrainOptions opts;
  opts.hidden_widths = {4};
  opts.epochs = 2;
  opts.batch_size = 4;
  opts.feature_version = kSpectralFeatureVersion;
  auto trained = train_feature_classifier(rows, labels, is_val, opts);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  auto detector = make_spectral_detector(trained->model, "test model");
  ASSERT_TRUE(detector.ok());
  Image photo = testing::face_photo("tom", 200);
  auto scores = (*detector)->score({&photo, 1});
  ASSERT_TRUE(scores.ok());
  EXPECT_GT((*scores)[0].score, 0.0);
  EXPECT_LT((*scores)[0].score, 1.0);
  Image empty;
  auto bad = (*detector)->score({&empty, 1});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInput);
}

TEST(SpectralDetector, MissingOrCorruptModelIsAModelError) {
  testing::TempDir dir;
  auto missing = load_detectors(dir.path().string(), {"spectral"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kModel);
  EXPECT_NE(missing.status().message().find("spectral.unm"), std::string::npos) << missing.status().message();

  std::ofstream(dir.file("spectral.unm"), std::ios::binary) << "UNMASKNN garbage that is not a model";
  auto corrupt = load_detectors(dir.path().string(), {"spectral"});
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kModel);

  // A well-formed mlp without the detector's metadata (no scaler, no calibration).
  auto spec = nn::default_spec("mlp");
  ASSERT_TRUE(spec.ok());
  spec->n_features = kSpectralFeatureCount;
  auto net = nn::Trainable::create(*spec, 1, {});
  ASSERT_TRUE(net.ok());
  auto frozen = net->freeze();
  ASSERT_TRUE(frozen.ok());
  ASSERT_TRUE(frozen->save(dir.file("spectral.unm"), {{"features", kSpectralFeatureVersion}}).is_ok());
  auto bare = load_detectors(dir.path().string(), {"spectral"});
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().code(), StatusCode::kModel);
  EXPECT_NE(bare.status().message().find("feature_mean"), std::string::npos) << bare.status().message();
}

}  // namespace
}  // namespace unmask::detect
