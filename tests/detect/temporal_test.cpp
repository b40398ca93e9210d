// The temporal detector on synthetic landmark series: blink counting, the jitter feature, short
// tracks, seam flicker from crops, a tiny model built here, and bad model files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "detect/detector.h"
#include "detect/feature_model.h"
#include "detect/temporal.h"
#include "model_file_checks.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A frontal face of 68 points: jaw on an arc, brows, nose, eyes with a given opening (eye aspect
// ratio = 2 * h / w for this hexagon), mouth. Inter-ocular distance 60 px, centred at (cx, cy).
face::Landmarks synthetic_face(double cx, double cy, double eye_open) {
  face::Landmarks l{};
  for (int i = 0; i <= 16; ++i) {
    const double a = kPi * (0.05 + 0.9 * i / 16.0);
    l[i] = {cx - 70 * std::cos(a), cy + 10 + 75 * std::sin(a) - 40};
  }
  for (int i = 0; i < 5; ++i) {
    l[17 + i] = {cx - 55 + 10 * i, cy - 40 - (i == 2 ? 4 : 0)};
    l[22 + i] = {cx + 15 + 10 * i, cy - 40 - (i == 2 ? 4 : 0)};
  }
  for (int i = 0; i < 4; ++i) l[27 + i] = {cx, cy - 20 + 9 * i};
  for (int i = 0; i < 5; ++i) l[31 + i] = {cx - 12 + 6 * i, cy + 18};
  const double w = 24, h = eye_open * w / 2;
  for (int e = 0; e < 2; ++e) {
    const double ex = cx + (e == 0 ? -30 : 30), ey = cy - 22;
    const int p = e == 0 ? 36 : 42;
    l[p + 0] = {ex - w / 2, ey};
    l[p + 1] = {ex - w / 6, ey - h};
    l[p + 2] = {ex + w / 6, ey - h};
    l[p + 3] = {ex + w / 2, ey};
    l[p + 4] = {ex + w / 6, ey + h};
    l[p + 5] = {ex - w / 6, ey + h};
  }
  for (int i = 0; i < 12; ++i) {
    const double a = 2 * kPi * i / 12;
    l[48 + i] = {cx + 25 * std::cos(a), cy + 40 + 10 * std::sin(a)};
  }
  for (int i = 0; i < 8; ++i) {
    const double a = 2 * kPi * i / 8;
    l[60 + i] = {cx + 15 * std::cos(a), cy + 40 + 4 * std::sin(a)};
  }
  return l;
}

struct SeriesSpec {
  double seconds = 10.0;
  double fps = 25.0;
  std::vector<double> blink_times_s = {};  // each blink: 0.2 s closing and reopening
  double jitter_px = 0.0;             // Gaussian noise on every landmark, independent per frame
  uint32_t seed = 1;
};

