// nn: batches, the architecture registry, forward shapes, training steps, model files and their
// failure modes. Every network here is built in the test at toy size.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "nn/model_file.h"
#include "nn/nn.h"
#include "support/fixtures.h"

namespace unmask::nn {
namespace {

using unmask::testing::TempDir;

// ctest runs test processes in parallel on a 2-core machine; one LibTorch thread per process
// avoids OpenMP threads spinning against each other. The default is recorded first.
int g_default_threads = 0;
class OneThreadEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_default_threads = num_threads();
    set_num_threads(1);
  }
};
[[maybe_unused]] ::testing::Environment* const kOneThread =
    ::testing::AddGlobalTestEnvironment(new OneThreadEnvironment);

ModelSpec tiny_cnn(bool boundary) {
  ModelSpec spec = *default_spec("blend_cnn_tiny");
  spec.boundary_head = boundary;
  return spec;
}

ModelSpec small_mlp(int n_features) {
  ModelSpec spec = *default_spec("mlp");
  spec.n_features = n_features;
  spec.widths = {16, 8};
  return spec;
}

Batch random_batch(std::vector<int64_t> shape, uint32_t seed) {
  Batch b;
  b.shape = std::move(shape);
  int64_t total = 1;
  for (int64_t d : b.shape) total *= d;
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t i = 0; i < total; ++i) b.values.push_back(dist(rng));
  return b;
}

// Toy images: "fake" ones (label 1) carry a bright square somewhere; the boundary target marks
// the square's outline on the 1/8-resolution grid.
TrainBatch toy_image_batch(const ModelSpec& spec, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  const int size = spec.input_size_px, side = spec.boundary_size_px();
  TrainBatch tb;
  tb.inputs.shape = {n, 3, size, size};
  tb.inputs.values.assign(static_cast<size_t>(n) * 3 * size * size, 0.0f);
  if (side > 0) {
    tb.boundary.shape = {n, 1, side, side};
    tb.boundary.values.assign(static_cast<size_t>(n) * side * side, 0.0f);
  }
  std::normal_distribution<float> noise(0.0f, 0.3f);
  for (int i = 0; i < n; ++i) {
    const bool fake = i % 2 == 1;
    tb.labels.push_back(fake ? 1.0f : 0.0f);
    float* img = tb.inputs.values.data() + static_cast<size_t>(i) * 3 * size * size;
    for (int k = 0; k < 3 * size * size; ++k) img[k] = noise(rng);
    if (fake) {
      const int x0 = static_cast<int>(rng() % (size / 2)), y0 = static_cast<int>(rng() % (size / 2));
      for (int c = 0; c < 3; ++c)
        for (int y = y0; y < y0 + size / 2; ++y)
          for (int x = x0; x < x0 + size / 2; ++x) img[(c * size + y) * size + x] += 2.0f;
      if (side > 0) {
        float* map = tb.boundary.values.data() + static_cast<size_t>(i) * side * side;
        for (int y = y0 / 8; y <= (y0 + size / 2 - 1) / 8; ++y)
          for (int x = x0 / 8; x <= (x0 + size / 2 - 1) / 8; ++x) map[y * side + x] = 1.0f;
      }
    }
    if (side > 0) tb.has_boundary.push_back(1);
  }
  return tb;
}

// ---------------------------------------------------------------------------------------------

TEST(Batch, ImagesBecomeNormalisedRgbPlanes) {
  Image img(2, 2);
  img.at(0, 0)[0] = 255;  // blue
  img.at(1, 0)[2] = 255;  // red
  img.at(0, 1)[1] = 51;   // green 0.2
  Normalization norm;
  norm.mean_rgb[0] = norm.mean_rgb[1] = norm.mean_rgb[2] = 0.5f;
  norm.std_rgb[0] = norm.std_rgb[1] = norm.std_rgb[2] = 0.5f;
  std::vector<Image> images{img};
  auto b = images_to_batch(images, 2, norm);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(b->shape, (std::vector<int64_t>{1, 3, 2, 2}));
  auto at = [&](int c, int y, int x) { return b->values[(c * 2 + y) * 2 + x]; };
  EXPECT_FLOAT_EQ(at(0, 0, 1), 1.0f);   // R plane: the red pixel
  EXPECT_FLOAT_EQ(at(0, 0, 0), -1.0f);
  EXPECT_FLOAT_EQ(at(2, 0, 0), 1.0f);   // B plane: the blue pixel
  EXPECT_FLOAT_EQ(at(1, 1, 0), (0.2f - 0.5f) / 0.5f);
}

