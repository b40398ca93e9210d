// The interface between nn and its LibTorch module (private to nn).
//
// LibTorch costs every process that links it ~0.35 s before main(): the dynamic loader binds
// hundreds of its symbols and its constructors register thousands of operators. So nn's LibTorch
// code (backend_torch.cpp, networks.cpp) is built as a module, libunmask_nn_torch.so, that nn opens
// the first time a network is trained (model.cpp). Loaded models run on nn's own kernels
// (native_net.h, which implements Network below), so scoring never opens it; with
// UNMASK_NN_INFERENCE=torch they run here instead, for comparisons.
//
// Only header-defined project types cross this line (Status, Result, ModelSpec, Batch,
// Prediction, TrainBatch, StepStats, OptimizerConfig), so the module holds no copy of any project
// library. Inputs are checked by nn before they get here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nn/nn.h"

namespace unmask::nn::backend {

// Bumped whenever a class below changes: nn refuses a module built against another version.
inline constexpr int kInterfaceVersion = 2;
// The module's one exported function: `Backend* unmask_nn_torch_backend()`, never null.
inline constexpr const char* kEntryPoint = "unmask_nn_torch_backend";

// A network with its weights, in inference mode. predict() may run on several threads at once.
class Network {
 public:
  virtual ~Network() = default;
  virtual Result<Prediction> predict(const Batch& inputs) const = 0;
  virtual int64_t n_parameters() const = 0;
};

// A network being trained with Adam. Not thread-safe.
class Training {
 public:
  virtual ~Training() = default;
  // use_boundary: the batch carries boundary targets and the network has the head.
  virtual Result<StepStats> step(const TrainBatch& batch, bool use_boundary) = 0;
  virtual Result<StepStats> loss(const TrainBatch& batch, bool use_boundary) = 0;
  virtual Result<Prediction> predict(const Batch& inputs) = 0;
  // The weights as the archive a model file stores.
  virtual Result<std::string> weights() const = 0;
  // Network, optimiser and step count, for resuming.
  virtual Result<std::string> save_state(int64_t n_steps) const = 0;
  // Restores a save_state() of the same architecture; returns its step count.
  virtual Result<int64_t> load_state(std::string_view bytes) = 0;
};

// The autoencoder face swap's network (nn/autoencoder.h): one encoder, one decoder per identity.
// Images are RGB floats in [0, 1]. Not thread-safe.
class Autoencoder {
 public:
  virtual ~Autoencoder() = default;
  // One Adam step on the mean absolute error of decoder d's reconstruction of inputs[d] against
  // targets[d], summed over the identities; returns that loss before the update.
  virtual Result<double> step(const Batch& inputs_a, const Batch& targets_a, const Batch& inputs_b,
                              const Batch& targets_b) = 0;
  // Evaluation mode: `faces` encoded and decoded by `decoder` (0 or 1).
  virtual Result<Batch> reconstruct(const Batch& faces, int decoder) = 0;
  virtual Result<std::string> weights() const = 0;
  virtual Result<std::string> save_state(int64_t n_steps) const = 0;
  virtual Result<int64_t> load_state(std::string_view bytes) = 0;
  virtual int64_t n_parameters() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual int interface_version() const = 0;
  virtual void set_num_threads(int n_threads) = 0;
  virtual int num_threads() = 0;
  // A network for a validated spec with the given weight archive; `what` names it in errors.
  virtual Result<std::unique_ptr<Network>> load(const ModelSpec& spec, std::string_view weights,
                                                const std::string& what) = 0;
  // A freshly initialised network (weights drawn with `seed`) and its optimiser.
  virtual Result<std::unique_ptr<Training>> create(const ModelSpec& spec, uint64_t seed,
                                                   const OptimizerConfig& config) = 0;
  // The autoencoder swap (spec checked by nn): fresh with weights drawn from `seed`, or loaded.
  virtual Result<std::unique_ptr<Autoencoder>> create_autoencoder(const ModelSpec& spec, uint64_t seed,
                                                                  double learning_rate) = 0;
  virtual Result<std::unique_ptr<Autoencoder>> load_autoencoder(const ModelSpec& spec, std::string_view weights,
                                                                const std::string& what) = 0;
};

}  // namespace unmask::nn::backend

namespace unmask::nn::detail {

// The LibTorch module, opened on first use (model.cpp); a model error naming the paths tried when
// it cannot be opened.
Result<backend::Backend*> torch_backend();

// Input error ("model input: ... takes examples of shape AxBxC, got ...") when `batch` is empty,
// inconsistent, or its examples are not spec.example_shape().
Status check_input(const ModelSpec& spec, const Batch& batch);

}  // namespace unmask::nn::detail
