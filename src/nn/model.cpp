// Model (immutable, shared) and Trainable (network + Adam), LibTorch-free: the model file, input
// checks and hashes are here. Models run on nn's own kernels (native_net.h); training runs in the
// LibTorch module (backend.h), which this file opens on first use.
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <future>
#include <thread>
#include <vector>

#include "nn/backend.h"
#include "nn/model_file.h"
#include "nn/native_net.h"

#ifndef UNMASK_NN_MODULE_BUILD_PATH
#define UNMASK_NN_MODULE_BUILD_PATH ""
#endif

namespace unmask::nn {
namespace {

constexpr const char* kModuleFile = "libunmask_nn_torch.so";

// Where the module may be, in order: $UNMASK_NN_MODULE, next to the executable, the build tree.
std::vector<std::string> module_candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("UNMASK_NN_MODULE"); env != nullptr && *env != '\0') {
    paths.emplace_back(env);
    return paths;  // named explicitly: nothing else is tried
  }
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    paths.push_back(dir + kModuleFile);
  }
  if (*UNMASK_NN_MODULE_BUILD_PATH != '\0') paths.emplace_back(UNMASK_NN_MODULE_BUILD_PATH);
  return paths;
}

Result<backend::Backend*> open_module() {
  std::string tried;
  for (const std::string& path : module_candidates()) {
    void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      tried += (tried.empty() ? "" : "; ") + path + " (" + (why ? why : "not found") + ")";
      continue;
    }
    using Entry = backend::Backend* (*)();
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, backend::kEntryPoint));
    if (entry == nullptr) return Status::model(path, "is not unmask's LibTorch module (no entry point)");
    backend::Backend* b = entry();
    if (b->interface_version() != backend::kInterfaceVersion) {
      return Status::model(path, "was built for another version of unmask (interface " +
                                     std::to_string(b->interface_version()) + ", expected " +
                                     std::to_string(backend::kInterfaceVersion) + "): rebuild it");
    }
    return b;  // never closed: its networks live until the process ends
  }
  return Status::model("LibTorch module", std::string("cannot open ") + kModuleFile + ": tried " + tried);
}

// set_num_threads() was called: the module gets that count when it opens.
std::atomic<bool> g_threads_set{false};
std::atomic<backend::Backend*> g_opened_backend{nullptr};

// The module, opened once; every caller waits for the one opening it.
Result<backend::Backend*> backend_or_error() {
  static std::once_flag once;
  static auto* result = new Result<backend::Backend*>(Status::internal("LibTorch module", "not opened"));
  std::call_once(once, [] {
    *result = open_module();
    if (result->ok()) {
      if (g_threads_set) (**result)->set_num_threads(detail::native_threads());
      g_opened_backend = **result;
    }
  });
  return *result;
}

}  // namespace

namespace detail {

Result<backend::Backend*> torch_backend() { return backend_or_error(); }

Status check_input(const ModelSpec& spec, const Batch& batch) {
  if (!batch.consistent() || batch.n() < 1) {
    return Status::input("model input", "batch shape and value count disagree, or the batch is empty");
  }
  const std::vector<int64_t> want = spec.example_shape();
  const std::vector<int64_t> got(batch.shape.begin() + 1, batch.shape.end());
  if (got != want) {
    auto dims = [](const std::vector<int64_t>& v) {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += 'x';
        s += std::to_string(v[i]);
      }
      return s;
    };
    return Status::input("model input", spec.name + " takes examples of shape " + dims(want) +
                                            ", got " + dims(got));
  }
  return Status::ok();
}

}  // namespace detail

namespace {

// Inference on LibTorch instead of nn's own kernels, for comparisons: UNMASK_NN_INFERENCE=torch.
bool torch_inference() {
  static const bool on = [] {
    const char* env = std::getenv("UNMASK_NN_INFERENCE");
    return env != nullptr && std::string_view(env) == "torch";
  }();
  return on;
}

using NetworkResult = Result<std::shared_ptr<const backend::Network>>;
using NetworkFuture = std::shared_future<NetworkResult>;

// Background builds: the switch and every build started while it was on.
struct BackgroundBuilds {
  std::atomic<bool> on{false};
  std::mutex mutex;
  std::vector<NetworkFuture> started;
};
BackgroundBuilds& background_builds() {
  static auto* b = new BackgroundBuilds;  // never destroyed: builds may still run at exit
  return *b;
}

NetworkResult build_network(const ModelSpec& spec, std::string_view weights, const std::string& what) {
  if (!torch_inference()) {
    auto net = detail::load_native_network(spec, weights, what);
    if (!net.ok()) return net.status();
    return std::shared_ptr<const backend::Network>(std::move(*net));
  }
  auto b = backend_or_error();
  if (!b.ok()) return b.status();
  auto net = (*b)->load(spec, weights, what);
  if (!net.ok()) return net.status();
  return std::shared_ptr<const backend::Network>(std::move(*net));
}

}  // namespace