TEST(Batch, ResizesGrayAndOddSizedImages) {
  Image gray(10, 6, 1);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 10; ++x) gray.at(x, y)[0] = 200;
  Image colour(7, 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 7; ++x) colour.at(x, y)[1] = static_cast<uint8_t>(x * 30);
  std::vector<Image> images{gray, colour};
  auto b = images_to_batch(images, 4);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(b->shape, (std::vector<int64_t>{2, 3, 4, 4}));
  const Normalization norm;
  for (int c = 0; c < 3; ++c) {  // a uniform gray image stays uniform in every channel
    for (int k = 0; k < 16; ++k) {
      EXPECT_NEAR(b->values[c * 16 + k], (200 / 255.0f - norm.mean_rgb[c]) / norm.std_rgb[c], 1e-5);
    }
  }
  // The green ramp stays increasing left to right after resizing.
  const float* green = b->values.data() + 48 + 16;
  for (int x = 1; x < 4; ++x) EXPECT_GT(green[x], green[x - 1]);
}

TEST(Batch, RejectsEmptyAndOddChannelImages) {
  std::vector<Image> none;
  EXPECT_EQ(images_to_batch(none, 8).status().code(), StatusCode::kInput);
  std::vector<Image> empty{Image()};
  EXPECT_EQ(images_to_batch(empty, 8).status().code(), StatusCode::kInput);
  std::vector<Image> four{Image(4, 4, 4)};
  EXPECT_EQ(images_to_batch(four, 8).status().code(), StatusCode::kInput);
  EXPECT_EQ(features_to_batch({{1, 2}, {3}}).status().code(), StatusCode::kInput);
  auto ok = features_to_batch({{1, 2}, {3, 4}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(example_values(*ok, 1)[0], 3.0f);
}

TEST(Registry, KnowsItsArchitecturesAndRejectsBadSpecs) {
  const auto names = architecture_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "blend_cnn_small"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "mlp"), names.end());
  EXPECT_EQ(default_spec("resnet9000").status().code(), StatusCode::kModel);
  auto spec = *default_spec("blend_cnn_small");
  EXPECT_EQ(spec.input_size_px, 128);
  EXPECT_TRUE(validate_spec(spec).is_ok());
  spec.input_size_px = 100;  // not a multiple of 16
  EXPECT_EQ(validate_spec(spec).code(), StatusCode::kModel);
  EXPECT_EQ(Trainable::create(spec, 1, {}).status().code(), StatusCode::kModel);
  EXPECT_EQ(g_default_threads, kDefaultThreads);
  EXPECT_EQ(num_threads(), 1);
}

TEST(Forward, CnnGivesOneLogitAndABoundaryMapPerImage) {
  auto net = Trainable::create(tiny_cnn(true), 1, {});
  ASSERT_TRUE(net.ok()) << net.status().message();
  auto out = net->predict(random_batch({3, 3, 32, 32}, 1));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->logits.size(), 3u);
  EXPECT_EQ(out->boundary.shape, (std::vector<int64_t>{3, 1, 4, 4}));
  for (float v : out->boundary.values) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  // Wrong spatial size is an input error, not a LibTorch exception.
  auto bad = net->predict(random_batch({1, 3, 48, 48}, 1));
  EXPECT_EQ(bad.status().code(), StatusCode::kInput);
}

TEST(Forward, ConfigurableInputSize) {
  ModelSpec spec = tiny_cnn(true);
  spec.input_size_px = 64;
  auto net = Trainable::create(spec, 1, {});
  ASSERT_TRUE(net.ok()) << net.status().message();
  auto out = net->predict(random_batch({2, 3, 64, 64}, 2));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->boundary.shape, (std::vector<int64_t>{2, 1, 8, 8}));
}

TEST(Forward, MlpGivesOneLogitPerRow) {
  auto net = Trainable::create(small_mlp(5), 1, {});
  ASSERT_TRUE(net.ok());
  auto out = net->predict(random_batch({7, 5}, 3));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->logits.size(), 7u);
  EXPECT_TRUE(out->boundary.values.empty());
}

