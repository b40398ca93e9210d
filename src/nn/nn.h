// unmask nn: the small CPU networks the detectors use, their model files, and the conversion of
// images to the float batches they eat. LibTorch stays inside src/nn/*.cpp: this header speaks
// the project's own types only.
//
// Basic usage (inference):
//
//   auto model = unmask::nn::load_model("models/blend.unm", "blend_cnn_small");
//   if (!model.ok()) return model.status();              // Status::model: exit code 4
//   int size = model->spec().input_size_px;
//   auto batch = unmask::nn::images_to_batch(face_crops, size);   // BGR crops, any size
//   if (!batch.ok()) return batch.status();
//   auto out = model->predict(*batch);                    // out->logits: one per crop
//   float p_fake = unmask::nn::sigmoid(out->logits[0]);
//
// Basic usage (training; learn::train_binary wraps this in a seeded, resumable loop):
//
//   auto spec = unmask::nn::default_spec("mlp");          // then set spec->n_features
//   auto net = unmask::nn::Trainable::create(*spec, /*seed=*/7, {});
//   auto loss = net->step(inputs, labels);                // one Adam step, BCE with logits
//   auto frozen = net->freeze();                          // an immutable Model
//   frozen->save("mlp.unm", {{"trained_on", "..."}});
//
// Inference runs on nn's own kernels (plain C++, the same results as LibTorch's to ~1e-5), so a
// process that only scores never loads LibTorch; training runs in LibTorch, opened on first use.
//
// Threads: a forward pass over several examples uses up to num_threads() threads (default
// kDefaultThreads, 2); training uses LibTorch's intra-op pool of the same size.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace unmask::nn {

inline constexpr int kDefaultThreads = 2;

// Sets the thread count of forward passes and of LibTorch's intra-op pool (process-wide). Call it
// before starting threads that run models. Neither opens the LibTorch module.
void set_num_threads(int n_threads);
int num_threads();

// LibTorch lives in a module (libunmask_nn_torch.so) that nn opens the first time a network is
// trained (Trainable::create); opening it costs ~0.45 s of CPU. UNMASK_NN_MODULE in the
// environment names the module file; otherwise it is looked for next to the executable, then in
// the build tree. Without it, training is a model error naming the paths tried.
// UNMASK_NN_INFERENCE=torch runs loaded models on LibTorch too (for comparisons).
//
// Background builds: models loaded while this is on return as soon as their file is read and
// checked (header, spec, checksum); the network is built from its weights on a thread, so that
// the cost overlaps other work (scan: the decode). The first predict() waits for it, and build
// failures (weights that do not fit the architecture) come from predict() (n_parameters() waits
// for the build), and wait_for_builds() reports them.
void set_background_builds(bool on);
// Waits for every background build started since the last call and forgets them (their models
// keep their networks); the first failure among them, or ok.
Status wait_for_builds();

// ---------------------------------------------------------------------------------------------
// Batches: dense float tensors in row-major order, without LibTorch types.
// ---------------------------------------------------------------------------------------------

// shape is {n, channels, height, width} for images and {n, n_features} for feature vectors;
// values.size() equals the product of shape.
struct Batch {
  std::vector<int64_t> shape;
  std::vector<float> values;

  int64_t n() const { return shape.empty() ? 0 : shape[0]; }
  // Values per example: the product of shape[1..].
  int64_t example_size() const;
  bool consistent() const;  // shape non-empty, no negative dims, values.size() matches
};

// Per-channel normalisation applied after scaling pixels to [0, 1]: (x - mean) / std, in RGB
// order. The defaults are the ImageNet statistics.
struct Normalization {
  float mean_rgb[3] = {0.485f, 0.456f, 0.406f};
  float std_rgb[3] = {0.229f, 0.224f, 0.225f};
};

// BGR (or 1-channel gray, replicated) uint8 images to an RGB float batch {n, 3, size, size}.
// Images of another size are resized bilinearly (aligned crops normally arrive at the right
// size already). Input error when the list or an image is empty or has 2 or 4+ channels.
Result<Batch> images_to_batch(std::span<const Image> images, int size_px,
                              const Normalization& norm = {});

// Equal-length feature rows to a batch {n, n_features}. Input error when lengths differ.
Result<Batch> features_to_batch(const std::vector<std::vector<float>>& rows);

// The example_size() floats of example `index` (< n()) of `batch`.
std::span<const float> example_values(const Batch& batch, int64_t index);

inline float sigmoid(float logit) { return 1.0f / (1.0f + std::exp(-logit)); }

// ---------------------------------------------------------------------------------------------
// Architectures: a registry keyed by name.
// ---------------------------------------------------------------------------------------------

// Everything needed to rebuild a network; stored in every model file's header.
struct ModelSpec {
  std::string name;          // registry key: "blend_cnn_small", "blend_cnn_tiny", "mlp"
  // CNNs: input is {n, in_channels, input_size_px, input_size_px}; input_size_px a multiple of
  // 16, >= 32. The boundary map (when boundary_head) is input_size_px / 8 on a side.
  int in_channels = 3;
  int input_size_px = 0;
  bool boundary_head = false;
  // MLP: input is {n, n_features}.
  int n_features = 0;
  // CNN: channel count of each stage (stem first); MLP: hidden layer sizes.
  std::vector<int> widths;

  bool is_image_model() const { return input_size_px > 0; }
  int boundary_size_px() const { return boundary_head ? input_size_px / 8 : 0; }
  // The shape of one input example: {in_channels, size, size} or {n_features}.
  std::vector<int64_t> example_shape() const;
};

