// The architectures and their registry. Each entry: a name, default spec, and a builder.
//
// blend_cnn_*: a MobileNetV2/EfficientNet-style CNN for aligned face crops. Inverted residual
// blocks (1x1 expand, 3x3 depthwise, squeeze-excite in the deeper stages, 1x1 project), SiLU,
// batch norm, global average pooling, one logit. The optional boundary head reads the stride-8
// features and predicts a (size/8)^2 map of where a blended face's boundary is (Face X-ray).
//
// mlp: fully connected layers with SiLU for feature vectors (spectral statistics).
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include <ATen/Parallel.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "nn/net.h"

namespace unmask::nn {
namespace detail {
namespace {

namespace F = torch::nn::functional;

// conv -> batch norm -> optional SiLU.
class ConvBnAct : public torch::nn::Module {
 public:
  ConvBnAct(int in, int out, int kernel, int stride, int groups, bool act) : act_(act) {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                          .stride(stride)
                                                          .padding(kernel / 2)
                                                          .groups(groups)
                                                          .bias(false)));
    bn_ = register_module("bn", torch::nn::BatchNorm2d(out));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = bn_->forward(conv_->forward(x));
    return act_ ? torch::silu(y) : y;
  }

 private:
  bool act_;
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

// Channel attention: x * sigmoid(W2 silu(W1 mean(x))).
class SqueezeExcite : public torch::nn::Module {
 public:
  SqueezeExcite(int channels, int reduced) {
    reduce_ = register_module("reduce", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, reduced, 1)));
    expand_ = register_module("expand", torch::nn::Conv2d(torch::nn::Conv2dOptions(reduced, channels, 1)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto s = x.mean({2, 3}, /*keepdim=*/true);
    s = torch::sigmoid(expand_->forward(torch::silu(reduce_->forward(s))));
    return x * s;
  }

 private:
  torch::nn::Conv2d reduce_{nullptr}, expand_{nullptr};
};

class InvertedResidual : public torch::nn::Module {
 public:
  InvertedResidual(int in, int out, int expansion, int stride, bool squeeze_excite)
      : residual_(stride == 1 && in == out) {
    const int mid = in * expansion;
    if (expansion != 1) expand_ = register_module("expand", std::make_shared<ConvBnAct>(in, mid, 1, 1, 1, true));
    depthwise_ = register_module("depthwise", std::make_shared<ConvBnAct>(mid, mid, 3, stride, mid, true));
    if (squeeze_excite) se_ = register_module("se", std::make_shared<SqueezeExcite>(mid, std::max(4, in / 4)));
    project_ = register_module("project", std::make_shared<ConvBnAct>(mid, out, 1, 1, 1, false));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = expand_ ? expand_->forward(x) : x;
    y = depthwise_->forward(y);
    if (se_) y = se_->forward(y);
    y = project_->forward(y);
    return residual_ ? x + y : y;
  }

 private:
  bool residual_;
  std::shared_ptr<ConvBnAct> expand_, depthwise_, project_;
  std::shared_ptr<SqueezeExcite> se_;
};

constexpr int kCnnExpansion = 4;

// widths: {stem, stage2, stage3 (stride 8), stage4 (stride 16), stage5, head}.
class BlendCnn : public Net {
 public:
  explicit BlendCnn(const ModelSpec& spec) {
    const auto& w = spec.widths;
    stem_ = register_module("stem", std::make_shared<ConvBnAct>(spec.in_channels, w[0], 3, 2, 1, true));
    // Stride 2 -> 2 -> 4 -> 8 (boundary tap) -> 16 -> 16.
    struct BlockSpec { int in, out, expansion, stride; bool se; };
    const std::vector<BlockSpec> early = {
        {w[0], w[0], 1, 1, false},
        {w[0], w[1], kCnnExpansion, 2, false},
        {w[1], w[1], kCnnExpansion, 1, false},
        {w[1], w[2], kCnnExpansion, 2, true},
        {w[2], w[2], kCnnExpansion, 1, true},
    };
    const std::vector<BlockSpec> late = {
        {w[2], w[3], kCnnExpansion, 2, true},
        {w[3], w[3], kCnnExpansion, 1, true},
        {w[3], w[4], kCnnExpansion, 1, true},
    };
    int index = 0;
    for (const auto& b : early) {
      early_.push_back(register_module("block" + std::to_string(index++),
                                       std::make_shared<InvertedResidual>(b.in, b.out, b.expansion, b.stride, b.se)));
    }
    for (const auto& b : late) {
      late_.push_back(register_module("block" + std::to_string(index++),
                                      std::make_shared<InvertedResidual>(b.in, b.out, b.expansion, b.stride, b.se)));
    }
    head_ = register_module("head", std::make_shared<ConvBnAct>(w[4], w[5], 1, 1, 1, true));
    classifier_ = register_module("classifier", torch::nn::Linear(w[5], 1));
    if (spec.boundary_head) {
      boundary_conv_ = register_module("boundary_conv", std::make_shared<ConvBnAct>(w[2], w[2], 3, 1, 1, true));
      boundary_out_ = register_module("boundary_out", torch::nn::Conv2d(torch::nn::Conv2dOptions(w[2], 1, 1)));
    }
  }

