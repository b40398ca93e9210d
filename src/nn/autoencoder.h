// unmask nn: the network of the autoencoder face swap (the original "deepfakes" design, sized
// for a CPU): one encoder shared by two identities, A and B, and one decoder for each. Each
// decoder learns to rebuild its identity's aligned faces from randomly warped copies, so the
// shared encoder learns pose, expression and lighting and each decoder one identity's look.
// Swapping is encoding a face of one identity and decoding it with the other's decoder.
//
//   auto net = unmask::nn::Autoencoder::create(unmask::nn::Autoencoder::default_spec(64), 7);
//   auto loss = net->step(warped_a, faces_a, warped_b, faces_b);   // one Adam step
//   net->save("pair.unm", {{"identity_a", "..."}});
//   auto swap = unmask::nn::Autoencoder::load("pair.unm");         // Status::model: exit 4
//   auto out = swap->reconstruct(faces_of_b, /*decoder=*/0);        // B's faces with A's look
//
// Faces are RGB floats in [0, 1], {n, 3, size, size} (faces_to_batch, batch_to_faces). Training
// and inference both run in LibTorch (the module nn opens on first use: ~0.45 s once).
// Deterministic: the same spec, seed and batches give the same weights on the same thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "nn/nn.h"

namespace unmask::nn {

inline constexpr char kAutoencoderArch[] = "swap_autoencoder";

// BGR (or grey) uint8 faces to an RGB batch in [0, 1] (resized bilinearly to size_px if needed).
Result<Batch> faces_to_batch(std::span<const Image> faces, int size_px);
// An RGB batch in [0, 1] back to BGR uint8 images (values clamped).
std::vector<Image> batch_to_faces(const Batch& batch);

class Autoencoder {
 public:
  // size_px (a multiple of 16, 32..256) with encoder widths 32, 64, 128, 256 and a 256-wide
  // latent code: widths = {32, 64, 128, 256, 256}.
  static ModelSpec default_spec(int size_px = 64);
  // Model error naming the field when the spec is not an autoencoder this build can make.
  static Status validate(const ModelSpec& spec);

  // A fresh network with weights drawn from `seed` and its Adam optimiser (beta1 0.5).
  static Result<Autoencoder> create(const ModelSpec& spec, uint64_t seed, double learning_rate = 2e-4);
  // A model file written by save(). Status::model naming the path when it is missing, corrupt,
  // of another architecture, or its weights do not fit.
  static Result<Autoencoder> load(const std::string& path);

  Autoencoder(Autoencoder&&) noexcept;
  Autoencoder& operator=(Autoencoder&&) noexcept;
  ~Autoencoder();

  const ModelSpec& spec() const;
  const Metadata& metadata() const;
  int64_t n_steps() const;
  int64_t n_parameters() const;

  // One Adam step: the mean absolute error of decoder A rebuilding targets_a from inputs_a plus
  // decoder B's on the B pair; returns the loss before the update. Input error when a batch is
  // not {n, 3, size, size} or a pair's shapes differ.
  Result<double> step(const Batch& inputs_a, const Batch& targets_a, const Batch& inputs_b, const Batch& targets_b);
  // `faces` encoded and decoded by decoder 0 (A) or 1 (B), in evaluation mode.
  Result<Batch> reconstruct(const Batch& faces, int decoder) const;

  // Writes the model file (nn's format: header, weights, SHA-256) atomically; `metadata` is stored
  // with it and becomes metadata().
  Status save(const std::string& path, const Metadata& metadata);
  // Weights, optimiser state and step count, for checkpoints; load_state() restores them into an
  // Autoencoder created with the same spec (model error otherwise).
  Result<std::string> save_state() const;
  Status load_state(std::string_view bytes);

 private:
  struct Impl;
  explicit Autoencoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmask::nn
