#include "scan/test_detectors.h"

#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "nn/nn.h"

namespace unmask::testing {
namespace {

nn::Model build_and_reload(const nn::ModelSpec& spec, uint64_t seed, const std::string& path) {
  auto net = nn::Trainable::create(spec, seed, {});
  if (!net.ok()) throw std::runtime_error(net.status().message());
  auto model = net->freeze({{"made_by", "scan tests"}});
  if (!model.ok()) throw std::runtime_error(model.status().message());
  Status s = model->save(path);
  if (!s.is_ok()) throw std::runtime_error(s.message());
  auto loaded = nn::load_model(path, spec.name);
  if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
  return *loaded;
}

class TinyCropDetector : public detect::CropDetector {
 public:
  TinyCropDetector(nn::Model model, std::string name, std::string path) : model_(std::move(model)) {
    info_.name = std::move(name);
    info_.version = "test";
    info_.model_sha256 = model_.weights_sha256();
    info_.model_path = std::move(path);
    info_.kind = detect::DetectorKind::kCrop;
  }
  const detect::DetectorInfo& info() const override { return info_; }
  face::AlignOptions alignment() const override { return {.size_px = model_.spec().input_size_px, .margin = 0.25}; }
  Result<std::vector<detect::CropScore>> score(std::span<const Image> crops) const override {
    auto batch = nn::images_to_batch(crops, model_.spec().input_size_px);
    if (!batch.ok()) return batch.status();
    auto out = model_.predict(*batch);
    if (!out.ok()) return out.status();
    std::vector<detect::CropScore> scores;
    const int b = model_.spec().boundary_size_px();
    for (size_t i = 0; i < crops.size(); ++i) {
      detect::CropScore s;
      s.score = nn::sigmoid(out->logits[i]);
      if (b > 0) {
        s.heatmap = Image(b, b, 1);
        auto values = nn::example_values(out->boundary, static_cast<int64_t>(i));
        for (int k = 0; k < b * b; ++k) s.heatmap.data()[k] = static_cast<uint8_t>(std::clamp(values[k], 0.0f, 1.0f) * 255);
      }
      scores.push_back(std::move(s));
    }
    return scores;
  }

 private:
  nn::Model model_;
  detect::DetectorInfo info_;
};

class TinyAudioDetector : public detect::AudioDetector {
 public:
  explicit TinyAudioDetector(nn::Model model) : model_(std::move(model)) {
    info_.name = "voice";
    info_.version = "test";
    info_.model_sha256 = model_.weights_sha256();
    info_.kind = detect::DetectorKind::kAudio;
  }
  const detect::DetectorInfo& info() const override { return info_; }
  int sample_rate_hz() const override { return 16000; }
  Result<detect::AudioResult> score(const Audio& audio) const override {
    detect::AudioResult r;
    const size_t window = static_cast<size_t>(audio.sample_rate_hz / 2);
    std::vector<std::vector<float>> rows;
    std::vector<std::pair<double, double>> spans;
    for (size_t start = 0; start + window <= audio.samples.size(); start += window) {
      double e = 0;
      int crossings = 0;
      for (size_t k = start; k < start + window; ++k) {
        e += double(audio.samples[k]) * audio.samples[k];
        if (k > start && (audio.samples[k] >= 0) != (audio.samples[k - 1] >= 0)) ++crossings;
      }
      const double rms = std::sqrt(e / window);
      if (rms < 0.01) continue;
      rows.push_back({static_cast<float>(rms), static_cast<float>(crossings) / window});
      spans.emplace_back(static_cast<double>(start) / audio.sample_rate_hz,
                         static_cast<double>(start + window) / audio.sample_rate_hz);
    }
    if (rows.empty()) {
      r.note = "no speech found";
      return r;
    }
    auto batch = nn::features_to_batch(rows);
    if (!batch.ok()) return batch.status();
    auto out = model_.predict(*batch);
    if (!out.ok()) return out.status();
    double sum = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double p = nn::sigmoid(out->logits[i]);
      sum += p;
      r.segments.push_back({spans[i].first, spans[i].second, p});
    }
    r.score = sum / rows.size();
    return r;
  }

 private:
  nn::Model model_;
  detect::DetectorInfo info_;
};

}  // namespace

std::shared_ptr<const detect::CropDetector> make_tiny_crop_detector(const std::string& models_dir, const std::string& name,
                                                                   uint64_t seed) {
  nn::ModelSpec spec = *nn::default_spec("blend_cnn_tiny");
  spec.boundary_head = true;
  const std::string path = (std::filesystem::path(models_dir) / (name + ".unm")).string();
  return std::make_shared<TinyCropDetector>(build_and_reload(spec, seed, path), name, path);
}

std::shared_ptr<const detect::AudioDetector> make_tiny_audio_detector(const std::string& models_dir, uint64_t seed) {
  nn::ModelSpec spec = *nn::default_spec("mlp");
  spec.n_features = 2;
  spec.widths = {8};
  const std::string path = (std::filesystem::path(models_dir) / "voice.unm").string();
  return std::make_shared<TinyAudioDetector>(build_and_reload(spec, seed, path));
}

std::shared_ptr<const detect::DetectorSet> make_tiny_detector_set(const std::string& models_dir) {
  auto set = std::make_shared<detect::DetectorSet>();
  set->crop.push_back(make_tiny_crop_detector(models_dir, "blend", 11));
  set->audio.push_back(make_tiny_audio_detector(models_dir, 12));
  return set;
}

}  // namespace unmask::testing