  NetOutput forward(const torch::Tensor& x) override {
    auto y = stem_->forward(x);
    for (auto& block : early_) y = block->forward(y);
    NetOutput out;
    if (boundary_conv_) out.boundary_logits = boundary_out_->forward(boundary_conv_->forward(y));
    for (auto& block : late_) y = block->forward(y);
    y = head_->forward(y).mean({2, 3});
    out.logits = classifier_->forward(y).squeeze(1);
    return out;
  }

 private:
  std::shared_ptr<ConvBnAct> stem_, head_, boundary_conv_;
  std::vector<std::shared_ptr<InvertedResidual>> early_, late_;
  torch::nn::Linear classifier_{nullptr};
  torch::nn::Conv2d boundary_out_{nullptr};
};

class Mlp : public Net {
 public:
  explicit Mlp(const ModelSpec& spec) {
    int in = spec.n_features;
    for (size_t i = 0; i < spec.widths.size(); ++i) {
      hidden_.push_back(register_module("fc" + std::to_string(i), torch::nn::Linear(in, spec.widths[i])));
      in = spec.widths[i];
    }
    out_ = register_module("out", torch::nn::Linear(in, 1));
  }

  NetOutput forward(const torch::Tensor& x) override {
    auto y = x;
    for (auto& layer : hidden_) y = torch::silu(layer->forward(y));
    NetOutput out;
    out.logits = out_->forward(y).squeeze(1);
    return out;
  }

 private:
  std::vector<torch::nn::Linear> hidden_;
  torch::nn::Linear out_{nullptr};
};

enum class Family { kCnn, kMlp };

struct Architecture {
  Family family;
  ModelSpec defaults;
};

// The registry. blend_cnn_small is the detector's network (~15 ms budget per 128 px crop on 2
// cores); blend_cnn_tiny is the same design at toy scale for tests and quick experiments.
const std::map<std::string, Architecture, std::less<>>& registry() {
  static const auto* table = new std::map<std::string, Architecture, std::less<>>{
      {"blend_cnn_small",
       {Family::kCnn, ModelSpec{.name = "blend_cnn_small", .in_channels = 3, .input_size_px = 128,
                                .boundary_head = true, .n_features = 0,
                                .widths = {16, 24, 40, 80, 112, 320}}}},
      {"blend_cnn_tiny",
       {Family::kCnn, ModelSpec{.name = "blend_cnn_tiny", .in_channels = 3, .input_size_px = 32,
                                .boundary_head = false, .n_features = 0,
                                .widths = {8, 8, 16, 16, 24, 32}}}},
      {"mlp",
       {Family::kMlp, ModelSpec{.name = "mlp", .in_channels = 0, .input_size_px = 0,
                                .boundary_head = false, .n_features = 64, .widths = {64, 32}}}},
  };
  return *table;
}

std::once_flag g_threads_once;
std::atomic<bool> g_threads_set{false};

}  // namespace

std::shared_ptr<Net> build_net(const ModelSpec& spec) {
  const auto& arch = registry().find(spec.name)->second;
  if (arch.family == Family::kCnn) return std::make_shared<BlendCnn>(spec);
  return std::make_shared<Mlp>(spec);
}

void ensure_threads() {
  std::call_once(g_threads_once, [] {
    if (!g_threads_set.load()) at::set_num_threads(kDefaultThreads);
  });
}

}  // namespace detail

void set_num_threads(int n_threads) {
  detail::g_threads_set = true;
  at::set_num_threads(std::max(1, n_threads));
}

int num_threads() {
  detail::ensure_threads();
  return at::get_num_threads();
}

std::vector<std::string> architecture_names() {
  std::vector<std::string> names;
  for (const auto& [name, arch] : detail::registry()) names.push_back(name);
  return names;
}

Result<ModelSpec> default_spec(std::string_view name) {
  auto it = detail::registry().find(name);
  if (it == detail::registry().end()) {
    return Status::model("architecture", "unknown name '" + std::string(name) + "'");
  }
  return it->second.defaults;
}

Status validate_spec(const ModelSpec& spec) {
  auto it = detail::registry().find(spec.name);
  if (it == detail::registry().end()) {
    return Status::model("architecture", "unknown name '" + spec.name + "'");
  }
  auto fail = [&](const std::string& why) { return Status::model("architecture " + spec.name, why); };
  for (int w : spec.widths) {
    if (w <= 0 || w > 4096) return fail("widths must be in 1..4096");
  }
  if (it->second.family == detail::Family::kCnn) {
    if (spec.in_channels < 1 || spec.in_channels > 4) return fail("in_channels must be 1..4");
    if (spec.input_size_px < 32 || spec.input_size_px > 1024 || spec.input_size_px % 16 != 0) {
      return fail("input_size_px must be a multiple of 16 in 32..1024, got " + std::to_string(spec.input_size_px));
    }
    if (spec.n_features != 0) return fail("n_features must be 0 for a CNN");
    if (spec.widths.size() != 6) return fail("a CNN needs 6 widths (stem, 4 stages, head)");
  } else {
    if (spec.n_features < 1 || spec.n_features > 1 << 20) return fail("n_features must be >= 1");
    if (spec.input_size_px != 0 || spec.boundary_head) {
      return fail("an MLP takes feature vectors: input_size_px 0, no boundary head");
    }
    if (spec.widths.size() > 8) return fail("at most 8 hidden layers");
  }
  return Status::ok();
}

}  // namespace unmask::nn
