// The tracker's building blocks, each alone with hand-built inputs.
#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

#include "face/stages.h"
#include "face_test_util.h"
#include "support/face_fixtures.h"

namespace unmask::face::detail {
namespace {

TEST(OneEuroFilter, RemovesJitterAtRest) {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 1.0);
  OneEuroFilter f(1.5, 4.0);
  double raw_var = 0, out_var = 0;
  for (int i = 0; i < 300; ++i) {
    const double x = 100 + noise(rng);
    const double y = f.filter(x, 1.0 / 25, 50.0);
    if (i > 25) {
      raw_var += (x - 100) * (x - 100);
      out_var += (y - 100) * (y - 100);
    }
  }
  EXPECT_LT(out_var, 0.3 * raw_var);
}

TEST(OneEuroFilter, FollowsFastMotionWithSmallLag) {
  // 250 px/s at 25 fps, face spread 50 px: the lag stays within about a frame's motion.
  OneEuroFilter f(1.5, 4.0);
  double y = 0;
  for (int i = 0; i < 75; ++i) y = f.filter(10.0 * i, 1.0 / 25, 50.0);
  EXPECT_NEAR(y, 740.0, 10.0);
}

TEST(SceneCutDetector, ThumbnailIsOpenCvsAreaResizeExactly) {
  // The scene-cut thumbnail of frames a whole multiple of 64x36 is summed directly instead of by
  // cv::resize(INTER_AREA): the pixels must be OpenCV's, on noise (every rounding case) and on a
  // smooth gradient, at 720p, 1080p, 2160p (60-row blocks), 640x360 and 192x108; other sizes, and
  // blocks taller than 16-bit column sums hold (257 rows), are declined (cv::resize does them).
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const auto& [w, h] : {std::pair{1280, 720}, std::pair{1920, 1080}, std::pair{3840, 2160}, std::pair{640, 360},
                             std::pair{192, 108}}) {
    for (int kind = 0; kind < 2; ++kind) {
      cv::Mat src(h, w, CV_8UC3);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w * 3; ++x) src.ptr<uint8_t>(y)[x] = kind == 0 ? byte(rng) : static_cast<uint8_t>((x / 3 + 2 * y + x % 3 * 50) % 256);
      cv::Mat want, got;
      cv::resize(src, want, cv::Size(64, 36), 0, 0, cv::INTER_AREA);
      ASSERT_TRUE(area_thumbnail(src, 64, 36, got)) << w << "x" << h;
      ASSERT_EQ(got.size(), want.size());
      EXPECT_EQ(cv::norm(got, want, cv::NORM_INF), 0.0) << w << "x" << h << " kind " << kind;
    }
  }
  cv::Mat odd(480, 854, CV_8UC3, cv::Scalar(1, 2, 3)), half(72, 128, CV_8UC3, cv::Scalar(1, 2, 3)), thumb;
  EXPECT_FALSE(area_thumbnail(odd, 64, 36, thumb));
  EXPECT_FALSE(area_thumbnail(half, 64, 36, thumb));  // 2x2: OpenCV's SIMD path rounds halves up
  cv::Mat tall(36 * 258, 64 * 3, CV_8UC3, cv::Scalar(255, 255, 255));
  EXPECT_FALSE(area_thumbnail(tall, 64, 36, thumb));  // 258 rows of 255 overflow a 16-bit sum
}

TEST(SceneCutDetector, CutBetweenShotsButNotWithinOne) {
  SceneCutDetector cuts;
  testing::FaceClipSpec spec;
  testing::Sprite face;
  face.image = testing::face_photo("tom", 140);
  face.top_left = testing::linear_path(0, 40, 480, 100, 40);
  spec.sprites.push_back(face);
  // A face sliding over one background: no cuts.
  for (int i = 0; i < 40; ++i) EXPECT_FALSE(cuts.update(testing::render_face_frame(spec, i))) << i;
  // A different background: a cut, once.
  EXPECT_TRUE(cuts.update(testing::make_textured_background(640, 360, 2)));
  EXPECT_FALSE(cuts.update(testing::make_textured_background(640, 360, 2)));
  // With a face in both shots.
  cuts.reset();
  spec.sprites[0].top_left = [](int) { return std::pair<int, int>{200, 40}; };
  EXPECT_FALSE(cuts.update(testing::render_face_frame(spec, 0)));
  spec.background = [](int) { return testing::make_textured_background(640, 360, 2); };
  EXPECT_TRUE(cuts.update(testing::render_face_frame(spec, 1))) << cuts.last_histogram_distance() << " " << cuts.last_pixel_distance();
}

TEST(BoxCalibration, RoundTripsABox) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(50, 150);
  Landmarks l;
  for (auto& p : l) p = {u(rng), u(rng)};
  const Box box{60, 55, 90, 92};
  const BoxCalibration c = calibrate(box, l);
  Box back = box_from_landmarks(l, c);
  EXPECT_NEAR(back.x, box.x, 1e-9);
  EXPECT_NEAR(back.y, box.y, 1e-9);
  EXPECT_NEAR(back.w, box.w, 1e-9);
  EXPECT_NEAR(back.h, box.h, 1e-9);
  // Moving and scaling the landmarks moves and scales the box with them.
  Landmarks moved = l;
  for (auto& p : moved) p = {2 * p.x + 10, 2 * p.y - 5};
  back = box_from_landmarks(moved, c);
  EXPECT_NEAR(back.x, 2 * box.x + 10, 1e-9);
  EXPECT_NEAR(back.w, 2 * box.w, 1e-9);
}

}  // namespace
}  // namespace unmask::face::detail