TrackSeries make_series(const SeriesSpec& spec) {
  TrackSeries t;
  t.fps = spec.fps;
  std::mt19937 rng(spec.seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  const int n = static_cast<int>(std::lround(spec.seconds * spec.fps));
  for (int i = 0; i < n; ++i) {
    const double ts = i / spec.fps;
    double open = 0.30;
    for (double b : spec.blink_times_s) {
      const double d = std::abs(ts - b);
      if (d < 0.1) open = std::min(open, 0.30 * (0.1 + 0.9 * d / 0.1));  // V-shaped closing
    }
    // Slow head motion: a few px per second, a gentle sway.
    const double cx = 320 + 40 * std::sin(2 * kPi * 0.2 * ts), cy = 240 + 10 * std::sin(2 * kPi * 0.13 * ts);
    face::Landmarks l = synthetic_face(cx, cy, open);
    if (spec.jitter_px > 0) {
      for (auto& p : l) {
        p.x += spec.jitter_px * noise(rng);
        p.y += spec.jitter_px * noise(rng);
      }
    }
    t.pts_us.push_back(static_cast<int64_t>(std::llround(ts * 1e6)));
    t.landmarks.push_back(l);
    t.boxes.push_back(Box{cx - 70, cy - 60, 140, 140});
    t.detected.push_back(true);
  }
  return t;
}

TEST(TemporalFeatures, EyeAspectRatioOfTheSyntheticFace) {
  TrackSeries t = make_series({.seconds = 1.0});
  TemporalSignals s = temporal_signals(t);
  ASSERT_EQ(s.ear.size(), t.pts_us.size());
  EXPECT_NEAR(s.ear[0], 0.30, 1e-9);
}

TEST(TemporalFeatures, CountsAKnownBlinkPattern) {
  TrackSeries t = make_series({.seconds = 12.0, .blink_times_s = {1.0, 3.5, 6.2, 9.0, 11.0}});
  TemporalSignals s = temporal_signals(t);
  BlinkStats b = count_blinks(s.ear, s.t_s);
  EXPECT_EQ(b.n_blinks, 5);
  EXPECT_EQ(b.n_long_closures, 0);
  EXPECT_NEAR(b.rate_per_min, 5 * 60.0 / 12.0, 0.5);
  EXPECT_GT(b.mean_depth, 0.5);
  EXPECT_LT(b.mean_blink_s, 0.3);

  TrackSeries none = make_series({.seconds = 12.0});
  TemporalSignals s0 = temporal_signals(none);
  EXPECT_EQ(count_blinks(s0.ear, s0.t_s).n_blinks, 0);

  // Eyes shut for a whole second is not a blink.
  std::vector<double> ear(250, 0.3), ts(250);
  for (int i = 0; i < 250; ++i) ts[i] = i / 25.0;
  for (int i = 100; i < 125; ++i) ear[i] = 0.05;
  BlinkStats closed = count_blinks(ear, ts);
  EXPECT_EQ(closed.n_blinks, 0);
  EXPECT_EQ(closed.n_long_closures, 1);
}

TEST(TemporalFeatures, AddedJitterRaisesTheJitterFeature) {
  auto clean = temporal_features(make_series({.seconds = 6.0}));
  auto noisy = temporal_features(make_series({.seconds = 6.0, .jitter_px = 1.5}));
  ASSERT_TRUE(clean.has_value());
  ASSERT_TRUE(noisy.has_value());
  ASSERT_EQ(clean->size(), static_cast<size_t>(kTemporalFeatureCount));
  EXPECT_GT((*noisy)[0], (*clean)[0] + 1.0f);  // log median jitter
  EXPECT_GT((*noisy)[2], (*clean)[2] + 1.0f);  // relative to head motion
  // Without crops the flicker features are not measured.
  EXPECT_TRUE(std::isnan((*clean)[8]));
}

TEST(TemporalFeatures, ShortTrackGivesNothing) {
  EXPECT_FALSE(temporal_features(make_series({.seconds = 1.5})).has_value());
  EXPECT_TRUE(temporal_features(make_series({.seconds = 2.5})).has_value());
  EXPECT_FALSE(temporal_features(TrackSeries{}).has_value());
}

// A track whose crops' boundary band changes brightness every frame (flicker) or stays, with the
// given number of channels (3: BGR, 4: BGRA with opaque alpha, 1: grey).
std::optional<std::vector<float>> seam_series_features(bool flicker, int channels) {
  TrackSeries t = make_series({.seconds = 3.0});
  for (size_t i = 0; i < t.pts_us.size(); ++i) {
    Image c(kTemporalCropPx, kTemporalCropPx, channels);
    const int ring = flicker ? static_cast<int>((i * 37) % 40) : 0;
    for (int y = 0; y < kTemporalCropPx; ++y) {
      for (int x = 0; x < kTemporalCropPx; ++x) {
        const double dx = (x - 32.0) / 18.0, dy = (y - 34.0) / 21.0;
        const bool outer = std::hypot(dx, dy) > 0.8;
        for (int ch = 0; ch < std::min(channels, 3); ++ch) {
          c.at(x, y)[ch] = static_cast<uint8_t>(120 + (outer ? ring : 0) + (x % 5));
        }
        if (channels == 4) c.at(x, y)[3] = 255;
      }
    }
    t.crops.push_back(c);
    t.crop_index.push_back(i);
  }
  return temporal_features(t);
}

TEST(TemporalFeatures, SeamFlickerFromCrops) {
  // The boundary/interior flicker ratio (feature 8) is high for the flickering series; a steady
  // crop series gives about 0.
  auto steady = seam_series_features(false, 3);
  auto flickering = seam_series_features(true, 3);
  ASSERT_TRUE(steady && flickering);
  EXPECT_NEAR((*steady)[8], 0.0f, 0.05f);
  EXPECT_GT((*flickering)[8], 2.0f);
}

TEST(TemporalFeatures, CropFeaturesDoNotDependOnTheChannelLayout) {
  // The same grey levels as BGR, BGRA and grey crops: the crop features (8-11) are equal.
  auto bgr = seam_series_features(true, 3);
  auto bgra = seam_series_features(true, 4);
  auto grey = seam_series_features(true, 1);
  ASSERT_TRUE(bgr && bgra && grey);
  for (int k = 8; k < 12; ++k) {
    EXPECT_NEAR((*bgra)[k], (*bgr)[k], 1e-4f) << "feature " << k;
    EXPECT_NEAR((*grey)[k], (*bgr)[k], 1e-4f) << "feature " << k;
  }
}

Result<FeatureTrainResult> tiny_model() {
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  for (uint32_t seed = 0; seed < 16; ++seed) {
    const bool fake = seed % 2 == 1;
    SeriesSpec spec{.seconds = 4.0, .jitter_px = fake ? 1.5 : 0.0, .seed = seed};
    if (!fake) spec.blink_times_s = {1.0, 3.0};
    auto f = temporal_features(make_series(spec));
    for (float& v : *f) {
      if (!std::isfinite(v)) v = 0.0f;
    }
    rows.push_back(*f);
    labels.push_back(fake ? 1 : 0);
    is_val.push_back(seed >= 12);
  }
  FeatureTrainOptions opts;
  opts.epochs = 40;
  opts.batch_size = 4;
  opts.learning_rate = 0.05;
  opts.seed = 3;
  opts.feature_version = kTemporalFeatureVersion;
  opts.extra_metadata = {{"real_log_jitter_ratio_median", format_floats({rows[0][2]})},
                         {"real_blink_rate_median", "15"}};
  return train_feature_classifier(rows, labels, is_val, opts);
}

TEST(TemporalDetector, ScoresJitteryBlinklessTracksHigherAndSaysWhy) {
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  auto detector = make_temporal_detector(trained->model, "test model");
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->info().kind, DetectorKind::kTrack);
  ASSERT_TRUE((*detector)->alignment().has_value());
  EXPECT_EQ((*detector)->alignment()->size_px, kTemporalCropPx);

  auto real = (*detector)->score(make_series({.seconds = 8.0, .blink_times_s = {2.0, 5.0}, .seed = 77}));
  auto fake = (*detector)->score(make_series({.seconds = 8.0, .jitter_px = 1.5, .seed = 78}));
  ASSERT_TRUE(real.ok() && fake.ok());
  ASSERT_TRUE(real->score.has_value() && fake->score.has_value());
  EXPECT_GT(*fake->score, *real->score + 0.3);
  ASSERT_FALSE(fake->evidence.empty());
  EXPECT_EQ(fake->evidence[0].rfind("blinks: ", 0), 0u) << fake->evidence[0];
  auto still = (*detector)->score(make_series({.seconds = 8.0, .seed = 79}));
  ASSERT_TRUE(still.ok() && !still->evidence.empty());
  EXPECT_EQ(still->evidence[0], "blinks: none in 8 s");
  EXPECT_EQ(real->evidence[0].rfind("blinks: 2 in 8 s", 0), 0u) << real->evidence[0];
  bool has_jitter = false;
  for (const auto& e : fake->evidence) has_jitter |= e.find("landmark jitter") != std::string::npos;
  EXPECT_TRUE(has_jitter);

  auto short_track = (*detector)->score(make_series({.seconds = 1.5}));
  ASSERT_TRUE(short_track.ok());
  EXPECT_FALSE(short_track->score.has_value());
  ASSERT_EQ(short_track->evidence.size(), 1u);
  EXPECT_NE(short_track->evidence[0].find("too short"), std::string::npos);

  TrackSeries backwards = make_series({.seconds = 3.0});
  std::swap(backwards.pts_us[3], backwards.pts_us[4]);
  auto bad = (*detector)->score(backwards);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInput);
}

TEST(TemporalDetector, MissingOrCorruptModelIsAModelError) {
  testing::TempDir dir;
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  expect_track_model_file_checks(dir, "temporal", trained->model);

  // A spectral model under the temporal name: wrong feature count.
  auto spec = nn::default_spec("mlp");
  spec->n_features = 5;
  auto net = nn::Trainable::create(*spec, 1, {});
  auto frozen = net->freeze();
  ASSERT_TRUE(frozen->save(dir.file("temporal.unm")).is_ok());
  auto wrong = load_detectors(dir.path().string(), {"temporal"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kModel);
}

}  // namespace
}  // namespace unmask::detect
