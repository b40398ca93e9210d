// Autoencoder (autoencoder.h): spec checks, batches, model files and step counting here; the
// network itself runs in the LibTorch module (autoencoder_torch.cpp).
#include "nn/autoencoder.h"

#include <algorithm>
#include <cmath>

#include "nn/backend.h"
#include "nn/model_file.h"

namespace unmask::nn {

struct Autoencoder::Impl {
  ModelSpec spec;
  Metadata metadata;
  std::unique_ptr<backend::Autoencoder> net;
  int64_t n_steps = 0;
};

Result<Batch> faces_to_batch(std::span<const Image> faces, int size_px) {
  Normalization unit;
  for (int c = 0; c < 3; ++c) {
    unit.mean_rgb[c] = 0.0f;
    unit.std_rgb[c] = 1.0f;
  }
  return images_to_batch(faces, size_px, unit);
}

std::vector<Image> batch_to_faces(const Batch& batch) {
  std::vector<Image> out;
  if (batch.shape.size() != 4 || batch.shape[1] != 3 || !batch.consistent()) return out;
  const int h = static_cast<int>(batch.shape[2]), w = static_cast<int>(batch.shape[3]);
  const size_t plane = static_cast<size_t>(h) * w;
  for (int64_t i = 0; i < batch.n(); ++i) {
    Image img(w, h, 3);
    const float* rgb = batch.values.data() + static_cast<size_t>(i) * 3 * plane;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        uint8_t* px = img.at(x, y);
        for (int c = 0; c < 3; ++c) {
          const float v = rgb[static_cast<size_t>(2 - c) * plane + static_cast<size_t>(y) * w + x];  // RGB -> BGR
          px[c] = static_cast<uint8_t>(std::lround(std::clamp(std::isfinite(v) ? v : 0.0f, 0.0f, 1.0f) * 255.0f));
        }
      }
    }
    out.push_back(std::move(img));
  }
  return out;
}

ModelSpec Autoencoder::default_spec(int size_px) {
  ModelSpec spec;
  spec.name = kAutoencoderArch;
  spec.in_channels = 3;
  spec.input_size_px = size_px;
  spec.widths = {32, 64, 128, 256, 256};
  return spec;
}

Status Autoencoder::validate(const ModelSpec& spec) {
  auto fail = [&](const std::string& why) { return Status::model(std::string("architecture ") + kAutoencoderArch, why); };
  if (spec.name != kAutoencoderArch) return Status::model("architecture", "'" + spec.name + "' is not " + kAutoencoderArch);
  if (spec.in_channels != 3) return fail("in_channels must be 3");
  if (spec.input_size_px < 32 || spec.input_size_px > 256 || spec.input_size_px % 16 != 0) {
    return fail("input_size_px must be a multiple of 16 in 32..256, got " + std::to_string(spec.input_size_px));
  }
  if (spec.boundary_head || spec.n_features != 0) return fail("no boundary head and no feature input");
  if (spec.widths.size() != 5) return fail("needs 5 widths (4 encoder stages, latent code)");
  for (int w : spec.widths) {
    if (w < 2 || w > 1024) return fail("widths must be in 2..1024");
  }
  return Status::ok();
}

Autoencoder::Autoencoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Autoencoder::Autoencoder(Autoencoder&&) noexcept = default;
Autoencoder& Autoencoder::operator=(Autoencoder&&) noexcept = default;
Autoencoder::~Autoencoder() = default;

Result<Autoencoder> Autoencoder::create(const ModelSpec& spec, uint64_t seed, double learning_rate) {
  UNMASK_RETURN_IF_ERROR(validate(spec));
  if (!(learning_rate > 0.0) || !std::isfinite(learning_rate)) return Status::usage("learning rate", "must be > 0");
  auto b = detail::torch_backend();
  if (!b.ok()) return b.status();
  auto net = (*b)->create_autoencoder(spec, seed, learning_rate);
  if (!net.ok()) return net.status();
  auto impl = std::make_unique<Impl>();
  impl->spec = spec;
  impl->net = std::move(*net);
  return Autoencoder(std::move(impl));
}

Result<Autoencoder> Autoencoder::load(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes.ok()) return Status::model(path, "cannot read the model file: " + bytes.status().message());
  auto file = detail::decode_model_file(*bytes, path);
  if (!file.ok()) return file.status();
  if (file->spec.name != kAutoencoderArch) {
    return Status::model(path, "holds architecture '" + file->spec.name + "', not an autoencoder swap model");
  }
  Status valid = validate(file->spec);
  if (!valid.is_ok()) return Status::model(path, valid.message());
  auto b = detail::torch_backend();
  if (!b.ok()) return b.status();
  auto net = (*b)->load_autoencoder(file->spec, file->weights, path);
  if (!net.ok()) return net.status();
  auto impl = std::make_unique<Impl>();
  impl->spec = std::move(file->spec);
  impl->metadata = std::move(file->metadata);
  impl->net = std::move(*net);
  return Autoencoder(std::move(impl));
}

const ModelSpec& Autoencoder::spec() const { return impl_->spec; }
const Metadata& Autoencoder::metadata() const { return impl_->metadata; }
int64_t Autoencoder::n_steps() const { return impl_->n_steps; }
int64_t Autoencoder::n_parameters() const { return impl_->net->n_parameters(); }

Result<double> Autoencoder::step(const Batch& inputs_a, const Batch& targets_a, const Batch& inputs_b,
                                 const Batch& targets_b) {
  UNMASK_RETURN_IF_ERROR(detail::check_input(impl_->spec, inputs_a));
  UNMASK_RETURN_IF_ERROR(detail::check_input(impl_->spec, inputs_b));
  if (targets_a.shape != inputs_a.shape || targets_b.shape != inputs_b.shape || !targets_a.consistent() ||
      !targets_b.consistent()) {
    return Status::input("autoencoder batch", "targets must have the shape of their inputs");
  }
  auto loss = impl_->net->step(inputs_a, targets_a, inputs_b, targets_b);
  if (loss.ok()) ++impl_->n_steps;
  return loss;
}

Result<Batch> Autoencoder::reconstruct(const Batch& faces, int decoder) const {
  UNMASK_RETURN_IF_ERROR(detail::check_input(impl_->spec, faces));
  if (decoder != 0 && decoder != 1) return Status::usage("decoder", "must be 0 (A) or 1 (B)");
  return impl_->net->reconstruct(faces, decoder);
}

Status Autoencoder::save(const std::string& path, const Metadata& metadata) {
  auto weights = impl_->net->weights();
  if (!weights.ok()) return weights.status();
  auto bytes = detail::encode_model_file(impl_->spec, metadata, *weights);
  if (!bytes.ok()) return bytes.status();
  Status written = write_file_atomic(path, *bytes);
  if (!written.is_ok()) return Status::model(path, "cannot write the model file: " + written.message());
  impl_->metadata = metadata;
  return Status::ok();
}

Result<std::string> Autoencoder::save_state() const { return impl_->net->save_state(impl_->n_steps); }

Status Autoencoder::load_state(std::string_view bytes) {
  auto n = impl_->net->load_state(bytes);
  if (!n.ok()) return n.status();
  impl_->n_steps = *n;
  return Status::ok();
}

}  // namespace unmask::nn
