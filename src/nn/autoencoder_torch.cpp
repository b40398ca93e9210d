// The autoencoder swap's network inside the LibTorch module (see nn/autoencoder.h).
//
// Encoder: four 5x5 stride-2 convolutions (widths[0..3]) with leaky ReLU (0.1) down to size/16, a
// fully connected bottleneck of widths[4] units and back, then one shared up-scaling (3x3 conv
// to 4x the channels and a pixel shuffle) to size/8. Each decoder: three such up-scalings
// (widths[2] -> widths[1] -> widths[0] -> widths[0]/2) to full size and a 5x5 convolution to RGB
// with a sigmoid. Trained with Adam (beta1 0.5) on the mean absolute error.
#include <algorithm>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pixelshuffle.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>

#include "nn/torch_support.h"

namespace unmask::nn::detail {
namespace {

namespace F = torch::nn::functional;

torch::Tensor leaky(const torch::Tensor& x) { return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.1)); }

// 3x3 convolution to 4x the output channels, then a pixel shuffle: twice the size.
class Upscale : public torch::nn::Module {
 public:
  Upscale(int in, int out) {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out * 4, 3).padding(1)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return leaky(F::pixel_shuffle(conv_->forward(x), F::PixelShuffleFuncOptions(2)));
  }

 private:
  torch::nn::Conv2d conv_{nullptr};
};

class Decoder : public torch::nn::Module {
 public:
  explicit Decoder(const std::vector<int>& w) {
    const int last = std::max(4, w[0] / 2);
    up0_ = register_module("up0", std::make_shared<Upscale>(w[2], w[1]));
    up1_ = register_module("up1", std::make_shared<Upscale>(w[1], w[0]));
    up2_ = register_module("up2", std::make_shared<Upscale>(w[0], last));
    out_ = register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(last, 3, 5).padding(2)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::sigmoid(out_->forward(up2_->forward(up1_->forward(up0_->forward(x)))));
  }

 private:
  std::shared_ptr<Upscale> up0_, up1_, up2_;
  torch::nn::Conv2d out_{nullptr};
};

class SwapAutoencoder : public torch::nn::Module {
 public:
  explicit SwapAutoencoder(const ModelSpec& spec) : side_(spec.input_size_px / 16), deep_(spec.widths[3]) {
    const auto& w = spec.widths;
    int in = 3;
    for (int i = 0; i < 4; ++i) {
      convs_.push_back(register_module("conv" + std::to_string(i),
                                       torch::nn::Conv2d(torch::nn::Conv2dOptions(in, w[i], 5).stride(2).padding(2))));
      in = w[i];
    }
    const int flat = w[3] * side_ * side_;
    code_ = register_module("code", torch::nn::Linear(flat, w[4]));
    expand_ = register_module("expand", torch::nn::Linear(w[4], flat));
    shared_up_ = register_module("shared_up", std::make_shared<Upscale>(w[3], w[2]));
    decoders_[0] = register_module("decoder_a", std::make_shared<Decoder>(w));
    decoders_[1] = register_module("decoder_b", std::make_shared<Decoder>(w));
  }

  torch::Tensor encode(const torch::Tensor& x) {
    auto y = x;
    for (auto& conv : convs_) y = leaky(conv->forward(y));
    y = expand_->forward(code_->forward(y.flatten(1)));
    return shared_up_->forward(y.view({-1, deep_, side_, side_}));
  }
  torch::Tensor decode(const torch::Tensor& code, int decoder) { return decoders_[decoder]->forward(code); }

 private:
  int side_, deep_;
  std::vector<torch::nn::Conv2d> convs_;
  torch::nn::Linear code_{nullptr}, expand_{nullptr};
  std::shared_ptr<Upscale> shared_up_;
  std::shared_ptr<Decoder> decoders_[2];
};

