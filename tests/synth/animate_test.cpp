#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "face/face.h"
#include "mark/mark.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

constexpr int kW = 480, kH = 320, kFrames = 20, kDriftPx = 60;

// A driver clip of one person ("tom") drifting right with a tone; the photo is another person
// ("girl") on a textured background, at another size.
class AnimateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = face::FaceModels::load();
    ASSERT_TRUE(m.ok()) << m.status().message();
    models_ = *m;
    dir_ = new testing::TempDir();
    testing::FaceClipSpec spec;
    spec.width_px = kW;
    spec.height_px = kH;
    spec.n_frames = kFrames;
    spec.tone_hz = 440;
    testing::Sprite tom;
    tom.image = testing::face_photo("tom", 200);
    tom.top_left = testing::linear_path(100, 10, 100 + kDriftPx, 10, kFrames);
    spec.sprites.push_back(tom);
    testing::write_face_clip(driver(), spec);
    Image canvas = testing::make_textured_background(400, 360, 1);
    testing::paste(canvas, testing::face_photo("girl", 240), 80, 40);
    ASSERT_TRUE(media::write_image(photo(), canvas).is_ok());
    auto summary = animate_files(photo(), driver(), out(), {}, models_);
    ASSERT_TRUE(summary.ok()) << summary.status().message();
    summary_ = *summary;
  }
  static void TearDownTestSuite() {
    delete dir_;
    models_.reset();
  }
  static std::string driver() { return dir_->file("driver.mp4"); }
  static std::string photo() { return dir_->file("photo.png"); }
  static std::string out() { return dir_->file("animated.mp4"); }

  static std::shared_ptr<const face::FaceModels> models_;
  static testing::TempDir* dir_;
  static AnimateSummary summary_;
};
std::shared_ptr<const face::FaceModels> AnimateTest::models_;
testing::TempDir* AnimateTest::dir_ = nullptr;
AnimateSummary AnimateTest::summary_;

face::Point2 mean_of(const face::Landmarks& l) {
  face::Point2 m{0, 0};
  for (const auto& p : l) { m.x += p.x; m.y += p.y; }
  return {m.x / l.size(), m.y / l.size()};
}

double iod(const face::Landmarks& l) { return std::hypot(l[45].x - l[36].x, l[45].y - l[36].y); }

TEST_F(AnimateTest, OutputHasThePhotosSizeTheDriversFramesAndAudioAndIsMarkedSynthetic) {
  EXPECT_EQ(summary_.n_frames, kFrames);
  EXPECT_GE(summary_.n_animated, kFrames - 2);
  auto o = media::probe(out());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->video->width_px, 400);
  EXPECT_EQ(o->video->height_px, 360);
  EXPECT_EQ(o->video->n_frames, kFrames);
  auto audio = media::read_audio(out());
  ASSERT_TRUE(audio.ok());
  EXPECT_NEAR(testing::dominant_frequency_hz(*audio, 200, 2000), 440.0, 2.0);
  auto v = mark::verify_file(out());
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->found && v->payload.synthetic);
  auto tags = media::read_metadata(out());
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ((*tags)["unmask_method"], "animate");
}

TEST_F(AnimateTest, ThePhotosFaceFollowsTheDriversHeadMotion) {
  auto reader = media::VideoReader::open(out());
  ASSERT_TRUE(reader.ok());
  std::vector<Image> frames;
  VideoFrame f;
  while (*(*reader)->read(f)) frames.push_back(f.image);
  ASSERT_EQ(frames.size(), static_cast<size_t>(kFrames));
  face::FaceDetector detector(models_);
  auto first = detector.detect_faces(frames.front());
  auto last = detector.detect_faces(frames.back());
  ASSERT_TRUE(first.ok() && !first->empty()) << "the animated photo is still a face";
  ASSERT_TRUE(last.ok() && !last->empty());
  // The driver's face drifts 60 px right; the photo's face moves with it, scaled by the ratio of
  // the two faces' sizes (inter-ocular distances), and not vertically.
  auto photo_image = media::read_image(photo());
  auto driver_reader = media::VideoReader::open(driver());
  ASSERT_TRUE(photo_image.ok() && driver_reader.ok());
  VideoFrame driver_first;
  ASSERT_TRUE(*(*driver_reader)->read(driver_first));
  auto photo_faces = detector.detect_faces(*photo_image);
  auto driver_faces = detector.detect_faces(driver_first.image);
  ASSERT_TRUE(photo_faces.ok() && !photo_faces->empty() && driver_faces.ok() && !driver_faces->empty());
  const double scale = iod(photo_faces->front().landmarks) / iod(driver_faces->front().landmarks);
  const double dx = mean_of(last->front().landmarks).x - mean_of(first->front().landmarks).x;
  const double dy = mean_of(last->front().landmarks).y - mean_of(first->front().landmarks).y;
  EXPECT_NEAR(dx, kDriftPx * scale, 0.25 * kDriftPx * scale) << "scale " << scale;
  EXPECT_LT(std::abs(dy), 6.0);
}