TEST(Training, StepsLowerTheLossOnAToyImageBatch) {
  const ModelSpec spec = tiny_cnn(true);
  auto net = Trainable::create(spec, 5, {.learning_rate = 3e-3});
  ASSERT_TRUE(net.ok());
  const TrainBatch batch = toy_image_batch(spec, 8, 11);
  // step() reports the training-mode loss (batch-norm batch statistics) before its update: the
  // quantity being minimised. Evaluation-mode loss lags until the running statistics settle.
  auto before = net->step(batch);
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_GT(before->boundary_loss, 0.0);
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(net->step(batch).ok());
  auto after = net->step(batch);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(net->n_steps(), 17);
  EXPECT_LT(after->logit_loss, 0.5 * before->logit_loss);
  EXPECT_LT(after->boundary_loss, 0.8 * before->boundary_loss);
  EXPECT_NEAR(after->loss, after->logit_loss + after->boundary_loss, 1e-5);
}

TEST(Training, StepsLowerTheLossOfAnMlp) {
  const ModelSpec spec = small_mlp(4);
  auto net = Trainable::create(spec, 2, {.learning_rate = 1e-2});
  ASSERT_TRUE(net.ok());
  TrainBatch tb;
  tb.inputs = random_batch({64, 4}, 9);
  for (int i = 0; i < 64; ++i) tb.labels.push_back(tb.inputs.values[i * 4] + tb.inputs.values[i * 4 + 1] > 0 ? 1.0f : 0.0f);
  const double before = net->loss(tb)->loss;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(net->step(tb).ok());
  EXPECT_LT(net->loss(tb)->loss, 0.5 * before);
  tb.labels[0] = 2.0f;
  EXPECT_EQ(net->step(tb).status().code(), StatusCode::kInput);
}

TEST(Training, SameSeedSameWeightsOtherSeedOtherWeights) {
  const Batch x = random_batch({2, 5}, 4);
  auto a = Trainable::create(small_mlp(5), 42, {});
  auto b = Trainable::create(small_mlp(5), 42, {});
  auto c = Trainable::create(small_mlp(5), 43, {});
  EXPECT_EQ(a->predict(x)->logits, b->predict(x)->logits);
  EXPECT_NE(a->predict(x)->logits, c->predict(x)->logits);
}

TEST(Training, StateRestoresWeightsAndOptimiser) {
  const ModelSpec spec = tiny_cnn(true);
  const TrainBatch batch = toy_image_batch(spec, 8, 3);
  auto a = Trainable::create(spec, 1, {});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->step(batch).ok());
  auto state = a->save_state();
  ASSERT_TRUE(state.ok()) << state.status().message();
  auto b = Trainable::create(spec, 99, {});
  ASSERT_TRUE(b->load_state(*state).is_ok());
  EXPECT_EQ(b->n_steps(), 3);
  // The next step depends on Adam's moments: equal results mean they were restored too.
  ASSERT_TRUE(a->step(batch).ok());
  ASSERT_TRUE(b->step(batch).ok());
  EXPECT_EQ(a->predict(batch.inputs)->logits, b->predict(batch.inputs)->logits);

  auto mlp = Trainable::create(small_mlp(5), 1, {});
  EXPECT_EQ(mlp->load_state(*state).code(), StatusCode::kModel);
  EXPECT_EQ(mlp->load_state("garbage").code(), StatusCode::kModel);
}

// ---------------------------------------------------------------------------------------------
// Model files
// ---------------------------------------------------------------------------------------------

class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ModelSpec spec = tiny_cnn(true);
    auto net = Trainable::create(spec, 7, {});
    ASSERT_TRUE(net.ok());
    const TrainBatch batch = toy_image_batch(spec, 8, 5);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(net->step(batch).ok());  // moves batch-norm stats too
    auto model = net->freeze({{"seed", "7"}, {"note", "made in a test, with = and spaces"}});
    ASSERT_TRUE(model.ok()) << model.status().message();
    model_ = *model;
    path_ = dir_.file("tiny.unm");
    ASSERT_TRUE(model_.save(path_).is_ok());
    input_ = batch.inputs;
  }

  std::string bytes() const { return *read_file(path_); }
  void write(const std::string& name, std::string_view data) const {
    std::ofstream(dir_.file(name), std::ios::binary) << data;
  }
  Status load(const std::string& name, std::string_view arch = {}) const {
    return load_model(dir_.file(name), arch).status();
  }

  TempDir dir_;
  std::string path_;
  Model model_;
  Batch input_;
};

