// Model (immutable, shared) and Trainable (network + Adam): everything that runs LibTorch.
// Every LibTorch call is wrapped so that c10::Error becomes a Status, never an escape.
#include <mutex>
#include <sstream>
#include <string>

#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include "nn/model_file.h"
#include "nn/net.h"

namespace unmask::nn {
namespace {

// LibTorch's default generator is process-wide; weight initialisation seeds it and must not
// interleave with another seeded initialisation.
std::mutex g_seed_mutex;

// The first line of a LibTorch error, without its C++ backtrace.
std::string torch_reason(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  const size_t nl = msg.find('\n');
  if (nl != std::string::npos) msg.resize(nl);
  return msg;
}

std::string serialize_weights(const detail::Net& net) {
  torch::serialize::OutputArchive archive;
  net.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

// The shapes of every parameter and buffer, by name: LibTorch's loader replaces a tensor of the
// wrong shape instead of failing, so load_weights compares before and after.
std::map<std::string, std::vector<int64_t>> tensor_shapes(const detail::Net& net) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net.named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : net.named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  return shapes;
}

// Loads `archive` into `net`. Throws c10::Error when a tensor is missing; returns false (with the
// name in `bad`) when a tensor's shape changed.
bool load_weights(detail::Net& net, torch::serialize::InputArchive& archive, std::string& bad) {
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

torch::Tensor as_tensor(const Batch& batch) {
  // The tensor borrows the batch's storage for the duration of the call; nothing writes to it.
  return torch::from_blob(const_cast<float*>(batch.values.data()), batch.shape, torch::kFloat32);
}

std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.detach().contiguous().to(torch::kFloat32);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

Prediction to_prediction(const detail::NetOutput& out) {
  Prediction p;
  p.logits = to_vector(out.logits);
  if (out.boundary_logits.defined()) {
    p.boundary.shape = out.boundary_logits.sizes().vec();
    p.boundary.values = to_vector(torch::sigmoid(out.boundary_logits));
  }
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

struct Model::Impl {
  ModelSpec spec;
  Metadata metadata;
  std::shared_ptr<detail::Net> net;  // eval mode; never trained again
  std::string weights;               // the LibTorch archive the net was loaded from
  std::string weights_sha256;
  int64_t n_parameters = 0;
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
int64_t Model::n_parameters() const { return impl_ ? impl_->n_parameters : 0; }
const std::string& Model::weights_sha256() const { return impl_ ? impl_->weights_sha256 : kEmptyString; }
bool Model::empty() const { return !impl_; }

Result<Prediction> Model::predict(const Batch& batch) const {
  if (!impl_) return Status::model("model", "no model loaded");
  UNMASK_RETURN_IF_ERROR(check_input(impl_->spec, batch));
  detail::ensure_threads();
  try {
    c10::InferenceMode guard;
    return to_prediction(impl_->net->forward(as_tensor(batch)));
  } catch (const c10::Error& e) {
    return Status::model("model " + impl_->spec.name, "forward pass failed: " + torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model("model " + impl_->spec.name, e.what());
  }
}

Result<std::string> Model::to_bytes(const Metadata& metadata) const {
  if (!impl_) return Status::model("model", "no model loaded");
  return detail::encode_model_file(impl_->spec, metadata.empty() ? impl_->metadata : metadata, impl_->weights);
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
  detail::ensure_threads();
  auto impl = std::make_shared<Model::Impl>();
  try {
    impl->net = detail::build_net(file->spec);
    torch::serialize::InputArchive archive;
    archive.load_from(file->weights.data(), file->weights.size());
    std::string bad;
    if (!load_weights(*impl->net, archive, bad)) {
      return Status::model(what, "weights do not fit architecture " + file->spec.name + " (tensor " + bad + ")");
    }
    impl->net->eval();
    for (const auto& p : impl->net->parameters()) impl->n_parameters += p.numel();
  } catch (const c10::Error& e) {
    return Status::model(what, "weights do not fit architecture " + file->spec.name + ": " + torch_reason(e));
  } catch (const std::exception& e) {
    return Status::model(what, std::string("cannot read the weights: ") + e.what());
  }
  impl->spec = std::move(file->spec);
  impl->metadata = std::move(file->metadata);
  impl->weights = std::move(file->weights);
  impl->weights_sha256 = sha256_hex(impl->weights);
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
  OptimizerConfig config;
  std::shared_ptr<detail::Net> net;
  std::unique_ptr<torch::optim::Adam> optimizer;
  int64_t n_steps = 0;

  Status check(const TrainBatch& b) const {
    UNMASK_RETURN_IF_ERROR(check_input(spec, b.inputs));
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

  torch::Tensor loss(const TrainBatch& b, StepStats& stats) {
    auto out = net->forward(as_tensor(b.inputs));
    auto labels = torch::from_blob(const_cast<float*>(b.labels.data()), {b.inputs.n()}, torch::kFloat32);
    auto logit_loss = torch::binary_cross_entropy_with_logits(out.logits, labels);
    auto total = logit_loss;
    stats.logit_loss = logit_loss.item<double>();
    stats.boundary_loss = 0;
    if (use_boundary(b)) {
      std::vector<float> flags(b.has_boundary.begin(), b.has_boundary.end());
      for (float& f : flags) f = f ? 1.0f : 0.0f;
      auto mask = torch::tensor(flags);
      const double n_with = mask.sum().item<double>();
      if (n_with > 0) {
        auto per_pixel = torch::binary_cross_entropy_with_logits(
            out.boundary_logits, as_tensor(b.boundary), {}, {}, at::Reduction::None);
        auto boundary_loss = (per_pixel.mean({1, 2, 3}) * mask).sum() / n_with;
        stats.boundary_loss = boundary_loss.item<double>();
        total = total + config.boundary_loss_weight * boundary_loss;
      }
    }
    stats.loss = total.item<double>();
    return total;
  }
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
  detail::ensure_threads();
  auto impl = std::make_unique<Impl>();
  impl->spec = spec;
  impl->config = opt;
  try {
    {
      std::lock_guard<std::mutex> lock(g_seed_mutex);
      torch::manual_seed(seed);
      impl->net = detail::build_net(spec);
    }
    impl->optimizer = std::make_unique<torch::optim::Adam>(
        impl->net->parameters(),
        torch::optim::AdamOptions(opt.learning_rate).weight_decay(opt.weight_decay));
  } catch (const c10::Error& e) {
    return Status::model("architecture " + spec.name, "cannot build: " + torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model("architecture " + spec.name, e.what());
  }
  return Trainable(std::move(impl));
}

Result<StepStats> Trainable::step(const TrainBatch& batch) {
  UNMASK_RETURN_IF_ERROR(impl_->check(batch));
  try {
    impl_->net->train();
    impl_->optimizer->zero_grad();
    StepStats stats;
    auto total = impl_->loss(batch, stats);
    total.backward();
    impl_->optimizer->step();
    ++impl_->n_steps;
    return stats;
  } catch (const c10::Error& e) {
    return Status::model("training step", torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model("training step", e.what());
  }
}

Result<StepStats> Trainable::loss(const TrainBatch& batch) const {
  UNMASK_RETURN_IF_ERROR(impl_->check(batch));
  try {
    impl_->net->eval();
    torch::NoGradGuard no_grad;
    StepStats stats;
    impl_->loss(batch, stats);
    return stats;
  } catch (const c10::Error& e) {
    return Status::model("loss", torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model("loss", e.what());
  }
}

Result<Prediction> Trainable::predict(const Batch& batch) const {
  UNMASK_RETURN_IF_ERROR(check_input(impl_->spec, batch));
  try {
    impl_->net->eval();
    torch::NoGradGuard no_grad;
    return to_prediction(impl_->net->forward(as_tensor(batch)));
  } catch (const c10::Error& e) {
    return Status::model("model " + impl_->spec.name, "forward pass failed: " + torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model("model " + impl_->spec.name, e.what());
  }
}

Result<Model> Trainable::freeze(const Metadata& metadata) const {
  std::string weights;
  try {
    weights = serialize_weights(*impl_->net);
  } catch (const c10::Error& e) {
    return Status::model("freeze", torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model("freeze", e.what());
  }
  auto bytes = detail::encode_model_file(impl_->spec, metadata, weights);
  if (!bytes.ok()) return bytes.status();
  return model_from_bytes(*bytes, "model " + impl_->spec.name);
}

Result<std::string> Trainable::save_state() const {
  try {
    torch::serialize::OutputArchive top, model_archive, optimizer_archive;
    impl_->net->save(model_archive);
    impl_->optimizer->save(optimizer_archive);
    top.write("arch", c10::IValue(impl_->spec.name));
    top.write("n_steps", c10::IValue(impl_->n_steps));
    top.write("model", model_archive);
    top.write("optimizer", optimizer_archive);
    std::ostringstream os;
    top.save_to(os);
    return os.str();
  } catch (const c10::Error& e) {
    return Status::model("training state", torch_reason(e));
  } catch (const std::exception& e) {  // std::bad_alloc and friends
    return Status::model("training state", e.what());
  }
}

Status Trainable::load_state(std::string_view bytes) {
  try {
    torch::serialize::InputArchive top, model_archive, optimizer_archive;
    top.load_from(bytes.data(), bytes.size());
    c10::IValue arch, n_steps;
    top.read("arch", arch);
    top.read("n_steps", n_steps);
    if (!arch.isString() || arch.toStringRef() != impl_->spec.name || !n_steps.isInt()) {
      return Status::model("training state", "was saved for another architecture");
    }
    top.read("model", model_archive);
    top.read("optimizer", optimizer_archive);
    std::string bad;
    if (!load_weights(*impl_->net, model_archive, bad)) {
      return Status::model("training state", "weights do not fit " + impl_->spec.name + " (tensor " + bad + ")");
    }
    impl_->optimizer->load(optimizer_archive);
    impl_->n_steps = n_steps.toInt();
    return Status::ok();
  } catch (const c10::Error& e) {
    return Status::model("training state", torch_reason(e));
  } catch (const std::exception& e) {
    return Status::model("training state", e.what());
  }
}

}  // namespace unmask::nn
