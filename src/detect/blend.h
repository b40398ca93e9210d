// unmask detect: the `blend` detector (a CNN on aligned face crops that looks for the traces a
// face swap leaves: a blending boundary, colour and sharpness mismatch) and its training data,
// self-blended images (SBI, Shiohara & Yamasaki 2022) made from real faces only.
//
// Basic usage (inference; normally through load_detectors()):
//
//   auto det = unmask::detect::load_blend_detector("models/blend.unm");   // Status::model if bad
//   auto crop = unmask::face::align_face(frame, landmarks, (*det)->alignment());
//   auto scores = (*det)->score({&crop->crop, 1});   // calibrated P(fake) + boundary heat map
//
// Basic usage (training data):
//
//   std::vector<unmask::detect::BlendCrop> crops = ...;   // extract_blend_crops() from a manifest
//   unmask::detect::SbiDataset data(crops, 128);            // 2 examples per real crop
//   auto ex = data.get(index, seed);                        // same (index, seed) -> same example
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "detect/training.h"
#include "face/face.h"
#include "learn/learn.h"
#include "nn/nn.h"

namespace unmask::detect {

inline constexpr const char* kBlendArch = "blend_cnn_small";
inline constexpr const char* kBlendVersion = "1";
// Model metadata keys the detector reads (written by train_blend).
inline constexpr const char* kBlendMetaSize = "blend.align_size_px";
inline constexpr const char* kBlendMetaMargin = "blend.align_margin";
inline constexpr const char* kBlendMetaCalibration = "blend.calibration";  // PlattScaling::serialize()
// Least Laplacian variance of a judged crop (see BlendGate): the 5th percentile of the
// training-source real crops of the project's fusion set (bench/blend/blend_probe, docs/detectors.md).
inline constexpr double kBlendMinLapVar = 204;

// ---------------------------------------------------------------------------------------------
// Which crops blend can judge
// ---------------------------------------------------------------------------------------------
//
// SBI's evidence is a blending seam and a colour/sharpness mismatch across it. On a crop that is
// very dark, blown out or without fine detail (motion blur, a small face up-sampled by the
// alignment, soft film) that evidence cannot be seen, and the network's output there is about
// the crop's look rather than about blending. Such crops are not judged: the detector gives NaN
// for them, aggregate_track leaves them out, and scan gives a track with no judged crop no blend
// score (no evidence either way). Measured on the aligned crop alone, over its central half (the inner
// face; the margin holds background and out-of-frame fill).
struct BlendCropQuality {
  double mean_luma = 0;  // 0-255, grey level of the central half
  double lap_var = 0;    // variance of the 3x3 Laplacian of the grey central half
};
BlendCropQuality measure_blend_crop(const Image& crop);

struct BlendGate {
  bool enabled = true;
  double min_luma = 50;    // darker: low light, strong casts (training crops 85-145)
  double max_luma = 210;   // brighter: blown out
  double min_lap_var = 0;  // less detail: blur, up-sampled small faces
};
// The gate the detector uses: BlendGate's defaults with min_lap_var = kBlendMinLapVar;
// UNMASK_BLEND_GATE=off turns it off (every crop judged, as version 1 did) for comparisons.
BlendGate default_blend_gate();
bool blend_crop_judgeable(const BlendCropQuality& q, const BlendGate& gate);

// Loads models/blend.unm (or any path): Status::model naming the file when it is missing,
// corrupt, of another architecture, or lacks the alignment/calibration metadata.
Result<std::shared_ptr<const CropDetector>> load_blend_detector(const std::string& model_path);
Result<std::shared_ptr<const CropDetector>> load_blend_detector(const std::string& model_path, const BlendGate& gate);

// ---------------------------------------------------------------------------------------------
// Training data
// ---------------------------------------------------------------------------------------------

// One aligned face crop (BGR, size_px square) with its landmarks in crop coordinates.
struct BlendCrop {
  Image crop;
  face::Landmarks landmarks{};
  int label = 0;        // 0 real (SBI source), 1 a labelled fake from the manifest
  std::string source;   // the file it came from (validation is split by file)
  int64_t frame = 0;
};

// ---------------------------------------------------------------------------------------------
// The blend family
// ---------------------------------------------------------------------------------------------
//
// Detectors of the blend family (blend, mouth) share the network, the SBI dataset, the trainer and
// the detector code; a recipe says what part of the aligned crop the network sees and how a
// pseudo-fake is made from a real crop. The default recipe is blend's: the whole aligned crop,
// synth::self_blend.
struct SbiRecipe {
  std::string name = "blend";  // detector name: metadata keys "<name>.align_size_px", ..., card, log lines
  std::string version = kBlendVersion;
  // Where the network's input lies in the aligned crop, as fractions of its side (heat maps are
  // put back there).
  double region_x0 = 0, region_y0 = 0, region_x1 = 1, region_y1 = 1;
  // The network's input from an aligned crop; empty: the crop itself.
  std::function<Image(const Image& aligned)> view;
  // The (real, pseudo-fake, boundary target) images of one real crop, at the view's size; empty:
  // synth::self_blend of the whole crop.
  std::function<Status(const BlendCrop& crop, std::mt19937_64& rng, Image& real, Image& fake, Image& boundary)>
      make_pair;
};

// What extract_blend_crops() does to a manifest item.
struct CropExtractOptions {
  face::AlignOptions align{.size_px = 128, .margin = 0.25};
  int every_nth_frame = 5;     // videos: frames looked at
  int max_crops_per_video = 40;
  int min_face_px = 40;        // faces with a smaller box are skipped
  std::string cache_dir;       // crops are cached per file here; empty: no cache
  ProgressFn progress;
};

struct CropExtractSummary {
  int n_items = 0;           // manifest items read
  int n_items_with_face = 0;
  int n_cached = 0;          // items whose crops came from the cache
  int n_failed = 0;          // items that could not be decoded (counted, not fatal)
};

// The largest face of every image and of every every_nth_frame-th frame of every video, aligned.
// Cached per (file, size, mtime, options), so a re-run or --resume does not detect again.
Result<std::vector<BlendCrop>> extract_blend_crops(const std::vector<learn::ManifestItem>& items,
                                                   std::shared_ptr<const face::FaceModels> models,
                                                   const CropExtractOptions& options,
                                                   CropExtractSummary* summary = nullptr);

// JPEG / blur / noise / resize / brightness-contrast augmentation, drawn from rng. The same for
// both classes so that compression or blur never reads as fakery. `boundary` (1 channel, may be
// empty) is flipped along with the image.
void augment_crop(Image& crop, Image& boundary, std::mt19937_64& rng);

// Training examples from real crops: index 2k is crop k (after the SBI pipeline's shared
// augmentations, label 0, boundary target all zero), index 2k+1 is a self-blended copy of crop k
// (label 1, boundary target 4m(1-m) at input_size/8). Labelled fakes (label 1 crops) give one
// example each, without a boundary target. Deterministic in (index, seed).
class SbiDataset : public learn::Dataset {
 public:
  SbiDataset(std::shared_ptr<const std::vector<BlendCrop>> crops, std::vector<size_t> subset, int input_size_px,
             bool augment = true, SbiRecipe recipe = {});
  size_t size() const override { return entries_.size(); }
  Result<learn::Example> get(size_t index, uint64_t seed) const override;
  // The example as images (for tests and inspection): input crop and boundary target (1 channel,
  // empty for labelled fakes).
  Status get_images(size_t index, uint64_t seed, Image& crop, Image& boundary, int& label) const;