TEST_F(ModelFileTest, SaveThenLoadGivesIdenticalOutputs) {
  auto loaded = load_model(path_, "blend_cnn_tiny");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->spec().name, "blend_cnn_tiny");
  EXPECT_EQ(loaded->spec().input_size_px, 32);
  EXPECT_TRUE(loaded->spec().boundary_head);
  EXPECT_EQ(loaded->metadata().at("note"), "made in a test, with = and spaces");
  EXPECT_EQ(loaded->weights_sha256(), model_.weights_sha256());
  EXPECT_EQ(loaded->n_parameters(), model_.n_parameters());
  EXPECT_GT(loaded->n_parameters(), 1000);
  auto a = model_.predict(input_);
  auto b = loaded->predict(input_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->logits, b->logits);
  EXPECT_EQ(a->boundary.values, b->boundary.values);
  EXPECT_EQ(*loaded->to_bytes(), bytes());  // saving again reproduces the file

  auto info = read_model_info(path_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->spec.widths, model_.spec().widths);
  EXPECT_EQ(info->metadata.at("seed"), "7");
  EXPECT_EQ(info->weights_sha256, model_.weights_sha256());
}

TEST_F(ModelFileTest, MissingFileIsAModelError) {
  auto r = load_model(dir_.file("nope.unm"));
  ASSERT_EQ(r.status().code(), StatusCode::kModel);
  EXPECT_EQ(exit_code_for(r.status()), 4);
  EXPECT_NE(r.status().message().find("nope.unm"), std::string::npos);
}

TEST_F(ModelFileTest, TruncatedFileIsAModelError) {
  const std::string full = bytes();
  for (size_t keep : {size_t{0}, size_t{5}, size_t{12}, full.size() / 2, full.size() - 1}) {
    write("cut.unm", std::string_view(full).substr(0, keep));
    const Status s = load("cut.unm");
    EXPECT_EQ(s.code(), StatusCode::kModel) << keep;
  }
  write("cut.unm", std::string_view(full).substr(0, full.size() / 2));
  EXPECT_NE(load("cut.unm").message().find("truncated"), std::string::npos) << load("cut.unm").message();
}

TEST_F(ModelFileTest, CorruptBytesAreAModelError) {
  std::string data = bytes();
  data[data.size() / 2] ^= 0x5a;
  write("flip.unm", data);
  const Status s = load("flip.unm");
  EXPECT_EQ(s.code(), StatusCode::kModel);
  EXPECT_NE(s.message().find("corrupt"), std::string::npos) << s.message();

  write("garbage.unm", std::string(4096, '\x7f'));
  EXPECT_EQ(load("garbage.unm").code(), StatusCode::kModel);

  std::string version = bytes();
  version[8] = 9;  // format version 9
  write("version.unm", version);
  EXPECT_NE(load("version.unm").message().find("version"), std::string::npos);
}

TEST_F(ModelFileTest, WrongArchitectureIsAModelError) {
  const Status s = load_model(path_, "blend_cnn_small").status();
  EXPECT_EQ(s.code(), StatusCode::kModel);
  EXPECT_NE(s.message().find("blend_cnn_tiny"), std::string::npos) << s.message();

  // A well-formed file whose header promises one architecture and whose weights are another's:
  // LibTorch must not get to crash or silently reshape.
  auto mlp = Trainable::create(small_mlp(5), 1, {});
  auto mlp_bytes = mlp->freeze()->to_bytes();
  auto mlp_file = detail::decode_model_file(*mlp_bytes, "mlp");
  ASSERT_TRUE(mlp_file.ok());
  auto forged = detail::encode_model_file(tiny_cnn(false), {}, mlp_file->weights);
  write("forged.unm", *forged);
  EXPECT_EQ(load("forged.unm").code(), StatusCode::kModel);
  // Same architecture name, different widths: every tensor exists but with other shapes.
  ModelSpec wider = small_mlp(5);
  wider.widths = {16, 9};
  write("wider.unm", *detail::encode_model_file(wider, {}, mlp_file->weights));
  const Status w = load("wider.unm");
  EXPECT_EQ(w.code(), StatusCode::kModel);
  EXPECT_NE(w.message().find("do not fit"), std::string::npos) << w.message();
  // Unknown architecture name in the header.
  ModelSpec unknown = small_mlp(5);
  unknown.name = "resnet9000";
  write("unknown.unm", *detail::encode_model_file(unknown, {}, mlp_file->weights));
  EXPECT_NE(load("unknown.unm").message().find("resnet9000"), std::string::npos);
  // Garbage where the LibTorch archive should be, with a valid checksum.
  write("junk.unm", *detail::encode_model_file(tiny_cnn(true), {}, "not a zip archive"));
  EXPECT_EQ(load("junk.unm").code(), StatusCode::kModel);
}

