#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "detect/detect.h"
#include "detect/expression.h"
#include "detect/feature_model.h"
#include "model_file_checks.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

// 68 landmarks of a Debian-shipped photo annotated by hand (dlib's example data).
face::Landmarks annotated_face() {
  for (const auto& photo : testing::debian_annotated_faces()) {
    for (const auto& f : photo.faces) {
      if (f.landmarks.size() != face::kNumLandmarks) continue;
      face::Landmarks l{};
      for (int i = 0; i < face::kNumLandmarks; ++i) l[i] = {f.landmarks[i].first, f.landmarks[i].second};
      return l;
    }
  }
  ADD_FAILURE() << "no annotated face";
  return {};
}

face::Landmarks transformed(const face::Landmarks& l, double angle_deg, double scale, double dx, double dy) {
  const double a = angle_deg * M_PI / 180, c = std::cos(a) * scale, s = std::sin(a) * scale;
  face::Landmarks out{};
  for (int i = 0; i < face::kNumLandmarks; ++i) out[i] = {c * l[i].x - s * l[i].y + dx, s * l[i].x + c * l[i].y + dy};
  return out;
}

face::Landmarks with_brows_raised(face::Landmarks l, double px) {
  for (int i = 17; i <= 26; ++i) l[i].y -= px;
  return l;
}

// A track of n frames at 25 fps; brow raise of frame i given in pixels by raise(i), the head
// drifting and rolling slowly.
template <typename F>
TrackSeries track_of(const face::Landmarks& face, int n, F raise) {
  TrackSeries t;
  t.fps = 25;
  for (int i = 0; i < n; ++i) {
    t.pts_us.push_back(static_cast<int64_t>(i) * 40000);
    t.landmarks.push_back(transformed(with_brows_raised(face, raise(i)), 0.2 * i / 25.0, 1.0, 2.0 * i / 25.0, 0));
    t.boxes.push_back({});
    t.detected.push_back(true);
  }
  return t;
}

TEST(BrowRaise, RisesWithTheBrowsAndIgnoresRollScaleAndShift) {
  const face::Landmarks face = annotated_face();
  const auto base = brow_raise(face);
  ASSERT_TRUE(base.has_value());
  EXPECT_GT(*base, 0.0) << "brows are above the eyes";
  const auto raised = brow_raise(with_brows_raised(face, 5));
  ASSERT_TRUE(raised.has_value());
  EXPECT_GT(*raised, *base + 0.02);
  const auto moved = brow_raise(transformed(face, 12, 1.7, 40, -25));
  ASSERT_TRUE(moved.has_value());
  EXPECT_NEAR(*moved, *base, 1e-9);

  face::Landmarks flat{};  // every point at one place: no eye line
  EXPECT_FALSE(brow_raise(flat).has_value());
}

TEST(WindowActivity, ARampGivesItsRiseOverTwoSecondsWhateverTheLength) {
  // 0.1 per second: a 2 s window spans 49 frame intervals, 0.196.
  std::vector<double> ramp4, ramp10, flat(100, 0.3);
  for (int i = 0; i < 250; ++i) {
    if (i < 100) ramp4.push_back(0.1 * i / 25.0);
    ramp10.push_back(0.1 * i / 25.0);
  }
  EXPECT_NEAR(window_activity(ramp4, 25.0), 0.196, 0.005);
  EXPECT_NEAR(window_activity(ramp10, 25.0), 0.196, 0.005);
  EXPECT_NEAR(window_activity(flat, 25.0), 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(window_activity({1.0}, 25.0)));
  EXPECT_TRUE(std::isnan(window_activity(ramp4, 0.0)));
}

TEST(WindowActivity, OneFrameSpikesAreIgnored) {
  std::vector<double> v(100, 0.2);
  v[30] = 0.9;  // one frame of landmark jitter
  v[70] = -0.5;
  EXPECT_NEAR(window_activity(v, 25.0), 0.0, 1e-12);
}

TEST(BrowActivity, MovingBrowsScoreAboveStillOnesAndShortTracksAreNotJudged) {
  const face::Landmarks face = annotated_face();
  auto still = brow_activity(track_of(face, 100, [](int) { return 0.0; }));
  auto moving = brow_activity(track_of(face, 100, [](int i) { return 4.0 * std::sin(i / 6.0); }));
  ASSERT_TRUE(still.has_value() && moving.has_value());
  EXPECT_LT(*still, 1e-6) << "a still brow on a drifting, rolling head";
  EXPECT_GT(*moving, 0.05);
  EXPECT_FALSE(brow_activity(track_of(face, 40, [](int) { return 0.0; })).has_value()) << "1.6 s";
  auto f = expression_features(track_of(face, 100, [](int) { return 0.0; }));
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->size(), static_cast<size_t>(kExpressionFeatureCount));
  EXPECT_NEAR((*f)[0], std::log(1e-3), 1e-3);
}