double eye_height(const face::Landmarks& l, int corner) {
  return std::abs((l[corner + 4].y + l[corner + 5].y) - (l[corner + 1].y + l[corner + 2].y)) / 2;
}

// The geometry alone: the mouth takes the driver's expression, the eyes only its blinks, the
// brows and the nose keep the photo's.
TEST(AnimateLandmarks, MouthFollowsTheDriverEyesOnlyBlinkBrowsAndNoseFollowOnlyTheHead) {
  face::Landmarks reference{};
  bool found = false;
  for (const auto& photo : testing::debian_annotated_faces()) {
    for (const auto& f : photo.faces) {
      if (found || f.landmarks.size() != face::kNumLandmarks) continue;
      for (int i = 0; i < face::kNumLandmarks; ++i) reference[i] = {f.landmarks[i].first, f.landmarks[i].second};
      found = true;
    }
  }
  ASSERT_TRUE(found) << "a Debian-shipped photo annotated with 68 landmarks";
  face::Landmarks photo{};
  for (int i = 0; i < face::kNumLandmarks; ++i) photo[i] = {2 * reference[i].x + 30, 2 * reference[i].y + 5};
  const double open = 0.3;  // the driver's open-eye aspect ratio, above the reference's

  // Same pose; brows raised 6 px, nostrils 3 px down, lower lip and chin 8 px down.
  face::Landmarks now = reference;
  for (int i = 17; i <= 26; ++i) now[i].y -= 6;
  now[32].y += 3;  // nostrils (not among the points the head motion is fitted on)
  now[34].y += 3;
  for (int i : {7, 8, 9, 55, 56, 57, 58, 59, 65, 66, 67}) now[i].y += 8;
  const face::Landmarks moved = animate_landmarks(photo, reference, now, open);
  for (int i = 17; i <= 35; ++i) {
    EXPECT_NEAR(moved[i].x, photo[i].x, 0.5) << i;
    EXPECT_NEAR(moved[i].y, photo[i].y, 0.5) << i;
  }
  EXPECT_NEAR(moved[57].y - photo[57].y, 16.0, 1.0) << "8 px of the driver at half the photo's size";
  EXPECT_NEAR(moved[36].y, photo[36].y, 0.5) << "the eye corners did not move";

  // The driver's eyes half shut: the photo's lids close halfway (to within the reference's own
  // openness below the open level), the corners stay.
  face::Landmarks blink = reference;
  for (int corner : {36, 42}) {
    const double mid = (reference[corner].y + reference[corner + 3].y) / 2;
    for (int lid : {corner + 1, corner + 2, corner + 4, corner + 5}) blink[lid].y = mid + 0.1 * (reference[lid].y - mid);
  }
  const face::Landmarks blinked = animate_landmarks(photo, reference, blink, open);
  for (int corner : {36, 42}) {
    EXPECT_LT(eye_height(blinked, corner), 0.2 * eye_height(photo, corner)) << corner;
    EXPECT_NEAR(blinked[corner].x, photo[corner].x, 0.5);
    EXPECT_NEAR(blinked[corner + 3].y, photo[corner + 3].y, 0.5);
  }

  // The whole head 10 px right: every point of the photo 20 px right, eyes as open as the
  // driver's relative to the open level (the driver's own eyes did not change).
  face::Landmarks shifted = reference;
  for (auto& p : shifted) p.x += 10;
  const face::Landmarks carried = animate_landmarks(photo, reference, shifted, 0.0);
  for (int i = 0; i < face::kNumLandmarks; ++i) {
    EXPECT_NEAR(carried[i].x, photo[i].x + 20, 0.5) << i;
    EXPECT_NEAR(carried[i].y, photo[i].y, 0.5) << i;
  }
}

TEST_F(AnimateTest, FacelessPhotoOrStillDriverIsAnInputErrorAndLeavesNoFile) {
  const std::string faceless = dir_->file("faceless.png");
  ASSERT_TRUE(media::write_image(faceless, testing::make_pattern_frame(200, 200, 0)).is_ok());
  auto bad = animate_files(faceless, driver(), dir_->file("never.mp4"), {}, models_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInput);
  EXPECT_FALSE(std::filesystem::exists(dir_->file("never.mp4")));

  auto still_driver = animate_files(photo(), photo(), dir_->file("never2.mp4"), {}, models_);
  ASSERT_FALSE(still_driver.ok());
  EXPECT_EQ(still_driver.status().code(), StatusCode::kInput);
  EXPECT_FALSE(std::filesystem::exists(dir_->file("never2.mp4")));

  const std::string faceless_clip = dir_->file("faceless.mp4");
  testing::ClipSpec clip;
  clip.n_frames = 10;
  testing::write_pattern_clip(faceless_clip, clip);
  auto no_driver_face = animate_files(photo(), faceless_clip, dir_->file("never3.mp4"), {}, models_);
  ASSERT_FALSE(no_driver_face.ok());
  EXPECT_EQ(no_driver_face.status().code(), StatusCode::kInput);
  EXPECT_FALSE(std::filesystem::exists(dir_->file("never3.mp4")));
}

}  // namespace
}  // namespace unmask::synth
