// nn's own inference kernels: each optimised kernel against its reference on random input, and
// whole networks against LibTorch's forward pass on the same weights (trained a few steps, so that
// batch norm's running statistics are not the identity).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "nn/archive_fixture.h"
#include "nn/model_file.h"
#include "nn/native_net.h"
#include "nn/native_ops.h"
#include "nn/torch_archive.h"
#include "nn/nn.h"

namespace unmask::nn {
namespace {

namespace ops = detail::native;

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct ConvCase {
  ops::ConvShape shape;
  int h, w;
};

TEST(NativeOps, ConvolutionsMatchTheReference) {
  const std::vector<ConvCase> cases = {
      {{5, 7, 1, 1, 1}, 9, 11},     // 1x1, points not a multiple of the block
      {{16, 8, 1, 1, 1}, 8, 8},     // 1x1, whole blocks
      {{3, 16, 3, 2, 1}, 17, 12},   // the stem: full 3x3, stride 2, odd sizes
      {{6, 5, 3, 1, 1}, 7, 9},      // full 3x3, stride 1
      {{12, 12, 3, 1, 12}, 10, 13}, // depthwise, stride 1
      {{9, 9, 3, 2, 9}, 11, 8},     // depthwise, stride 2
  };
  uint32_t seed = 1;
  for (const auto& c : cases) {
    const auto& s = c.shape;
    const auto x = random_values(static_cast<size_t>(s.in_channels) * c.h * c.w, seed++);
    const auto weights = random_values(static_cast<size_t>(s.out_channels) * (s.in_channels / s.groups) * s.kernel * s.kernel, seed++);
    const auto bias = random_values(s.out_channels, seed++);
    const size_t n_out = static_cast<size_t>(s.out_channels) * s.out_size(c.h) * s.out_size(c.w);
    std::vector<float> fast(n_out, -1.0f), reference(n_out, -2.0f);
    ops::Scratch scratch;
    ops::conv2d(s, weights.data(), bias.data(), x.data(), c.h, c.w, fast.data(), scratch);
    ops::conv2d_reference(s, weights.data(), bias.data(), x.data(), c.h, c.w, reference.data());
    for (size_t i = 0; i < n_out; ++i) {
      ASSERT_NEAR(fast[i], reference[i], 1e-4f * (1.0f + std::abs(reference[i])))
          << "in " << s.in_channels << " out " << s.out_channels << " k " << s.kernel << " stride " << s.stride
          << " groups " << s.groups << " at " << i;
    }
  }
}

TEST(NativeOps, ActivationsMatchTheirDefinitions) {
  std::vector<float> xs;
  for (float x = -120.0f; x <= 120.0f; x += 0.037f) xs.push_back(x);
  auto silu = xs, sig = xs;
  ops::silu_inplace(silu.data(), static_cast<int64_t>(silu.size()));
  ops::sigmoid_inplace(sig.data(), static_cast<int64_t>(sig.size()));
  for (size_t i = 0; i < xs.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(xs[i])));
    EXPECT_NEAR(sig[i], s, 1e-6 * s + 1e-30) << xs[i];
    EXPECT_NEAR(silu[i], xs[i] * s, 1e-6 * std::abs(xs[i] * s) + 1e-30) << xs[i];
  }
}

Batch random_batch(const ModelSpec& spec, int n, uint32_t seed) {
  Batch b;
  b.shape = {n};
  for (int64_t d : spec.example_shape()) b.shape.push_back(d);
  b.values = random_values(static_cast<size_t>(n * b.example_size()), seed);
  return b;
}

// A few Adam steps in training mode move batch norm's running statistics and every weight.
Trainable trained(const ModelSpec& spec, uint64_t seed) {
  auto t = Trainable::create(spec, seed, {});
  EXPECT_TRUE(t.ok()) << t.status().message();
  for (int step = 0; step < 3; ++step) {
    TrainBatch tb;
    tb.inputs = random_batch(spec, 4, 100 + step);
    tb.labels = {0, 1, 0, 1};
    EXPECT_TRUE(t->step(tb).ok());
  }
  return std::move(*t);
}