class TorchAutoencoder : public backend::Autoencoder {
 public:
  TorchAutoencoder(ModelSpec spec, std::shared_ptr<SwapAutoencoder> net, double learning_rate)
      : spec_(std::move(spec)), net_(std::move(net)) {
    optimizer_ = std::make_unique<torch::optim::Adam>(
        net_->parameters(), torch::optim::AdamOptions(learning_rate).betas(std::make_tuple(0.5, 0.999)));
  }

  Result<double> step(const Batch& inputs_a, const Batch& targets_a, const Batch& inputs_b,
                      const Batch& targets_b) override {
    return guarded("autoencoder training step", "", [&]() -> Result<double> {
      net_->train();
      optimizer_->zero_grad();
      auto loss_a = (net_->decode(net_->encode(as_tensor(inputs_a)), 0) - as_tensor(targets_a)).abs().mean();
      auto loss_b = (net_->decode(net_->encode(as_tensor(inputs_b)), 1) - as_tensor(targets_b)).abs().mean();
      auto total = loss_a + loss_b;
      total.backward();
      optimizer_->step();
      return total.item<double>();
    });
  }

  Result<Batch> reconstruct(const Batch& faces, int decoder) override {
    return guarded("model " + spec_.name, "forward pass failed: ", [&]() -> Result<Batch> {
      net_->eval();
      torch::NoGradGuard no_grad;
      auto out = net_->decode(net_->encode(as_tensor(faces)), decoder);
      Batch b;
      b.shape = out.sizes().vec();
      b.values = to_vector(out);
      return b;
    });
  }

  Result<std::string> weights() const override {
    return guarded("autoencoder weights", "", [&]() -> Result<std::string> { return weight_archive(*net_); });
  }

  Result<std::string> save_state(int64_t n_steps) const override {
    return guarded("autoencoder training state", "", [&]() -> Result<std::string> {
      return state_archive(*net_, *optimizer_, spec_.name, n_steps, spec_.input_size_px);
    });
  }

  Result<int64_t> load_state(std::string_view bytes) override {
    return guarded("autoencoder training state", "", [&]() -> Result<int64_t> {
      return restore_state(bytes, *net_, *optimizer_, spec_.name, "autoencoder training state", spec_.input_size_px);
    });
  }

  int64_t n_parameters() const override {
    int64_t n = 0;
    for (const auto& p : net_->parameters()) n += p.numel();
    return n;
  }

 private:
  ModelSpec spec_;
  std::shared_ptr<SwapAutoencoder> net_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace

Result<std::unique_ptr<backend::Autoencoder>> create_torch_autoencoder(const ModelSpec& spec, uint64_t seed,
                                                                      double learning_rate) {
  return guarded("architecture " + spec.name, "cannot build: ", [&]() -> Result<std::unique_ptr<backend::Autoencoder>> {
    std::shared_ptr<SwapAutoencoder> net;
    {
      std::lock_guard<std::mutex> lock(seed_mutex());
      torch::manual_seed(seed);
      net = std::make_shared<SwapAutoencoder>(spec);
    }
    return std::unique_ptr<backend::Autoencoder>(std::make_unique<TorchAutoencoder>(spec, std::move(net), learning_rate));
  });
}

Result<std::unique_ptr<backend::Autoencoder>> load_torch_autoencoder(const ModelSpec& spec, std::string_view weights,
                                                                    const std::string& what) {
  try {
    auto net = std::make_shared<SwapAutoencoder>(spec);
    UNMASK_RETURN_IF_ERROR(load_weight_archive(*net, weights, spec, what));
    net->eval();
    return std::unique_ptr<backend::Autoencoder>(std::make_unique<TorchAutoencoder>(spec, std::move(net), 1e-4));
  } catch (const c10::Error& e) {
    return Status::model(what, "weights do not fit architecture " + spec.name + ": " + torch_reason(e));
  } catch (const std::exception& e) {
    return Status::model(what, std::string("cannot read the weights: ") + e.what());
  }
}

}  // namespace unmask::nn::detail
