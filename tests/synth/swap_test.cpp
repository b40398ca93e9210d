#include <gtest/gtest.h>

#include "face/face.h"
#include "mark/mark.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

constexpr int kW = 480, kH = 320, kFrames = 20;

// A clip of one person ("tom") drifting right, with a tone; the swap source is another person.
class SwapTest : public ::testing::Test {
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
    tom.top_left = testing::linear_path(100, 10, 160, 10, kFrames);
    spec.sprites.push_back(tom);
    testing::write_face_clip(target(), spec);
    ASSERT_TRUE(media::write_image(source(), testing::face_photo("girl", 300)).is_ok());
    SwapOptions options;
    auto summary = swap_files(source(), target(), out(), options, models_);
    ASSERT_TRUE(summary.ok()) << summary.status().message();
    summary_ = *summary;
  }
  static void TearDownTestSuite() {
    delete dir_;
    models_.reset();
  }
  static std::string target() { return dir_->file("target.mp4"); }
  static std::string source() { return dir_->file("source.png"); }
  static std::string out() { return dir_->file("swapped.mp4"); }


  static std::shared_ptr<const face::FaceModels> models_;
  static testing::TempDir* dir_;
  static SwapSummary summary_;
};
std::shared_ptr<const face::FaceModels> SwapTest::models_;
testing::TempDir* SwapTest::dir_ = nullptr;
SwapSummary SwapTest::summary_;

TEST_F(SwapTest, OutputKeepsSizeFrameCountAndAudio) {
  EXPECT_EQ(summary_.n_frames, kFrames);
  EXPECT_GE(summary_.n_swapped, kFrames - 2);
  auto in = media::probe(target());
  auto o = media::probe(out());
  ASSERT_TRUE(in.ok() && o.ok());
  EXPECT_EQ(o->video->width_px, kW);
  EXPECT_EQ(o->video->height_px, kH);
  EXPECT_EQ(o->video->n_frames, kFrames);
  ASSERT_TRUE(o->audio.has_value());
  auto audio = media::read_audio(out());
  ASSERT_TRUE(audio.ok());
  EXPECT_NEAR(testing::dominant_frequency_hz(*audio, 200, 2000), 440.0, 2.0);
}

TEST_F(SwapTest, FaceChangesBackgroundDoesNotAndLandmarksStayNearTheTarget) {
  auto before = testing::read_all_frames(target());
  auto after = testing::read_all_frames(out());
  ASSERT_EQ(before.size(), after.size());
  face::FaceDetector detector(models_);
  const size_t mid = before.size() / 2;
  auto faces_before = detector.detect_faces(before[mid].image);
  ASSERT_TRUE(faces_before.ok() && !faces_before->empty());
  const face::Face& f = faces_before->front();
  // The inner face (between the eyes and the mouth) changed.
  const Box inner{f.landmarks[36].x, f.landmarks[27].y, f.landmarks[45].x - f.landmarks[36].x,
                  f.landmarks[57].y - f.landmarks[27].y};
  const double face_diff = testing::region_diff(before[mid].image, after[mid].image, inner);
  EXPECT_GT(face_diff, 8.0);
  // The background far from the face did not: only the watermark and re-encoding touch it.
  const double background_diff = testing::region_diff(before[mid].image, after[mid].image, Box{0, 0, 80, kH});
  EXPECT_LT(background_diff, 4.0);
  EXPECT_LT(background_diff * 3, face_diff);
  auto faces_after = detector.detect_faces(after[mid].image);
  ASSERT_TRUE(faces_after.ok() && !faces_after->empty()) << "the swapped face is still a face";
  double mean_err = 0;
  for (int i = 0; i < face::kNumLandmarks; ++i) {
    mean_err += std::hypot(faces_after->front().landmarks[i].x - f.landmarks[i].x,
                           faces_after->front().landmarks[i].y - f.landmarks[i].y);
  }
  mean_err /= face::kNumLandmarks;
  EXPECT_LT(mean_err, 0.08 * f.box.w) << "output landmarks follow the target's";
}

