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

#include "nn/cnn_layout.h"
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
  explicit InvertedResidual(const CnnBlock& b) : residual_(b.residual()) {
    const int mid = b.in * b.expansion;
    if (b.expansion != 1) expand_ = register_module("expand", std::make_shared<ConvBnAct>(b.in, mid, 1, 1, 1, true));
    depthwise_ = register_module("depthwise", std::make_shared<ConvBnAct>(mid, mid, 3, b.stride, mid, true));
    if (b.se) se_ = register_module("se", std::make_shared<SqueezeExcite>(mid, se_width(b.in)));
    project_ = register_module("project", std::make_shared<ConvBnAct>(mid, b.out, 1, 1, 1, false));
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

// widths: {stem, stage2, stage3 (stride 8), stage4 (stride 16), stage5, head}; blocks: cnn_layout.h.
class BlendCnn : public Net {
 public:
  explicit BlendCnn(const ModelSpec& spec) {
    const auto& w = spec.widths;
    stem_ = register_module("stem", std::make_shared<ConvBnAct>(spec.in_channels, w[0], 3, 2, 1, true));
    const std::vector<CnnBlock> blocks = cnn_blocks(w);
    for (size_t i = 0; i < blocks.size(); ++i) {
      auto& stage = i <= kCnnBoundaryTap ? early_ : late_;
      stage.push_back(register_module("block" + std::to_string(i), std::make_shared<InvertedResidual>(blocks[i])));
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