  int label(size_t index) const;  // 0 real, 1 fake (without making the example)
  int64_t n_real() const { return n_real_; }
  int64_t n_fake() const { return n_fake_; }

 private:
  struct Entry {
    size_t crop;
    int kind;  // 0 real, 1 self-blended, 2 labelled fake
  };
  std::shared_ptr<const std::vector<BlendCrop>> crops_;
  std::vector<Entry> entries_;
  int input_size_px_;
  bool augment_;
  SbiRecipe recipe_;
  int64_t n_real_ = 0, n_fake_ = 0;
};

// Validation split by file: true for about `fraction` of the distinct sources (hash of the path).
bool is_validation_source(const std::string& source, uint64_t seed, double fraction);
// What the split hashes for an item: its path relative to the manifest's folder when it lies under
// it, else the path as it is. The same manifest moved to another folder (another machine, a test's
// temporary folder) then splits the same way.
std::string split_key(const std::string& source, const std::string& manifest_path);

// `unmask train --detector blend` (see training.h). Options beyond the request come from the
// environment for experiments and tests: UNMASK_BLEND_BATCH (32), UNMASK_BLEND_ARCH
// (blend_cnn_small; blend_cnn_tiny for quick runs), UNMASK_BLEND_LR (1e-3).
Result<TrainSummary> train_blend(const TrainRequest& request);

// The trainer of the blend family (train_blend is this with blend's recipe; train_mouth with the
// lower face's). Crop extraction reads UNMASK_BLEND_VIDEO_EVERY / UNMASK_BLEND_VIDEO_MAX for both,
// so the family shares one crop cache.
struct SbiTrainerOptions {
  SbiRecipe recipe;
  nn::ModelSpec spec;
  int batch_size = 32;
  double learning_rate = 1e-3;
  int default_epochs = 8;
  int max_crops_per_source = 1000;  // 0: no cap
  std::string init_checkpoint;      // fine-tune from another run's checkpoint (not when resuming)
  std::string recipe_text;          // model metadata train.recipe and the card's data.recipe
  std::map<std::string, std::string> metadata;  // more metadata (the card gets it too)
};
Result<TrainSummary> train_sbi_detector(const TrainRequest& request, const SbiTrainerOptions& options);

// The detector of the blend family from a model file: `recipe` gives its name and view, `arches`
// the network architectures it accepts (the first one's error is reported).
Result<std::shared_ptr<const CropDetector>> load_sbi_detector(const std::string& model_path, const SbiRecipe& recipe,
                                                              const std::vector<std::string>& arches,
                                                              const BlendGate& gate);

}  // namespace unmask::detect
