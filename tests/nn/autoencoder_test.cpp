// nn::Autoencoder (the autoencoder face swap's network): spec checks, training lowers the loss,
// model files round-trip and fail cleanly, and an interrupted run resumes to the same weights.
// Every network here is built in the test at toy size (32 px).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "nn/autoencoder.h"
#include "nn/nn.h"
#include "support/fixtures.h"

namespace unmask::nn {
namespace {

using unmask::testing::TempDir;

class OneThread : public ::testing::Environment {
 public:
  void SetUp() override { set_num_threads(1); }
};
[[maybe_unused]] ::testing::Environment* const kOneThread = ::testing::AddGlobalTestEnvironment(new OneThread);

ModelSpec toy_spec() {
  ModelSpec spec = Autoencoder::default_spec(32);
  spec.widths = {8, 8, 16, 16, 16};
  return spec;
}

// Four 32 px "faces": smooth colour gradients with a bright disc whose place depends on `kind`.
std::vector<Image> toy_faces(int kind) {
  std::vector<Image> faces;
  for (int i = 0; i < 4; ++i) {
    Image img(32, 32, 3);
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        const int dx = x - (10 + 3 * i + 4 * kind), dy = y - (12 + 2 * kind);
        const bool disc = dx * dx + dy * dy < 30;
        uint8_t* px = img.at(x, y);
        px[0] = static_cast<uint8_t>(disc ? 240 : 40 + 5 * x);
        px[1] = static_cast<uint8_t>(disc ? 220 : 60 + 4 * y + 20 * kind);
        px[2] = static_cast<uint8_t>(disc ? 200 : 90 + 2 * (x + y));
      }
    }
    faces.push_back(std::move(img));
  }
  return faces;
}

Batch batch_of(int kind) { return *faces_to_batch(toy_faces(kind), 32); }

double max_abs_diff(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.shape, b.shape);
  double d = 0;
  for (size_t i = 0; i < a.values.size() && i < b.values.size(); ++i) d = std::max(d, double(std::abs(a.values[i] - b.values[i])));
  return d;
}

TEST(Autoencoder, SpecChecksNameTheField) {
  EXPECT_TRUE(Autoencoder::validate(toy_spec()).is_ok());
  EXPECT_TRUE(Autoencoder::validate(Autoencoder::default_spec(64)).is_ok());
  ModelSpec bad = toy_spec();
  bad.input_size_px = 40;
  EXPECT_NE(Autoencoder::validate(bad).message().find("input_size_px"), std::string::npos);
  bad = toy_spec();
  bad.widths.pop_back();
  EXPECT_NE(Autoencoder::validate(bad).message().find("5 widths"), std::string::npos);
  bad = toy_spec();
  bad.name = "blend_cnn_tiny";
  EXPECT_EQ(Autoencoder::validate(bad).code(), StatusCode::kModel);
}

TEST(Autoencoder, FacesRoundTripThroughBatches) {
  const auto faces = toy_faces(0);
  auto batch = faces_to_batch(faces, 32);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->shape, (std::vector<int64_t>{4, 3, 32, 32}));
  const auto back = batch_to_faces(*batch);
  ASSERT_EQ(back.size(), faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        for (int c = 0; c < 3; ++c) ASSERT_EQ(back[i].at(x, y)[c], faces[i].at(x, y)[c]);
      }
    }
  }
}

TEST(Autoencoder, TrainingLowersTheReconstructionLoss) {
  auto net = Autoencoder::create(toy_spec(), 3, 1e-3);
  ASSERT_TRUE(net.ok()) << net.status().message();
  const Batch a = batch_of(0), b = batch_of(1);
  auto first = net->step(a, a, b, b);
  ASSERT_TRUE(first.ok()) << first.status().message();
  double last = *first;
  for (int i = 0; i < 60; ++i) last = *net->step(a, a, b, b);
  EXPECT_LT(last, 0.6 * *first) << "first " << *first << " last " << last;
  EXPECT_EQ(net->n_steps(), 61);
  auto out = net->reconstruct(a, 1);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->shape, a.shape);
  for (float v : out->values) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
  // Wrong shapes and decoders are refused, not crashed on.
  EXPECT_EQ(net->reconstruct(*faces_to_batch(toy_faces(0), 64), 0).status().code(), StatusCode::kInput);
  EXPECT_FALSE(net->reconstruct(a, 2).ok());
  EXPECT_EQ(net->step(a, b, a, *faces_to_batch(toy_faces(0), 48)).status().code(), StatusCode::kInput);
}

