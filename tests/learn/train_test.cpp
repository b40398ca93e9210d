// The training loop: learning, validation AUC per epoch, progress, and checkpoint/resume giving
// the same result as an uninterrupted run.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "learn/learn.h"
#include "support/fixtures.h"

namespace unmask::learn {
namespace {

using unmask::testing::TempDir;

// ctest runs test processes in parallel on a 2-core machine: one LibTorch thread per process.
class OneThreadEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { nn::set_num_threads(1); }
};
[[maybe_unused]] ::testing::Environment* const kOneThread =
    ::testing::AddGlobalTestEnvironment(new OneThreadEnvironment);

// Four features; fake when x0 + x1 > 0 (x2, x3 are noise).
InMemoryDataset linear_set(int n, uint32_t seed) {
  InMemoryDataset data({4});
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0, 1);
  for (int i = 0; i < n; ++i) {
    std::vector<float> x = {d(rng), d(rng), d(rng), d(rng)};
    const float y = x[0] + x[1] > 0 ? 1.0f : 0.0f;
    EXPECT_TRUE(data.add(std::move(x), y).is_ok());
  }
  return data;
}

nn::ModelSpec mlp_spec() {
  nn::ModelSpec spec = *nn::default_spec("mlp");
  spec.n_features = 4;
  spec.widths = {16};
  return spec;
}

// Images made on the fly from (index, seed): every example is noise, fakes carry a bright square
// whose position comes from the augmentation seed, with its footprint as the boundary target. It
// exercises the per-example seeds that resume must reproduce.
class SquaresDataset : public Dataset {
 public:
  SquaresDataset(const nn::ModelSpec& spec, size_t n) : spec_(spec), n_(n) {}
  size_t size() const override { return n_; }
  Result<Example> get(size_t index, uint64_t seed) const override {
    const int size = spec_.input_size_px, side = spec_.boundary_size_px();
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> noise(0, 0.5f);
    Example ex;
    ex.label = index % 2 ? 1.0f : 0.0f;
    ex.input.resize(static_cast<size_t>(3 * size * size));
    for (float& v : ex.input) v = noise(rng);
    ex.boundary.assign(static_cast<size_t>(side * side), 0.0f);
    if (ex.label > 0) {
      const int half = size / 2, x0 = static_cast<int>(rng() % half), y0 = static_cast<int>(rng() % half);
      for (int c = 0; c < 3; ++c)
        for (int y = y0; y < y0 + half; ++y)
          for (int x = x0; x < x0 + half; ++x) ex.input[(c * size + y) * size + x] += 1.5f;
      for (int y = y0 / 8; y <= (y0 + half - 1) / 8; ++y)
        for (int x = x0 / 8; x <= (x0 + half - 1) / 8; ++x) ex.boundary[y * side + x] = 1.0f;
    }
    return ex;
  }

 private:
  nn::ModelSpec spec_;
  size_t n_;
};

nn::ModelSpec cnn_spec() {
  nn::ModelSpec spec = *nn::default_spec("blend_cnn_tiny");
  spec.boundary_head = true;
  return spec;
}

TEST(Train, LearnsAndReportsValidationAucPerEpoch) {
  const InMemoryDataset train = linear_set(256, 1), val = linear_set(128, 2);
  TrainConfig cfg;
  cfg.epochs = 4;
  cfg.batch_size = 32;
  cfg.seed = 3;
  cfg.optimizer.learning_rate = 1e-2;
  std::vector<double> fractions;
  std::string last_stage;
  cfg.progress = [&](double f, std::string_view stage) {
    fractions.push_back(f);
    last_stage = stage;
  };
  auto result = train_binary(mlp_spec(), train, &val, cfg);
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_EQ(result->history.size(), 4u);
  EXPECT_EQ(result->n_steps, 4 * 8);
  EXPECT_FALSE(result->stopped);
  EXPECT_LT(result->history.back().train_loss, result->history.front().train_loss);
  EXPECT_GT(result->history.back().val_auc, 0.95);
  EXPECT_LT(result->history.back().val_log_loss, 0.4);
  ASSERT_FALSE(fractions.empty());
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
  EXPECT_DOUBLE_EQ(fractions.back(), 1.0);
  EXPECT_NE(last_stage.find("epoch 4/4"), std::string::npos) << last_stage;
  EXPECT_NE(last_stage.find("val_auc"), std::string::npos) << last_stage;

  // The returned model scores like the last validation pass.
  auto p = predict_dataset(result->model, val);
  ASSERT_TRUE(p.ok());
  std::vector<int> labels;
  for (size_t i = 0; i < val.size(); ++i) labels.push_back(val.get(i, 0)->label > 0.5f);
  EXPECT_NEAR(roc_auc(*p, labels), result->history.back().val_auc, 1e-9);
  EXPECT_EQ(result->model.metadata().at("train.seed"), "3");
}

