// The networks (inside the LibTorch module; their names, default specs and checks are in
// spec.cpp).
//
// blend_cnn_*: a MobileNetV2/EfficientNet-style CNN for aligned face crops. Inverted residual
// blocks (1x1 expand, 3x3 depthwise, squeeze-excite in the deeper stages, 1x1 project), SiLU,
// batch norm, global average pooling, one logit. The optional boundary head reads the stride-8
// features and predicts a (size/8)^2 map of where a blended face's boundary is (Face X-ray).
//
// mlp: fully connected layers with SiLU for feature vectors (spectral statistics).
#include <algorithm>
#include <string>
#include <vector>

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

}  // namespace

std::shared_ptr<Net> build_net(const ModelSpec& spec) {
  if (spec.is_image_model()) return std::make_shared<BlendCnn>(spec);
  return std::make_shared<Mlp>(spec);
}

}  // namespace detail
}  // namespace unmask::nn