void set_background_builds(bool on) { background_builds().on = on; }

Status wait_for_builds() {
  BackgroundBuilds& b = background_builds();
  std::vector<NetworkFuture> started;
  {
    std::lock_guard<std::mutex> lock(b.mutex);
    started.swap(b.started);  // each build is waited for and reported once
  }
  Status first = Status::ok();
  for (const auto& f : started) {
    if (!f.get().ok() && first.is_ok()) first = f.get().status();
  }
  return first;
}

void set_num_threads(int n_threads) {
  detail::set_native_threads(n_threads);
  g_threads_set = true;
  if (backend::Backend* b = g_opened_backend.load()) b->set_num_threads(n_threads);
}

int num_threads() { return detail::native_threads(); }

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

struct Model::Impl {
  ModelSpec spec;
  Metadata metadata;
  NetworkFuture net;  // ready at once, or a background build
  std::shared_ptr<const std::string> weights;  // the LibTorch archive the net was built from
  std::string weights_sha256;
};

Model::Model() = default;
Model::~Model() = default;
Model::Model(const Model&) = default;
Model& Model::operator=(const Model&) = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

namespace {
const ModelSpec kEmptySpec;
const Metadata kEmptyMetadata;
const std::string kEmptyString;
}  // namespace

const ModelSpec& Model::spec() const { return impl_ ? impl_->spec : kEmptySpec; }
const Metadata& Model::metadata() const { return impl_ ? impl_->metadata : kEmptyMetadata; }
int64_t Model::n_parameters() const {
  if (!impl_) return 0;
  const NetworkResult& net = impl_->net.get();
  return net.ok() ? (*net)->n_parameters() : 0;
}
const std::string& Model::weights_sha256() const { return impl_ ? impl_->weights_sha256 : kEmptyString; }
bool Model::empty() const { return !impl_; }

Result<Prediction> Model::predict(const Batch& batch) const {
  if (!impl_) return Status::model("model", "no model loaded");
  UNMASK_RETURN_IF_ERROR(detail::check_input(impl_->spec, batch));
  const NetworkResult& net = impl_->net.get();
  if (!net.ok()) return net.status();
  return (*net)->predict(batch);
}

Result<std::string> Model::to_bytes(const Metadata& metadata) const {
  if (!impl_) return Status::model("model", "no model loaded");
  return detail::encode_model_file(impl_->spec, metadata.empty() ? impl_->metadata : metadata, *impl_->weights);
}

Status Model::save(const std::string& path, const Metadata& metadata) const {
  auto bytes = to_bytes(metadata);
  if (!bytes.ok()) return bytes.status();
  Status written = write_file_atomic(path, *bytes);
  if (!written.is_ok()) return Status::model(path, "cannot write the model file: " + written.message());
  return Status::ok();
}

Result<Model> model_from_bytes(std::string_view bytes, std::string_view what, std::string_view expected_arch) {
  auto file = detail::decode_model_file(bytes, what);
  if (!file.ok()) return file.status();
  if (!expected_arch.empty() && file->spec.name != expected_arch) {
    return Status::model(what, "holds architecture '" + file->spec.name + "', expected '" +
                                   std::string(expected_arch) + "'");
  }
  Status valid = validate_spec(file->spec);
  if (!valid.is_ok()) return Status::model(what, valid.message());
  auto impl = std::make_shared<Model::Impl>();
  impl->spec = std::move(file->spec);
  impl->metadata = std::move(file->metadata);
  impl->weights = std::make_shared<const std::string>(std::move(file->weights));
  impl->weights_sha256 = sha256_hex(*impl->weights);
  BackgroundBuilds& builds = background_builds();
  if (builds.on) {
    auto promise = std::make_shared<std::promise<NetworkResult>>();
    impl->net = promise->get_future().share();
    {
      std::lock_guard<std::mutex> lock(builds.mutex);
      builds.started.push_back(impl->net);
    }
    std::thread([promise, spec = impl->spec, weights = impl->weights, name = std::string(what)] {
      promise->set_value(build_network(spec, *weights, name));
    }).detach();
  } else {
    std::promise<NetworkResult> done;
    done.set_value(build_network(impl->spec, *impl->weights, std::string(what)));
    impl->net = done.get_future().share();
    if (!impl->net.get().ok()) return impl->net.get().status();
  }
  return Model(std::shared_ptr<const Model::Impl>(std::move(impl)));
}

Result<Model> load_model(const std::string& path, std::string_view expected_arch) {
  auto bytes = read_file(path);
  if (!bytes.ok()) return Status::model(path, "cannot read the model file: " + bytes.status().message());
  return model_from_bytes(*bytes, path, expected_arch);
}