TEST_F(ModelFileTest, EmptyModelAndBadMetadataAreErrors) {
  Model empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.predict(input_).status().code(), StatusCode::kModel);
  EXPECT_EQ(model_.save(dir_.file("x.unm"), {{"bad key", "v"}}).code(), StatusCode::kModel);
  EXPECT_EQ(model_.save(dir_.file("x.unm"), {{"k", "two\nlines"}}).code(), StatusCode::kModel);
}

// Background builds are process-wide: switched on for one scope, and off again however it ends.
struct BackgroundBuildsOn {
  BackgroundBuildsOn() { set_background_builds(true); }
  ~BackgroundBuildsOn() { set_background_builds(false); }
};

TEST_F(ModelFileTest, BackgroundBuildGivesTheSameModel) {
  Result<Model> loaded = Status::internal("test", "not loaded");
  {
    BackgroundBuildsOn on;
    loaded = load_model(path_, "blend_cnn_tiny");
  }
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->weights_sha256(), model_.weights_sha256());  // known before the network exists
  auto a = model_.predict(input_);
  auto b = loaded->predict(input_);  // waits for the build
  ASSERT_TRUE(a.ok() && b.ok()) << b.status().message();
  EXPECT_EQ(a->logits, b->logits);
  EXPECT_EQ(a->boundary.values, b->boundary.values);
  EXPECT_EQ(loaded->n_parameters(), model_.n_parameters());
  EXPECT_TRUE(wait_for_builds().is_ok());
}

TEST_F(ModelFileTest, BackgroundBuildFailureComesFromPredictAndWaitForBuilds) {
  // Weights that do not fit the header's architecture pass the file checks, so the load returns;
  // the failure is the build's, reported by predict() and by wait_for_builds().
  auto mlp = Trainable::create(small_mlp(5), 1, {});
  auto mlp_file = detail::decode_model_file(*mlp->freeze()->to_bytes(), "mlp");
  ASSERT_TRUE(mlp_file.ok());
  ModelSpec wider = small_mlp(5);
  wider.widths = {16, 9};
  write("wider.unm", *detail::encode_model_file(wider, {}, mlp_file->weights));
  Result<Model> loaded = Status::internal("test", "not loaded");
  {
    BackgroundBuildsOn on;
    loaded = load_model(dir_.file("wider.unm"));
  }
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  Batch rows = *features_to_batch({std::vector<float>(5, 0.5f)});
  auto p = loaded->predict(rows);
  EXPECT_EQ(p.status().code(), StatusCode::kModel);
  EXPECT_NE(p.status().message().find("do not fit"), std::string::npos) << p.status().message();
  const Status waited = wait_for_builds();
  EXPECT_EQ(waited.code(), StatusCode::kModel);
  EXPECT_NE(waited.message().find("wider.unm"), std::string::npos) << waited.message();
  // Off again: the same file fails at load, as always.
  EXPECT_EQ(load("wider.unm").code(), StatusCode::kModel);
}

TEST_F(ModelFileTest, ALoadedModelIsSharedAcrossThreads) {
  auto reference = model_.predict(input_);
  ASSERT_TRUE(reference.ok());
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  const Model shared = model_;  // copies share the weights
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto out = shared.predict(input_);
        if (out.ok()) results[t] = out->logits;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, reference->logits);
}

}  // namespace
}  // namespace unmask::nn