TEST(Autoencoder, ModelFileRoundTripsAndFailsCleanly) {
  TempDir dir;
  auto net = Autoencoder::create(toy_spec(), 5, 1e-3);
  ASSERT_TRUE(net.ok());
  const Batch a = batch_of(0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(net->step(a, a, a, a).ok());
  const std::string path = dir.file("pair.unm");
  ASSERT_TRUE(net->save(path, {{"identity_a", "toy a"}}).is_ok());
  auto loaded = Autoencoder::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->metadata().at("identity_a"), "toy a");
  EXPECT_EQ(loaded->spec().widths, toy_spec().widths);
  EXPECT_EQ(max_abs_diff(*net->reconstruct(a, 0), *loaded->reconstruct(a, 0)), 0.0);

  // Missing, bit-flipped and other-architecture files: Status::model naming the path.
  auto missing = Autoencoder::load(dir.file("none.unm"));
  EXPECT_EQ(missing.status().code(), StatusCode::kModel);
  auto bytes = *read_file(path);
  bytes[bytes.size() / 2] ^= 0x20;
  ASSERT_TRUE(write_file_atomic(dir.file("flipped.unm"), bytes).is_ok());
  auto flipped = Autoencoder::load(dir.file("flipped.unm"));
  EXPECT_EQ(flipped.status().code(), StatusCode::kModel);
  EXPECT_NE(flipped.status().message().find("flipped.unm"), std::string::npos);
  auto detector = Trainable::create(*default_spec("blend_cnn_tiny"), 1, {});
  ASSERT_TRUE(detector.ok());
  ASSERT_TRUE(detector->freeze()->save(dir.file("blend.unm")).is_ok());
  auto other = Autoencoder::load(dir.file("blend.unm"));
  EXPECT_EQ(other.status().code(), StatusCode::kModel);
  EXPECT_NE(other.status().message().find("not an autoencoder"), std::string::npos);
  // And a detector loader refuses the autoencoder's file.
  EXPECT_EQ(load_model(path).status().code(), StatusCode::kModel);
}

TEST(Autoencoder, ResumedTrainingEqualsAnUninterruptedRun) {
  const Batch a = batch_of(0), b = batch_of(1);
  auto straight = Autoencoder::create(toy_spec(), 9, 1e-3);
  ASSERT_TRUE(straight.ok());
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(straight->step(a, a, b, b).ok());

  auto first_half = Autoencoder::create(toy_spec(), 9, 1e-3);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(first_half->step(a, a, b, b).ok());
  auto state = first_half->save_state();
  ASSERT_TRUE(state.ok());
  auto resumed = Autoencoder::create(toy_spec(), 123, 1e-3);  // other initial weights: all replaced
  ASSERT_TRUE(resumed->load_state(*state).is_ok());
  EXPECT_EQ(resumed->n_steps(), 4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(resumed->step(a, a, b, b).ok());
  EXPECT_EQ(max_abs_diff(*straight->reconstruct(b, 0), *resumed->reconstruct(b, 0)), 0.0);

  ModelSpec wider = toy_spec();
  wider.input_size_px = 48;
  auto other = Autoencoder::create(wider, 9, 1e-3);
  EXPECT_EQ(other->load_state(*state).code(), StatusCode::kModel);
  EXPECT_EQ(resumed->load_state("not a state").code(), StatusCode::kModel);
}

}  // namespace
}  // namespace unmask::nn
