// The autoencoder face swap: train-swap on two generated clips of two Debian-shipped face photos
// (toy network, 32 px), then swap with it. The model's loss falls, an interrupted run resumes to
// the same weights, the swap keeps the target's size, frames and audio, changes the face and not
// the background, verifies as synthetic with method "autoencoder", and bad input fails cleanly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "face/face.h"
#include "mark/mark.h"
#include "media/media.h"
#include "nn/nn.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"
#include "synth/autoencoder_swap.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

constexpr int kW = 320, kH = 240, kFrames = 14;

TrainSwapOptions toy_options() {
  TrainSwapOptions o;
  o.iterations = 40;
  o.size_px = 32;
  o.batch_size = 4;
  o.widths = {8, 8, 16, 16, 16};
  o.learning_rate = 2e-3;
  o.checkpoint_every = 10;
  o.seed = 7;
  return o;
}

void write_clip(const std::string& path, const std::string& who, double tone_hz) {
  testing::FaceClipSpec spec;
  spec.width_px = kW;
  spec.height_px = kH;
  spec.n_frames = kFrames;
  spec.tone_hz = tone_hz;
  testing::Sprite face;
  face.image = testing::face_photo(who, 150);
  face.top_left = testing::linear_path(70, 20, 110, 30, kFrames);
  spec.sprites.push_back(face);
  testing::write_face_clip(path, spec);
}

class AutoencoderSwapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nn::set_num_threads(1);
    auto m = face::FaceModels::load();
    ASSERT_TRUE(m.ok()) << m.status().message();
    models_ = *m;
    dir_ = new testing::TempDir();
    write_clip(clip_a(), "tom", 0);
    write_clip(clip_b(), "girl", 330);
    auto trained = train_swap_autoencoder(clip_a(), clip_b(), model(), toy_options(), models_);
    ASSERT_TRUE(trained.ok()) << trained.status().message();
    trained_ = *trained;
  }
  static void TearDownTestSuite() {
    delete dir_;
    models_.reset();
  }
  static std::string clip_a() { return dir_->file("a.mp4"); }
  static std::string clip_b() { return dir_->file("b.mp4"); }
  static std::string model() { return dir_->file("pair.unm"); }


  static std::shared_ptr<const face::FaceModels> models_;
  static testing::TempDir* dir_;
  static TrainSwapSummary trained_;
};
std::shared_ptr<const face::FaceModels> AutoencoderSwapTest::models_;
testing::TempDir* AutoencoderSwapTest::dir_ = nullptr;
TrainSwapSummary AutoencoderSwapTest::trained_;

TEST_F(AutoencoderSwapTest, TrainingUsesEveryFrameLowersTheLossAndWritesAModel) {
  EXPECT_EQ(trained_.n_faces_a, kFrames);
  EXPECT_EQ(trained_.n_faces_b, kFrames);
  EXPECT_EQ(trained_.iterations, 40);
  EXPECT_EQ(trained_.resumed_from, 0);
  EXPECT_FALSE(trained_.stopped);
  EXPECT_LT(trained_.final_loss, 0.85 * trained_.first_loss)
      << "first " << trained_.first_loss << " final " << trained_.final_loss;
  auto info = nn::read_model_info(model());
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->spec.name, "swap_autoencoder");
  EXPECT_EQ(info->metadata.at("identity_a"), "a.mp4");
  EXPECT_EQ(info->metadata.at("steps"), "40");
  EXPECT_FALSE(std::filesystem::exists(model() + ".ckpt")) << "the checkpoint is removed when the run ends";
}

TEST_F(AutoencoderSwapTest, AStoppedRunResumesToTheSameWeights) {
  const std::string out = dir_->file("stopped.unm");
  TrainSwapOptions o = toy_options();
  int polls = 0;
  o.should_stop = [&polls] { return ++polls == 15; };
  auto first = train_swap_autoencoder(clip_a(), clip_b(), out, o, models_);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->stopped);
  EXPECT_EQ(first->iterations, 15);
  EXPECT_FALSE(std::filesystem::exists(out));
  ASSERT_TRUE(std::filesystem::exists(out + ".ckpt"));

  // Another run's settings do not resume from it.
  TrainSwapOptions other = toy_options();
  other.resume = true;
  other.seed = 8;
  auto refused = train_swap_autoencoder(clip_a(), clip_b(), out, other, models_);
  EXPECT_EQ(refused.status().code(), StatusCode::kModel);
  EXPECT_NE(refused.status().message().find("another run"), std::string::npos);

  TrainSwapOptions again = toy_options();
  again.resume = true;
  auto second = train_swap_autoencoder(clip_a(), clip_b(), out, again, models_);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->resumed_from, 15);
  EXPECT_EQ(second->iterations, 40);
  auto straight = nn::read_model_info(model());
  auto resumed = nn::read_model_info(out);
  ASSERT_TRUE(straight.ok() && resumed.ok());
  EXPECT_EQ(resumed->weights_sha256, straight->weights_sha256);
}