Result<ModelFileInfo> read_model_info(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes.ok()) return Status::model(path, "cannot read the model file: " + bytes.status().message());
  auto file = detail::decode_model_file(*bytes, path);
  if (!file.ok()) return file.status();
  ModelFileInfo info;
  info.spec = std::move(file->spec);
  info.metadata = std::move(file->metadata);
  info.format_version = file->format_version;
  info.weights_sha256 = sha256_hex(file->weights);
  return info;
}

// ---------------------------------------------------------------------------------------------
// Trainable
// ---------------------------------------------------------------------------------------------

struct Trainable::Impl {
  ModelSpec spec;
  std::unique_ptr<backend::Training> net;
  int64_t n_steps = 0;

  Status check(const TrainBatch& b) const {
    UNMASK_RETURN_IF_ERROR(detail::check_input(spec, b.inputs));
    if (static_cast<int64_t>(b.labels.size()) != b.inputs.n()) {
      return Status::input("training batch", std::to_string(b.labels.size()) + " labels for " +
                                                 std::to_string(b.inputs.n()) + " examples");
    }
    for (float y : b.labels) {
      if (!(y >= 0.0f && y <= 1.0f)) return Status::input("training batch", "labels must be in [0, 1]");
    }
    if (use_boundary(b)) {
      const int64_t side = spec.boundary_size_px();
      if (b.boundary.shape != std::vector<int64_t>{b.inputs.n(), 1, side, side} || !b.boundary.consistent()) {
        return Status::input("training batch", "boundary targets must have shape n x 1 x " +
                                                   std::to_string(side) + " x " + std::to_string(side));
      }
      if (static_cast<int64_t>(b.has_boundary.size()) != b.inputs.n()) {
        return Status::input("training batch", "has_boundary needs one flag per example");
      }
    }
    return Status::ok();
  }

  // Boundary targets are used when the model has the head and the batch carries any; they are
  // ignored for a model without the head.
  bool use_boundary(const TrainBatch& b) const { return spec.boundary_head && !b.has_boundary.empty(); }
};

Trainable::Trainable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainable::~Trainable() = default;
Trainable::Trainable(Trainable&&) noexcept = default;
Trainable& Trainable::operator=(Trainable&&) noexcept = default;

const ModelSpec& Trainable::spec() const { return impl_->spec; }
int64_t Trainable::n_steps() const { return impl_->n_steps; }

Result<Trainable> Trainable::create(const ModelSpec& spec, uint64_t seed, const OptimizerConfig& opt) {
  UNMASK_RETURN_IF_ERROR(validate_spec(spec));
  if (!(opt.learning_rate > 0) || opt.weight_decay < 0 || opt.boundary_loss_weight < 0) {
    return Status::model("optimizer", "learning_rate must be > 0, weight_decay and boundary_loss_weight >= 0");
  }
  auto b = backend_or_error();
  if (!b.ok()) return b.status();
  auto net = (*b)->create(spec, seed, opt);
  if (!net.ok()) return net.status();
  auto impl = std::make_unique<Impl>();
  impl->spec = spec;
  impl->net = std::move(*net);
  return Trainable(std::move(impl));
}

Result<StepStats> Trainable::step(const TrainBatch& batch) {
  UNMASK_RETURN_IF_ERROR(impl_->check(batch));
  auto stats = impl_->net->step(batch, impl_->use_boundary(batch));
  if (stats.ok()) ++impl_->n_steps;
  return stats;
}

Result<StepStats> Trainable::loss(const TrainBatch& batch) const {
  UNMASK_RETURN_IF_ERROR(impl_->check(batch));
  return impl_->net->loss(batch, impl_->use_boundary(batch));
}

Result<Prediction> Trainable::predict(const Batch& batch) const {
  UNMASK_RETURN_IF_ERROR(detail::check_input(impl_->spec, batch));
  return impl_->net->predict(batch);
}

Result<Model> Trainable::freeze(const Metadata& metadata) const {
  auto weights = impl_->net->weights();
  if (!weights.ok()) return weights.status();
  auto bytes = detail::encode_model_file(impl_->spec, metadata, *weights);
  if (!bytes.ok()) return bytes.status();
  return model_from_bytes(*bytes, "model " + impl_->spec.name);
}

Result<std::string> Trainable::save_state() const { return impl_->net->save_state(impl_->n_steps); }

Status Trainable::load_state(std::string_view bytes) {
  auto n_steps = impl_->net->load_state(bytes);
  if (!n_steps.ok()) return n_steps.status();
  impl_->n_steps = *n_steps;
  return Status::ok();
}

}  // namespace unmask::nn
