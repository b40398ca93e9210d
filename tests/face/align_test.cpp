#include <cmath>
#include <random>

#include "face_test_util.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::face {
namespace {

Landmarks random_landmarks(std::mt19937& rng) {
  std::uniform_real_distribution<double> u(100, 300);
  Landmarks l;
  for (auto& p : l) p = {u(rng), u(rng)};
  return l;
}

TEST(Align, TransformAndInverseRoundTrip) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const Landmarks l = random_landmarks(rng);
    const Affine2 t = alignment_transform(l, {.size_px = 128, .margin = 0.1});
    const Affine2 inv = t.inverse();
    for (const Point2& p : l) {
      const Point2 q = inv.apply(t.apply(p));
      EXPECT_NEAR(q.x, p.x, 1e-9);
      EXPECT_NEAR(q.y, p.y, 1e-9);
    }
    // A similarity: no shear, equal scale on both axes.
    EXPECT_NEAR(t.m[0], t.m[4], 1e-12);
    EXPECT_NEAR(t.m[1], -t.m[3], 1e-12);
  }
}

TEST(Align, RecoversAKnownSimilarity) {
  // Five points placed exactly by a known similarity of the template: the fit must find it, so
  // the aligned points land on the template whatever the rotation, scale and shift.
  const AlignOptions o{.size_px = 256, .margin = 0.25};
  // Put the eye landmarks (36-41, 42-47), nose tip (30) and mouth corners (48, 54) so that
  // five_points() is a rotated, scaled, shifted copy of where alignment maps them.
  const double angle = 0.3, scale = 1.7, tx = 40, ty = -25;
  const Affine2 known{{scale * std::cos(angle), -scale * std::sin(angle), tx, scale * std::sin(angle),
                       scale * std::cos(angle), ty}};
  const Point2 tmpl[5] = {{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}};
  Landmarks l{};
  auto place = [&](int first, int last, Point2 p) {
    for (int i = first; i <= last; ++i) l[i] = known.apply(p);
  };
  place(36, 41, tmpl[0]);
  place(42, 47, tmpl[1]);
  place(30, 30, tmpl[2]);
  place(48, 48, tmpl[3]);
  place(54, 54, tmpl[4]);
  const Affine2 t = alignment_transform(l, o);
  const auto five = five_points(l);
  for (int i = 0; i < 5; ++i) {
    const Point2 q = t.apply(five[i]);
    EXPECT_NEAR(q.x, o.size_px * (tmpl[i].x / 112 + o.margin) / 1.5, 1e-6);
    EXPECT_NEAR(q.y, o.size_px * (tmpl[i].y / 112 + o.margin) / 1.5, 1e-6);
  }
}

TEST(Align, CropOfARealFaceIsUprightAndMapsBack) {
  // The photo on a larger black canvas, so part of the frame lies outside the crop's footprint.
  Image photo(1000, 900, 3);
  testing::paste(photo, testing::face_photo("tom", 400), 300, 250);
  FaceDetector detector(test::models());
  auto faces = detector.detect_faces(photo);
  ASSERT_TRUE(faces.ok());
  ASSERT_EQ(faces->size(), 1u);
  auto aligned = align_face(photo, (*faces)[0].landmarks, {.size_px = 128, .margin = 0.25});
  ASSERT_TRUE(aligned.ok());
  ASSERT_EQ(aligned->crop.width_px(), 128);
  ASSERT_EQ(aligned->crop.height_px(), 128);
  // Eyes level and in the upper half, symmetric about the centre line.
  const auto five = five_points(aligned->landmarks);
  EXPECT_NEAR(five[0].y, five[1].y, 4.0);
  EXPECT_LT(five[0].y, 64);
  EXPECT_NEAR((five[0].x + five[1].x) / 2, 64, 6.0);
  // Landmarks found again inside the crop agree with the mapped ones.
  auto again = detector.detect_faces(testing::resize_bilinear(aligned->crop, 256, 256));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  const auto five_again = five_points((*again)[0].landmarks);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(five_again[i].x / 2, five[i].x, 4.0);
    EXPECT_NEAR(five_again[i].y / 2, five[i].y, 4.0);
  }
  // Pixels round trip: the crop warped back onto the frame matches the frame around the face.
  Image back = unwarp_to_frame(aligned->crop, aligned->crop_to_frame, photo.width_px(), photo.height_px());
  const Box face_box = (*faces)[0].box;
  double diff = 0;
  int n = 0;
  for (int y = static_cast<int>(face_box.y + face_box.h * 0.2); y < face_box.y + face_box.h * 0.8; ++y) {
    for (int x = static_cast<int>(face_box.x + face_box.w * 0.2); x < face_box.x + face_box.w * 0.8; ++x) {
      for (int c = 0; c < 3; ++c) diff += std::abs(int(back.at(x, y)[c]) - int(photo.at(x, y)[c]));
      n += 3;
    }
  }
  EXPECT_LT(diff / n, 8.0);
  // Outside the crop's footprint the unwarped image is 0 (a mask maps back without leaking).
  EXPECT_EQ(back.at(0, 0)[0], 0);
  EXPECT_EQ(back.at(photo.width_px() - 1, photo.height_px() - 1)[1], 0);
}

TEST(Align, EmptyImageIsAnInputError) {
  Landmarks l{};
  auto r = align_face(Image(), l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::face