TEST(Train, RejectsBadSettingsAndData) {
  const InMemoryDataset train = linear_set(8, 1);
  TrainConfig cfg;
  cfg.batch_size = 1;
  EXPECT_EQ(train_binary(mlp_spec(), train, nullptr, cfg).status().code(), StatusCode::kModel);
  InMemoryDataset wrong({3});
  ASSERT_TRUE(wrong.add({1, 2, 3}, 1).is_ok());
  ASSERT_TRUE(wrong.add({1, 2, 3}, 0).is_ok());
  cfg.batch_size = 2;
  EXPECT_EQ(train_binary(mlp_spec(), wrong, nullptr, cfg).status().code(), StatusCode::kInput);
  EXPECT_EQ(wrong.add({1, 2}, 1).code(), StatusCode::kInput);
}

// Runs the CNN (batch norm, boundary head, seeded augmentation) for 3 epochs, checkpointing
// every 2 steps.
TrainConfig resume_config(const std::string& checkpoint) {
  TrainConfig cfg;
  cfg.epochs = 3;
  cfg.batch_size = 6;
  cfg.seed = 11;
  cfg.checkpoint_path = checkpoint;
  cfg.checkpoint_every_steps = 2;
  cfg.resume = true;
  return cfg;
}

TEST(Train, ResumeFromCheckpointEqualsAnUninterruptedRun) {
  TempDir dir;
  const nn::ModelSpec spec = cnn_spec();
  const SquaresDataset train(spec, 13), val(spec, 6);  // 13 / 6: batches 6, 7 (a last 1 merged)

  auto full = train_binary(spec, train, &val, resume_config(dir.file("full.ckpt")));
  ASSERT_TRUE(full.ok()) << full.status().message();
  EXPECT_EQ(full->n_steps, 6);

  // Interrupted mid-epoch 2 (after 3 steps), then resumed by a fresh call.
  TrainConfig interrupted = resume_config(dir.file("cut.ckpt"));
  int steps = 0;
  interrupted.should_stop = [&] { return ++steps == 3; };
  auto first = train_binary(spec, train, &val, interrupted);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->stopped);
  EXPECT_EQ(first->n_steps, 3);
  EXPECT_EQ(first->history.size(), 1u);

  auto resumed = train_binary(spec, train, &val, resume_config(dir.file("cut.ckpt")));
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_FALSE(resumed->stopped);
  EXPECT_EQ(resumed->n_steps, full->n_steps);
  EXPECT_EQ(resumed->model.weights_sha256(), full->model.weights_sha256());
  ASSERT_EQ(resumed->history.size(), full->history.size());
  for (size_t i = 0; i < full->history.size(); ++i) {
    EXPECT_EQ(resumed->history[i].train_loss, full->history[i].train_loss) << i;
    EXPECT_EQ(resumed->history[i].val_auc, full->history[i].val_auc) << i;
  }
  auto a = predict_dataset(full->model, val);
  auto b = predict_dataset(resumed->model, val);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);

  // A different run must not pick up this checkpoint; a corrupt one is a model error.
  TrainConfig other_seed = resume_config(dir.file("cut.ckpt"));
  other_seed.seed = 12;
  const Status s = train_binary(spec, train, &val, other_seed).status();
  EXPECT_EQ(s.code(), StatusCode::kModel);
  EXPECT_NE(s.message().find("different run"), std::string::npos) << s.message();
  std::string bytes = *read_file(dir.file("cut.ckpt"));
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(dir.file("bad.ckpt"), std::ios::binary) << bytes;
  EXPECT_EQ(train_binary(spec, train, &val, resume_config(dir.file("bad.ckpt"))).status().code(),
            StatusCode::kModel);
}