void expect_same_predictions(const ModelSpec& spec, uint64_t seed) {
  Trainable t = trained(spec, seed);
  auto model = t.freeze();
  ASSERT_TRUE(model.ok()) << model.status().message();
  const Batch batch = random_batch(spec, 5, 7);
  auto reference = t.predict(batch);  // LibTorch, evaluation mode
  auto native = model->predict(batch);
  ASSERT_TRUE(reference.ok() && native.ok());
  ASSERT_EQ(native->logits.size(), reference->logits.size());
  for (size_t i = 0; i < native->logits.size(); ++i) {
    EXPECT_NEAR(native->logits[i], reference->logits[i], 1e-4 * (1.0 + std::abs(reference->logits[i])))
        << spec.name << " example " << i;
  }
  ASSERT_EQ(native->boundary.shape, reference->boundary.shape);
  ASSERT_EQ(native->boundary.values.size(), reference->boundary.values.size());
  for (size_t i = 0; i < native->boundary.values.size(); ++i) {
    ASSERT_NEAR(native->boundary.values[i], reference->boundary.values[i], 1e-5) << spec.name << " at " << i;
  }
}

TEST(NativeNetwork, CnnMatchesLibTorch) {
  ModelSpec spec = *default_spec("blend_cnn_tiny");
  spec.boundary_head = true;
  expect_same_predictions(spec, 3);
}

TEST(NativeNetwork, DetectorSizedCnnOnOneChannelMatchesLibTorch) {
  ModelSpec spec = *default_spec("blend_cnn_small");  // the blend detector's widths, at 48 px
  spec.input_size_px = 48;
  spec.in_channels = 1;  // as the voice detector's spectrogram patches
  spec.boundary_head = false;
  expect_same_predictions(spec, 4);
}

TEST(NativeNetwork, MlpMatchesLibTorch) {
  ModelSpec spec = *default_spec("mlp");
  spec.n_features = 9;
  spec.widths = {12, 6};
  expect_same_predictions(spec, 5);
  spec.widths = {};  // logistic regression
  expect_same_predictions(spec, 6);
}

TEST(NativeNetwork, ThreadCountDoesNotChangeTheResult) {
  ModelSpec spec = *default_spec("blend_cnn_tiny");
  auto model = trained(spec, 8).freeze();
  ASSERT_TRUE(model.ok());
  const Batch batch = random_batch(spec, 7, 9);
  const int before = num_threads();
  set_num_threads(1);
  auto one = model->predict(batch);
  set_num_threads(2);
  auto two = model->predict(batch);
  set_num_threads(before);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->logits, two->logits);
}

TEST(NativeNetwork, ParameterCountIsLibTorchs) {
  // An MLP by hand: 9 -> 12 -> 6 -> 1, weights and biases.
  ModelSpec mlp = *default_spec("mlp");
  mlp.n_features = 9;
  mlp.widths = {12, 6};
  auto small = trained(mlp, 12).freeze();
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->n_parameters(), (9 * 12 + 12) + (12 * 6 + 6) + (6 + 1));
  // A CNN: every tensor LibTorch saved but batch norm's running statistics (buffers, not
  // parameters), so an unread parameter tensor would show.
  ModelSpec spec = *default_spec("blend_cnn_tiny");
  spec.boundary_head = true;
  const Trainable net = trained(spec, 10);
  auto model = net.freeze();
  ASSERT_TRUE(model.ok());
  auto tensors = detail::read_torch_archive(testing::archive_of(net), "model");
  ASSERT_TRUE(tensors.ok());
  int64_t saved_parameters = 0;
  for (const auto& [name, tensor] : *tensors) {
    if (name.ends_with(".running_mean") || name.ends_with(".running_var")) continue;
    saved_parameters += static_cast<int64_t>(tensor.values.size());
  }
  EXPECT_EQ(model->n_parameters(), saved_parameters);
}

TEST(NativeNetwork, WeightsOfAnotherArchitectureAreAModelError) {
  ModelSpec spec = *default_spec("blend_cnn_tiny");
  const std::string weights = testing::archive_of(trained(spec, 11));
  ModelSpec wider = spec;
  wider.widths[3] += 8;
  auto net = detail::load_native_network(wider, weights, "model.unm");
  ASSERT_FALSE(net.ok());
  EXPECT_EQ(net.status().code(), StatusCode::kModel);
  EXPECT_NE(net.status().message().find("block5"), std::string::npos) << net.status().message();
  ModelSpec with_head = spec;
  with_head.boundary_head = true;
  auto headless = detail::load_native_network(with_head, weights, "model.unm");
  ASSERT_FALSE(headless.ok());
  EXPECT_NE(headless.status().message().find("boundary_conv"), std::string::npos) << headless.status().message();
}

}  // namespace
}  // namespace unmask::nn