// Registered architecture names, sorted.
std::vector<std::string> architecture_names();
// The defaults for a registered name; Status::model for an unknown one.
Result<ModelSpec> default_spec(std::string_view name);
// Model error when the spec cannot be built (unknown name, bad sizes); names the field.
Status validate_spec(const ModelSpec& spec);

// ---------------------------------------------------------------------------------------------
// Inference: an immutable loaded model.
// ---------------------------------------------------------------------------------------------

struct Prediction {
  std::vector<float> logits;  // one per example; sigmoid() gives P(fake)
  Batch boundary;             // {n, 1, b, b} probabilities of "blending boundary here" when the
                              // model has a boundary head; empty otherwise
};

// Free-form key/value pairs stored in a model file's header (training data, seed, calibration).
// Keys: [A-Za-z0-9_.-]+; values: any text without newlines.
using Metadata = std::map<std::string, std::string>;

// A network with fixed weights, in evaluation mode (batch norm uses running statistics).
// Value type: copies share the same weights, which never change after construction.
// Thread-safety: every const method may be called concurrently from any number of threads.
class Model {
 public:
  Model();  // an empty model: predict() returns Status::model
  ~Model();
  Model(const Model&);
  Model& operator=(const Model&);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const ModelSpec& spec() const;
  const Metadata& metadata() const;
  int64_t n_parameters() const;
  // Hex SHA-256 of the serialised weights: the same weights give the same hash.
  const std::string& weights_sha256() const;
  bool empty() const;

  // Forward pass. Input error when the batch shape does not match spec().example_shape().
  Result<Prediction> predict(const Batch& batch) const;

  // Writes the model file atomically (see load_model for the format). `metadata` replaces the
  // model's own metadata in the file when non-empty.
  Status save(const std::string& path, const Metadata& metadata = {}) const;
  // The same bytes save() writes.
  Result<std::string> to_bytes(const Metadata& metadata = {}) const;

 private:
  struct Impl;
  friend class Trainable;
  friend Result<Model> model_from_bytes(std::string_view, std::string_view, std::string_view);
  explicit Model(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Loads a model file. The file is "UNMASKNN" + format version + a text header (architecture,
// input size, widths, metadata) + the LibTorch weights + a SHA-256 of all that. Every failure is
// Status::model naming the path: missing or unreadable file, bad magic, unsupported format
// version, truncation, checksum mismatch, unknown architecture, weights that do not fit the
// architecture, and — when `expected_arch` is non-empty — a different architecture name.
Result<Model> load_model(const std::string& path, std::string_view expected_arch = {});
// The same from bytes in memory; `what` names the source in messages.
Result<Model> model_from_bytes(std::string_view bytes, std::string_view what,
                               std::string_view expected_arch = {});

// The header of a model file without building the network (for `unmask eval` listings, model
// cards). Same errors as load_model for the header part.
struct ModelFileInfo {
  ModelSpec spec;
  Metadata metadata;
  int format_version = 0;
  std::string weights_sha256;
};
Result<ModelFileInfo> read_model_info(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Training: a network with an Adam optimiser.
// ---------------------------------------------------------------------------------------------

struct OptimizerConfig {
  double learning_rate = 1e-3;
  double weight_decay = 0.0;           // L2, Adam-style (added to the gradient)
  double boundary_loss_weight = 1.0;   // weight of the boundary-map BCE next to the logit BCE
};

// One mini-batch. labels: 0 real, 1 fake, one per example. boundary (optional): {n, 1, b, b}
// targets in [0, 1] for the boundary head; has_boundary[i] says whether example i has a target
// (its map values are ignored otherwise). Leave both empty when there are no targets.
struct TrainBatch {
  Batch inputs;
  std::vector<float> labels;
  Batch boundary;
  std::vector<uint8_t> has_boundary;
};

struct StepStats {
  double loss = 0;           // total loss before the update (logit BCE + weighted boundary BCE)
  double logit_loss = 0;     // mean BCE with logits
  double boundary_loss = 0;  // mean per-pixel BCE over examples with a target; 0 when none
};

// A network being trained. Not thread-safe: one thread drives it. Deterministic: the same spec,
// seed and sequence of batches give the same weights (on the same thread count).
class Trainable {
 public:
  // Builds the network with weights drawn from `seed`. Model error for a bad spec.
  static Result<Trainable> create(const ModelSpec& spec, uint64_t seed, const OptimizerConfig& opt);
  ~Trainable();
  Trainable(Trainable&&) noexcept;
  Trainable& operator=(Trainable&&) noexcept;

  const ModelSpec& spec() const;
  int64_t n_steps() const;  // optimiser steps taken

  // One optimiser step on the batch (training mode: batch norm uses batch statistics).
  Result<StepStats> step(const TrainBatch& batch);
  // The loss on a batch in evaluation mode, without changing anything.
  Result<StepStats> loss(const TrainBatch& batch) const;
  // Evaluation-mode forward pass.
  Result<Prediction> predict(const Batch& batch) const;

  // An immutable copy of the current weights (the Trainable keeps training independently).
  Result<Model> freeze(const Metadata& metadata = {}) const;

  // Weights + optimiser state + step count, for checkpoints; load_state() restores them into a
  // Trainable created with the same spec. Model error for state of another spec or corrupt bytes;
  // after a failed load_state() the Trainable's weights are unspecified: discard it.
  Result<std::string> save_state() const;
  Status load_state(std::string_view bytes);

 private:
  struct Impl;
  explicit Trainable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace unmask::nn