// Fine-tuning: a run on other data (another dataset size, so another fingerprint) starts from a
// finished run's checkpoint; the optimiser's step count carries on from it. A missing file or a
// checkpoint of another architecture is a model error.
TEST(Train, InitCheckpointFineTunesFromAnotherRun) {
  TempDir dir;
  const nn::ModelSpec spec = cnn_spec();
  const SquaresDataset first_data(spec, 13), other_data(spec, 9), val(spec, 6);
  auto first = train_binary(spec, first_data, &val, resume_config(dir.file("first.ckpt")));
  ASSERT_TRUE(first.ok()) << first.status().message();

  TrainConfig tune;
  tune.epochs = 1;
  tune.batch_size = 6;
  tune.seed = 11;
  tune.init_checkpoint = dir.file("first.ckpt");
  auto tuned = train_binary(spec, other_data, &val, tune);
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  TrainConfig scratch = tune;
  scratch.init_checkpoint.clear();
  auto fresh = train_binary(spec, other_data, &val, scratch);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(tuned->n_steps, first->n_steps + fresh->n_steps);
  ASSERT_EQ(tuned->history.size(), 1u);  // epochs count from 0 again
  EXPECT_NE(tuned->model.weights_sha256(), fresh->model.weights_sha256());

  tune.init_checkpoint = dir.file("missing.ckpt");
  EXPECT_EQ(train_binary(spec, other_data, &val, tune).status().code(), StatusCode::kModel);
  const InMemoryDataset linear = linear_set(8, 1);
  TrainConfig wrong_arch;
  wrong_arch.epochs = 1;
  wrong_arch.batch_size = 4;
  wrong_arch.init_checkpoint = dir.file("first.ckpt");
  EXPECT_EQ(train_binary(mlp_spec(), linear, nullptr, wrong_arch).status().code(), StatusCode::kModel);
}

// Mixup returns convex combinations of two examples (input and label alike), the same ones for
// the same (index, seed), with example `index` the larger part; and it still trains.
TEST(Mixup, MixesPairsDeterministicallyAndStillLearns) {
  InMemoryDataset pair({2});
  ASSERT_TRUE(pair.add({0.0f, 0.0f}, 0.0f).is_ok());
  ASSERT_TRUE(pair.add({1.0f, 2.0f}, 1.0f).is_ok());
  const MixupDataset mixed(pair, 0.4);
  ASSERT_EQ(mixed.size(), 2u);
  int mixed_count = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    for (size_t index = 0; index < 2; ++index) {
      auto ex = mixed.get(index, seed);
      ASSERT_TRUE(ex.ok()) << ex.status().message();
      // Every value is the same convex combination: input = (t, 2t) with t the label.
      const float t = ex->label;
      ASSERT_GE(t, 0.0f);
      ASSERT_LE(t, 1.0f);
      EXPECT_NEAR(ex->input[0], t, 1e-6);
      EXPECT_NEAR(ex->input[1], 2 * t, 1e-6);
      // The example asked for keeps at least half the weight.
      if (index == 0) EXPECT_LE(t, 0.5f + 1e-6);
      else EXPECT_GE(t, 0.5f - 1e-6);
      if (t > 1e-3f && t < 1 - 1e-3f) ++mixed_count;
      auto again = mixed.get(index, seed);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->input, ex->input);
    }
  }
  EXPECT_GT(mixed_count, 50);  // partners differ half the time; Beta(0.4, 0.4) often mixes

  EXPECT_FALSE(MixupDataset(pair, 0.0).get(0, 1).ok());
  EXPECT_FALSE(MixupDataset(pair, -1.0).get(0, 1).ok());

  const InMemoryDataset train = linear_set(256, 1), val = linear_set(128, 2);
  const MixupDataset mixed_train(train, 0.4);
  TrainConfig config;
  config.epochs = 12;
  config.batch_size = 32;
  config.seed = 5;
  config.optimizer.learning_rate = 0.01;
  auto result = train_binary(mlp_spec(), mixed_train, &val, config);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_GT(result->history.back().val_auc, 0.95);
}

}  // namespace
}  // namespace unmask::learn