TEST_F(AutoencoderSwapTest, SourceIdentityPicksTheDecoder) {
  SwapOptions options;
  options.method = "autoencoder";
  options.model_path = model();
  auto as_a = detail::autoencoder_replacer(clip_a(), options, models_);
  ASSERT_TRUE(as_a.ok()) << as_a.status().message();
  EXPECT_EQ(as_a->decoder, 0);
  auto as_b = detail::autoencoder_replacer(clip_b(), options, models_);
  ASSERT_TRUE(as_b.ok());
  EXPECT_EQ(as_b->decoder, 1);
}

TEST_F(AutoencoderSwapTest, SwapKeepsTheTargetChangesTheFaceAndIsMarkedSynthetic) {
  SwapOptions options;
  options.method = "autoencoder";
  options.model_path = model();
  const std::string out = dir_->file("swapped.mp4");
  auto summary = swap_files(clip_a(), clip_b(), out, options, models_);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->n_frames, kFrames);
  EXPECT_GE(summary->n_swapped, kFrames - 2);
  auto probed = media::probe(out);
  ASSERT_TRUE(probed.ok());
  EXPECT_EQ(probed->video->width_px, kW);
  EXPECT_EQ(probed->video->height_px, kH);
  EXPECT_EQ(probed->video->n_frames, kFrames);
  ASSERT_TRUE(probed->audio.has_value());
  auto audio = media::read_audio(out);
  ASSERT_TRUE(audio.ok());
  EXPECT_NEAR(testing::dominant_frequency_hz(*audio, 200, 2000), 330.0, 2.0);

  auto before = testing::read_all_frames(clip_b());
  auto after = testing::read_all_frames(out);
  ASSERT_EQ(before.size(), after.size());
  face::FaceDetector detector(models_);
  const size_t mid = before.size() / 2;
  auto faces = detector.detect_faces(before[mid].image);
  ASSERT_TRUE(faces.ok() && !faces->empty());
  const face::Face& f = faces->front();
  const Box inner{f.landmarks[36].x, f.landmarks[27].y, f.landmarks[45].x - f.landmarks[36].x,
                  f.landmarks[57].y - f.landmarks[27].y};
  const double face_diff = testing::region_diff(before[mid].image, after[mid].image, inner);
  const double background_diff = testing::region_diff(before[mid].image, after[mid].image, Box{0, 0, 50, kH});
  EXPECT_GT(face_diff, 6.0);
  EXPECT_LT(background_diff, 4.0);
  EXPECT_LT(background_diff * 3, face_diff);

  auto v = mark::verify_file(out);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->found);
  EXPECT_TRUE(v->payload.synthetic);
  auto tags = media::read_metadata(out);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ((*tags)["unmask_method"], "autoencoder");
}

TEST_F(AutoencoderSwapTest, BadInputFailsWithTheRightKindOfError) {
  SwapOptions options;
  options.method = "autoencoder";
  const std::string out = dir_->file("never.mp4");
  EXPECT_EQ(swap_files(clip_a(), clip_b(), out, options, models_).status().code(), StatusCode::kUsage);
  options.model_path = dir_->file("missing.unm");
  EXPECT_EQ(swap_files(clip_a(), clip_b(), out, options, models_).status().code(), StatusCode::kModel);
  SwapOptions landmark;
  landmark.model_path = model();
  EXPECT_EQ(swap_files(clip_a(), clip_b(), out, landmark, models_).status().code(), StatusCode::kUsage);
  EXPECT_FALSE(std::filesystem::exists(out));

  auto missing = train_swap_autoencoder(dir_->file("nobody.mp4"), clip_b(), dir_->file("x.unm"), toy_options(), models_);
  EXPECT_EQ(missing.status().code(), StatusCode::kInput);
  EXPECT_NE(missing.status().message().find("nobody.mp4"), std::string::npos);
  TrainSwapOptions bad_size = toy_options();
  bad_size.size_px = 40;
  EXPECT_EQ(train_swap_autoencoder(clip_a(), clip_b(), dir_->file("x.unm"), bad_size, models_).status().code(),
            StatusCode::kUsage);
  // A picture without a face is not enough to learn a person from.
  const std::string blank = dir_->file("blank.png");
  ASSERT_TRUE(media::write_image(blank, testing::make_textured_background(200, 200, 1)).is_ok());
  EXPECT_EQ(train_swap_autoencoder(blank, clip_b(), dir_->file("x.unm"), toy_options(), models_).status().code(),
            StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::synth
