#include <cmath>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "detect/cv_image.h"
#include "detect/detect.h"
#include "detect/feature_model.h"
#include "detect/interpolation.h"
#include "support/face_fixtures.h"
#include "model_file_checks.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

// A track of n frames at `fps` whose face detail is a slow drift plus noise plus `step` added on
// every second frame (what frames made by interpolation give, with step < 0 for the soft ones).
TrackSeries track_of(int n, double fps, double step, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.02);
  TrackSeries t;
  t.fps = fps;
  for (int i = 0; i < n; ++i) {
    t.pts_us.push_back(std::llround(i * 1e6 / fps));
    t.landmarks.push_back({});
    t.boxes.push_back({});
    t.detected.push_back(true);
    t.face_detail.push_back(static_cast<float>(2.0 + 0.1 * std::sin(i / 20.0) + noise(rng) + (i % 2 ? step : 0.0)));
  }
  return t;
}

TEST(InterpolationEvidence, AFaceSofterEverySecondFrameStandsFarAboveCameraNoise) {
  const auto camera = interpolation_evidence(track_of(150, 25, 0.0, 1));
  const auto doubled = interpolation_evidence(track_of(300, 50, -0.06, 1));
  ASSERT_TRUE(camera && doubled);
  EXPECT_LT(camera->median_z, 2.5) << "without alternation z is about |N(0, 1)|";
  EXPECT_GT(doubled->median_z, 8.0);
  EXPECT_NEAR(doubled->median_step, 0.06, 0.02);
  // 2 s windows every 1 s: 150 frames at 25 fps give (150 - 50) / 25 + 1 windows.
  EXPECT_EQ(camera->n_windows, 5);
}

TEST(InterpolationEvidence, WindowsStayInsideRunsOfConsecutiveMeasuredFrames) {
  TrackSeries t = track_of(200, 25, -0.06, 2);
  // A gap in time (a long track kept as chunks) and an unmeasured frame: neither is bridged.
  for (size_t i = 100; i < t.pts_us.size(); ++i) t.pts_us[i] += 2'000'000;
  t.face_detail[40] = NAN;
  const auto e = interpolation_evidence(t);
  ASSERT_TRUE(e.has_value());
  // Stretches 0-39 (under one window), 41-99 (59 frames: 1 window), 100-199 (100 frames: 3).
  EXPECT_EQ(e->n_windows, 4);
  // Shifting one stretch by one frame flips its parity: the statistic takes |X|, so it still
  // stands out.
  EXPECT_GT(e->median_z, 8.0);
}

TEST(InterpolationEvidence, NotJudgedWithoutEveryFrameOrWithUnder2Seconds) {
  TrackSeries fast = track_of(150, 25, -0.06, 3);
  fast.face_detail.clear();  // scan --fast tracks every other frame and measures none
  EXPECT_FALSE(interpolation_evidence(fast).has_value());
  EXPECT_FALSE(interpolation_evidence(track_of(45, 25, -0.06, 3)).has_value());
  TrackSeries mismatched = track_of(150, 25, -0.06, 3);
  mismatched.face_detail.pop_back();
  EXPECT_FALSE(interpolation_evidence(mismatched).has_value());
  EXPECT_FALSE(interpolation_features(fast).has_value());
}

TEST(FaceDetail, ABlurredFaceHasLessDetailAndATinyOrOutsideBoxNone) {
  Image frame = testing::make_textured_background(320, 240, 0);
  testing::paste(frame, testing::face_photo("tom", 160), 80, 40);
  const Box box{100, 70, 120, 130};
  Image blurred = frame;
  cv::Mat roi = as_mat(blurred)(cv::Rect(100, 70, 120, 130));
  cv::GaussianBlur(roi.clone(), roi, cv::Size(0, 0), 1.5);
  const float sharp = face_detail(frame, box), soft = face_detail(blurred, box);
  ASSERT_TRUE(std::isfinite(sharp) && std::isfinite(soft));
  EXPECT_LT(soft, sharp - 0.3f);
  EXPECT_TRUE(std::isnan(face_detail(frame, Box{10, 10, 8, 8})));
  EXPECT_TRUE(std::isnan(face_detail(frame, Box{400, 300, 50, 50})));
  EXPECT_FLOAT_EQ(face_detail(frame, Box{-20, -20, 140, 140}), face_detail(frame, Box{0, 0, 120, 120}));
}

// A logistic model trained on toy rows: alternating tracks (fake) against camera-like ones.
Result<FeatureTrainResult> tiny_model() {
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  for (int k = 0; k < 16; ++k) {
    const bool fake = k % 2 == 1;
    auto f = interpolation_features(track_of(200, 50, fake ? -0.03 - 0.005 * k : 0.0, 10 + k));
    if (!f) return Status::internal("interpolation_test", "no features");
    rows.push_back(*f);
    labels.push_back(fake ? 1 : 0);
    is_val.push_back(k >= 12);
  }
  FeatureTrainOptions opts;
  opts.epochs = 60;
  opts.batch_size = 4;
  opts.learning_rate = 0.05;
  opts.seed = 3;
  opts.feature_version = kInterpolationFeatureVersion;
  return train_feature_classifier(rows, labels, is_val, opts);
}

TEST(InterpolationDetector, DoubledFramesScoreHigherThanCameraFramesAndSayWhy) {
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  auto detector = make_interpolation_detector(trained->model, "test model");
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->info().name, "interpolation");
  EXPECT_EQ((*detector)->info().kind, DetectorKind::kTrack);
  EXPECT_FALSE((*detector)->alignment().has_value());  // reads face_detail: scan cuts no crops for it

  auto doubled = (*detector)->score(track_of(250, 50, -0.05, 40));
  auto camera = (*detector)->score(track_of(250, 50, 0.0, 41));
  ASSERT_TRUE(doubled.ok() && camera.ok());
  ASSERT_TRUE(doubled->score.has_value() && camera->score.has_value());
  EXPECT_GT(*doubled->score, 0.5);
  EXPECT_LT(*camera->score, 0.5);
  ASSERT_FALSE(doubled->evidence.empty());
  EXPECT_NE(doubled->evidence[0].find("every second frame 5% softer"), std::string::npos) << doubled->evidence[0];

  TrackSeries fast = track_of(250, 50, -0.05, 40);
  fast.face_detail.clear();
  auto unjudged = (*detector)->score(fast);
  ASSERT_TRUE(unjudged.ok());
  EXPECT_FALSE(unjudged->score.has_value());
}

TEST(InterpolationDetector, MissingOrCorruptModelIsAModelError) {
  testing::TempDir dir;
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  expect_track_model_file_checks(dir, "interpolation", trained->model);
}

}  // namespace
}  // namespace unmask::detect
