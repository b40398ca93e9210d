// The LibTorch module's backend (libunmask_nn_torch.so, see backend.h): networks in inference
// mode, training with Adam, weight archives and thread count. Every LibTorch call is wrapped so
// that c10::Error becomes a Status, never an escape.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include "nn/backend.h"
#include "nn/net.h"
#include "nn/torch_support.h"

namespace unmask::nn {
namespace {

using detail::as_tensor;
using detail::ensure_threads;
using detail::guarded;
using detail::to_vector;
using detail::torch_reason;

Prediction to_prediction(const detail::NetOutput& out) {
  Prediction p;
  p.logits = to_vector(out.logits);
  if (out.boundary_logits.defined()) {
    p.boundary.shape = out.boundary_logits.sizes().vec();
    p.boundary.values = to_vector(torch::sigmoid(out.boundary_logits));
  }
  return p;
}

class TorchNetwork : public backend::Network {
 public:
  TorchNetwork(ModelSpec spec, std::shared_ptr<detail::Net> net, int64_t n_parameters)
      : spec_(std::move(spec)), net_(std::move(net)), n_parameters_(n_parameters) {}

  Result<Prediction> predict(const Batch& inputs) const override {
    ensure_threads();
    return guarded("model " + spec_.name, "forward pass failed: ", [&]() -> Result<Prediction> {
      c10::InferenceMode guard;
      return to_prediction(net_->forward(as_tensor(inputs)));
    });
  }
  int64_t n_parameters() const override { return n_parameters_; }

 private:
  ModelSpec spec_;
  std::shared_ptr<detail::Net> net_;  // eval mode; never trained again
  int64_t n_parameters_;
};

class TorchTraining : public backend::Training {
 public:
  TorchTraining(ModelSpec spec, OptimizerConfig config, std::shared_ptr<detail::Net> net)
      : spec_(std::move(spec)), config_(config), net_(std::move(net)) {
    optimizer_ = std::make_unique<torch::optim::Adam>(
        net_->parameters(), torch::optim::AdamOptions(config_.learning_rate).weight_decay(config_.weight_decay));
  }

  Result<StepStats> step(const TrainBatch& batch, bool use_boundary) override {
    return guarded("training step", "", [&]() -> Result<StepStats> {
      net_->train();
      optimizer_->zero_grad();
      StepStats stats;
      auto total = loss_tensor(batch, use_boundary, stats);
      total.backward();
      optimizer_->step();
      return stats;
    });
  }

  Result<StepStats> loss(const TrainBatch& batch, bool use_boundary) override {
    return guarded("loss", "", [&]() -> Result<StepStats> {
      net_->eval();
      torch::NoGradGuard no_grad;
      StepStats stats;
      loss_tensor(batch, use_boundary, stats);
      return stats;
    });
  }

  Result<Prediction> predict(const Batch& inputs) override {
    return guarded("model " + spec_.name, "forward pass failed: ", [&]() -> Result<Prediction> {
      net_->eval();
      torch::NoGradGuard no_grad;
      return to_prediction(net_->forward(as_tensor(inputs)));
    });
  }

  Result<std::string> weights() const override {
    return guarded("freeze", "", [&]() -> Result<std::string> { return detail::weight_archive(*net_); });
  }

  Result<std::string> save_state(int64_t n_steps) const override {
    return guarded("training state", "", [&]() -> Result<std::string> {
      return detail::state_archive(*net_, *optimizer_, spec_.name, n_steps);
    });
  }

  Result<int64_t> load_state(std::string_view bytes) override {
    return guarded("training state", "", [&]() -> Result<int64_t> {
      return detail::restore_state(bytes, *net_, *optimizer_, spec_.name, "training state");
    });
  }

 private:
  torch::Tensor loss_tensor(const TrainBatch& b, bool use_boundary, StepStats& stats) {
    auto out = net_->forward(as_tensor(b.inputs));
    auto labels = torch::from_blob(const_cast<float*>(b.labels.data()), {b.inputs.n()}, torch::kFloat32);
    auto logit_loss = torch::binary_cross_entropy_with_logits(out.logits, labels);
    auto total = logit_loss;
    stats.logit_loss = logit_loss.item<double>();
    stats.boundary_loss = 0;
    if (use_boundary) {
      std::vector<float> flags(b.has_boundary.begin(), b.has_boundary.end());
      for (float& f : flags) f = f ? 1.0f : 0.0f;
      auto mask = torch::tensor(flags);
      const double n_with = mask.sum().item<double>();
      if (n_with > 0) {
        auto per_pixel = torch::binary_cross_entropy_with_logits(out.boundary_logits, as_tensor(b.boundary), {}, {},
                                                                 at::Reduction::None);
        auto boundary_loss = (per_pixel.mean({1, 2, 3}) * mask).sum() / n_with;
        stats.boundary_loss = boundary_loss.item<double>();
        total = total + config_.boundary_loss_weight * boundary_loss;
      }
    }
    stats.loss = total.item<double>();
    return total;
  }

  ModelSpec spec_;
  OptimizerConfig config_;
  std::shared_ptr<detail::Net> net_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

class TorchBackend : public backend::Backend {
 public:
  int interface_version() const override { return backend::kInterfaceVersion; }

  void set_num_threads(int n_threads) override {
    detail::threads_set() = true;
    at::set_num_threads(std::max(1, n_threads));
  }

  int num_threads() override {
    ensure_threads();
    return at::get_num_threads();
  }

  Result<std::unique_ptr<backend::Network>> load(const ModelSpec& spec, std::string_view weights,
                                                 const std::string& what) override {
    ensure_threads();
    try {
      auto net = detail::build_net(spec);
      UNMASK_RETURN_IF_ERROR(detail::load_weight_archive(*net, weights, spec, what));
      net->eval();
      int64_t n_parameters = 0;
      for (const auto& p : net->parameters()) n_parameters += p.numel();
      return std::unique_ptr<backend::Network>(std::make_unique<TorchNetwork>(spec, std::move(net), n_parameters));
    } catch (const c10::Error& e) {
      return Status::model(what, "weights do not fit architecture " + spec.name + ": " + torch_reason(e));
    } catch (const std::exception& e) {
      return Status::model(what, std::string("cannot read the weights: ") + e.what());
    }
  }

  Result<std::unique_ptr<backend::Training>> create(const ModelSpec& spec, uint64_t seed,
                                                    const OptimizerConfig& config) override {
    ensure_threads();
    return guarded("architecture " + spec.name, "cannot build: ", [&]() -> Result<std::unique_ptr<backend::Training>> {
      std::shared_ptr<detail::Net> net;
      {
        std::lock_guard<std::mutex> lock(detail::seed_mutex());
        torch::manual_seed(seed);
        net = detail::build_net(spec);
      }
      return std::unique_ptr<backend::Training>(std::make_unique<TorchTraining>(spec, config, std::move(net)));
    });
  }

  Result<std::unique_ptr<backend::Autoencoder>> create_autoencoder(const ModelSpec& spec, uint64_t seed,
                                                                   double learning_rate) override {
    ensure_threads();
    return detail::create_torch_autoencoder(spec, seed, learning_rate);
  }

  Result<std::unique_ptr<backend::Autoencoder>> load_autoencoder(const ModelSpec& spec, std::string_view weights,
                                                                 const std::string& what) override {
    ensure_threads();
    return detail::load_torch_autoencoder(spec, weights, what);
  }
};

}  // namespace
}  // namespace unmask::nn

extern "C" __attribute__((visibility("default"))) unmask::nn::backend::Backend* unmask_nn_torch_backend() {
  static unmask::nn::TorchBackend backend;
  return &backend;
}
