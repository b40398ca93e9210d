// Helpers shared by the sources of the LibTorch module (backend_torch.cpp, autoencoder_torch.cpp):
// thread count, seeding, errors as Status, weight loading with shape checks, and batches as
// tensors. Private to nn; included only inside the module.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/types.h>

#include "nn/backend.h"
#include "nn/nn.h"

namespace unmask::nn::detail {

// LibTorch's default generator is process-wide; weight initialisation seeds it and must not
// interleave with another seeded initialisation.
inline std::mutex& seed_mutex() {
  static std::mutex m;
  return m;
}

// Set once set_num_threads() ran: the default count must not override it.
inline std::atomic<bool>& threads_set() {
  static std::atomic<bool> set{false};
  return set;
}

// Applies the default thread count once, unless set_num_threads() ran first.
inline void ensure_threads() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!threads_set().load()) at::set_num_threads(kDefaultThreads);
  });
}

// The first line of a LibTorch error, without its C++ backtrace.
inline std::string torch_reason(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  const size_t nl = msg.find('\n');
  if (nl != std::string::npos) msg.resize(nl);
  return msg;
}

// The shapes of every parameter and buffer, by name: LibTorch's loader replaces a tensor of the
// wrong shape instead of failing, so load_weights compares before and after.
inline std::map<std::string, std::vector<int64_t>> tensor_shapes(const torch::nn::Module& net) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net.named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : net.named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  return shapes;
}

// Loads `archive` into `net`. Throws c10::Error when a tensor is missing; returns false (with the
// name in `bad`) when a tensor's shape changed.
inline bool load_weights(torch::nn::Module& net, torch::serialize::InputArchive& archive, std::string& bad) {
  const auto before = tensor_shapes(net);
  net.load(archive);
  const auto after = tensor_shapes(net);
  for (const auto& [name, shape] : before) {
    if (after.at(name) != shape) {
      bad = name;
      return false;
    }
  }
  return true;
}

// Loads a model file's weight archive into `net` (built for `spec`): a model error about `what`
// when a tensor's shape does not fit; throws c10::Error on a damaged archive or a missing tensor.
inline Status load_weight_archive(torch::nn::Module& net, std::string_view weights, const ModelSpec& spec,
                                  const std::string& what) {
  torch::serialize::InputArchive archive;
  archive.load_from(weights.data(), weights.size());
  std::string bad;
  if (!load_weights(net, archive, bad)) {
    return Status::model(what, "weights do not fit architecture " + spec.name + " (tensor " + bad + ")");
  }
  return Status::ok();
}

// The module's weights as the archive bytes a model file stores.
inline std::string weight_archive(const torch::nn::Module& net) {
  torch::serialize::OutputArchive archive;
  net.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

// A training checkpoint's archive: the architecture's name, the step count, the face size (when
// >= 0), the weights and the optimiser's state.
inline std::string state_archive(const torch::nn::Module& net, const torch::optim::Optimizer& optimizer,
                                 const std::string& arch, int64_t n_steps, int64_t size_px = -1) {
  torch::serialize::OutputArchive top, model_archive, optimizer_archive;
  net.save(model_archive);
  optimizer.save(optimizer_archive);
  top.write("arch", c10::IValue(arch));
  top.write("n_steps", c10::IValue(n_steps));
  if (size_px >= 0) top.write("size", c10::IValue(size_px));
  top.write("model", model_archive);
  top.write("optimizer", optimizer_archive);
  std::ostringstream os;
  top.save_to(os);
  return os.str();
}

// Restores a state_archive into `net` and `optimizer` when its name and size match; returns its
// step count. A model error about `what` otherwise; throws c10::Error on a damaged archive.
inline Result<int64_t> restore_state(std::string_view bytes, torch::nn::Module& net, torch::optim::Optimizer& optimizer,
                                     const std::string& arch, const std::string& what, int64_t size_px = -1) {
  torch::serialize::InputArchive top, model_archive, optimizer_archive;
  top.load_from(bytes.data(), bytes.size());
  c10::IValue saved_arch, n_steps, size;
  top.read("arch", saved_arch);
  top.read("n_steps", n_steps);
  const bool size_fits = size_px < 0 || (top.try_read("size", size) && size.isInt() && size.toInt() == size_px);
  if (!saved_arch.isString() || saved_arch.toStringRef() != arch || !n_steps.isInt() || !size_fits) {
    return Status::model(what, size_px < 0 ? "was saved for another architecture"
                                           : "was saved for another architecture or face size");
  }
  top.read("model", model_archive);
  top.read("optimizer", optimizer_archive);
  std::string bad;
  if (!load_weights(net, model_archive, bad)) return Status::model(what, "weights do not fit " + arch + " (tensor " + bad + ")");
  optimizer.load(optimizer_archive);
  return static_cast<int64_t>(n_steps.toInt());
}

inline torch::Tensor as_tensor(const Batch& batch) {
  // The tensor borrows the batch's storage for the duration of the call; nothing writes to it.
  return torch::from_blob(const_cast<float*>(batch.values.data()), batch.shape, torch::kFloat32);
}

inline std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.detach().contiguous().to(torch::kFloat32);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Runs `body` (returning Result<T> or Status), turning LibTorch and standard exceptions into a
// model error about `what` (prefixed with `why_prefix`).
template <typename Fn>
auto guarded(const std::string& what, const std::string& why_prefix, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::Error& e) {
    return Status::model(what, why_prefix + torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model(what, why_prefix + e.what());
  }
}

// The autoencoder swap's network in the module (autoencoder_torch.cpp): a fresh one with weights
// drawn from `seed`, or one with the given weight archive. The spec is checked by the caller.
Result<std::unique_ptr<backend::Autoencoder>> create_torch_autoencoder(const ModelSpec& spec, uint64_t seed,
                                                                      double learning_rate);
Result<std::unique_ptr<backend::Autoencoder>> load_torch_autoencoder(const ModelSpec& spec, std::string_view weights,
                                                                    const std::string& what);

}  // namespace unmask::nn::detail