TEST(BrowActivity, WindowsStayInsideStretchesWithoutAGap) {
  // Two 3 s stretches 20 s apart, each with a still brow at its own height: as scan hands over
  // a long track in chunks. No window may span the jump between them.
  const face::Landmarks face = annotated_face();
  TrackSeries a = track_of(face, 75, [](int) { return 0.0; });
  TrackSeries b = track_of(face, 75, [](int) { return 6.0; });
  TrackSeries chunks = a;
  for (size_t i = 0; i < b.landmarks.size(); ++i) {
    chunks.pts_us.push_back(b.pts_us[i] + 23'000'000);
    chunks.landmarks.push_back(b.landmarks[i]);
    chunks.boxes.push_back({});
    chunks.detected.push_back(true);
  }
  auto activity = brow_activity(chunks);
  ASSERT_TRUE(activity.has_value());
  EXPECT_LT(*activity, 1e-6);

  // A 1.5 s stretch is too short to judge on its own; the 3 s one still is.
  TrackSeries short_and_long = track_of(face, 38, [](int) { return 0.0; });
  for (size_t i = 0; i < b.landmarks.size(); ++i) {
    short_and_long.pts_us.push_back(b.pts_us[i] + 10'000'000);
    short_and_long.landmarks.push_back(b.landmarks[i]);
    short_and_long.boxes.push_back({});
    short_and_long.detected.push_back(true);
  }
  ASSERT_TRUE(brow_activity(short_and_long).has_value());
  EXPECT_LT(*brow_activity(short_and_long), 1e-6);
  EXPECT_FALSE(brow_activity(track_of(face, 38, [](int) { return 0.0; })).has_value());
}

// A logistic model trained on toy rows: still brows (fake) against moving ones (real).
Result<FeatureTrainResult> tiny_model(bool with_median = true) {
  const face::Landmarks face = annotated_face();
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  for (int k = 0; k < 16; ++k) {
    const bool fake = k % 2 == 1;
    const double amplitude = fake ? 0.2 + 0.05 * k : 2.0 + 0.3 * k;
    auto f = expression_features(track_of(face, 75, [&](int i) { return amplitude * std::sin(i / (3.0 + k % 4)); }));
    if (!f) return Status::internal("expression_test", "no features");
    rows.push_back(*f);
    labels.push_back(fake ? 1 : 0);
    is_val.push_back(k >= 12);
  }
  FeatureTrainOptions opts;
  opts.epochs = 60;
  opts.batch_size = 4;
  opts.learning_rate = 0.05;
  opts.seed = 3;
  opts.feature_version = kExpressionFeatureVersion;
  if (with_median) opts.extra_metadata = {{"real_brow_activity_median", format_floats({0.15f})}};
  return train_feature_classifier(rows, labels, is_val, opts);
}

TEST(ExpressionDetector, StillBrowsScoreHigherThanMovingOnes) {
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  auto detector = make_expression_detector(trained->model, "test model");
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->info().name, "expression");
  EXPECT_EQ((*detector)->info().kind, DetectorKind::kTrack);
  EXPECT_FALSE((*detector)->alignment().has_value());  // landmarks only: scan cuts no crops for it

  const face::Landmarks face = annotated_face();
  auto still = (*detector)->score(track_of(face, 100, [](int i) { return 0.3 * std::sin(i / 5.0); }));
  auto moving = (*detector)->score(track_of(face, 100, [](int i) { return 5.0 * std::sin(i / 5.0); }));
  ASSERT_TRUE(still.ok() && moving.ok());
  ASSERT_TRUE(still->score.has_value() && moving->score.has_value());
  EXPECT_GT(*still->score, 0.5);
  EXPECT_LT(*moving->score, 0.5);
  ASSERT_FALSE(still->evidence.empty());
  EXPECT_NE(still->evidence[0].find("hardly move"), std::string::npos) << still->evidence[0];
  EXPECT_EQ(moving->evidence[0].find("hardly move"), std::string::npos) << moving->evidence[0];

  TrackSeries untimed = track_of(face, 100, [](int) { return 0.0; });
  untimed.pts_us.clear();  // a caller that gives no frame times: judged at the track's fps
  auto judged = (*detector)->score(untimed);
  ASSERT_TRUE(judged.ok() && judged->score.has_value());
  EXPECT_NE(judged->evidence[0].find("over 4.0 s"), std::string::npos) << judged->evidence[0];

  auto short_track = (*detector)->score(track_of(face, 30, [](int) { return 0.0; }));
  ASSERT_TRUE(short_track.ok());
  EXPECT_FALSE(short_track->score.has_value());
}

TEST(ExpressionDetector, MissingCorruptOrIncompleteModelIsAModelError) {
  auto without_median = tiny_model(false);
  ASSERT_TRUE(without_median.ok());
  auto incomplete = make_expression_detector(without_median->model, "test model");
  ASSERT_FALSE(incomplete.ok());
  EXPECT_EQ(incomplete.status().code(), StatusCode::kModel);

  testing::TempDir dir;
  auto trained = tiny_model();
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  expect_track_model_file_checks(dir, "expression", trained->model);
}

}  // namespace
}  // namespace unmask::detect