TEST_F(SwapTest, OutputVerifiesAsSynthetic) {
  auto v = mark::verify_file(out());
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->found);
  EXPECT_TRUE(v->payload.synthetic);
  auto tags = media::read_metadata(out());
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ((*tags)["unmask_method"], "landmark");
}

// Mean |3x3 Laplacian| of the grey pixels of `r`: the fine detail there.
double detail(const Image& image, const Box& r) {
  double sum = 0;
  int n = 0;
  auto grey = [&](int x, int y) {
    const uint8_t* p = image.at(x, y);
    return (p[0] + p[1] + p[2]) / 3.0;
  };
  for (int y = static_cast<int>(r.y) + 1; y < static_cast<int>(r.y + r.h) - 1; ++y) {
    for (int x = static_cast<int>(r.x) + 1; x < static_cast<int>(r.x + r.w) - 1; ++x) {
      sum += std::abs(grey(x - 1, y) + grey(x + 1, y) + grey(x, y - 1) + grey(x, y + 1) - 4 * grey(x, y));
      ++n;
    }
  }
  return sum / std::max(1, n);
}

TEST_F(SwapTest, AFaceRenderedAtLowResolutionIsSofterThanTheFrameAndOnlyThere) {
  Image target = testing::make_textured_background(400, 300, 0);
  testing::paste(target, testing::face_photo("tom", 220), 90, 20);
  face::FaceDetector detector(models_);
  auto target_faces = detector.detect_faces(target);
  ASSERT_TRUE(target_faces.ok() && !target_faces->empty());
  const face::Landmarks& at = target_faces->front().landmarks;
  const Image source_photo = testing::face_photo("girl", 300);
  auto source_faces = detector.detect_faces(source_photo);
  ASSERT_TRUE(source_faces.ok() && !source_faces->empty());
  const Box inner{at[36].x, at[27].y, at[45].x - at[36].x, at[57].y - at[27].y};

  auto swapped_with = [&](int face_px) {
    SwapOptions options;
    options.face_px = face_px;
    auto swapper = LandmarkSwapper::create({{source_photo, source_faces->front().landmarks}}, options);
    EXPECT_TRUE(swapper.ok());
    Image out = target;
    EXPECT_TRUE(swapper->swap(out, at).ok());
    return out;
  };
  const Image sharp = swapped_with(0);
  const Image soft = swapped_with(32);
  const Image same = swapped_with(4000);  // larger than the face: nothing to scale
  EXPECT_LT(detail(soft, inner), 0.6 * detail(sharp, inner)) << "the face at 32 px across lost its fine detail";
  EXPECT_DOUBLE_EQ(detail(same, inner), detail(sharp, inner));
  const Box corner{0, 0, 60, 60};  // background far from the face
  EXPECT_DOUBLE_EQ(detail(soft, corner), detail(sharp, corner));
}

TEST_F(SwapTest, ImageTargetAndFacelessSource) {
  const std::string still = dir_->file("still.png");
  Image canvas = testing::make_textured_background(400, 300, 0);
  testing::paste(canvas, testing::face_photo("tom", 200), 100, 0);
  ASSERT_TRUE(media::write_image(still, canvas).is_ok());
  auto summary = swap_files(source(), still, dir_->file("still_swapped.png"), {}, models_);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_TRUE(summary->is_image);
  EXPECT_EQ(summary->n_swapped, 1);
  auto v = mark::verify_file(dir_->file("still_swapped.png"));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->found && v->payload.synthetic);

  const std::string faceless = dir_->file("faceless.png");
  ASSERT_TRUE(media::write_image(faceless, testing::make_pattern_frame(200, 200, 0)).is_ok());
  auto bad = swap_files(faceless, target(), dir_->file("never.mp4"), {}, models_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInput);
  EXPECT_FALSE(std::filesystem::exists(dir_->file("never.mp4")));
}

}  // namespace
}  // namespace unmask::synth
