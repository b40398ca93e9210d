// train_voice: the voice detector's trainer. Real speech and synthetic speech from the manifest,
// plus speech the project makes itself: espeak-ng (the training voices only, several rates and
// pitches), Griffin-Lim resynthesis of every real training file and (version 2) a second
// resynthesis of it by one of four other vocoders (label fake, kept in the same train/validation
// split as its source so a speaker never crosses the split). Every clip also gives a copy through
// a random channel (codec, low-pass, noise: voice_channels.cpp) with the same label. Ensembles of
// trained networks: voice_ensemble.cpp.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/json_text.h"
#include "detect/audio_features.h"
#include "detect/feature_model.h"
#include "detect/training.h"
#include "detect/voice.h"
#include "detect/voice_training.h"
#include "learn/learn.h"
#include "media/media.h"
#include "nn/nn.h"
#include "synth/synth.h"

namespace unmask::detect {

using voice_training::kMaxFileSeconds;
using voice_training::kVocoderFamilies;
using voice_training::kVocoderFamilyNames;
using voice_training::n_espeak_clips;
using voice_training::random_channel;
using voice_training::vocoder_variant;
using voice_training::voice_row_used;

namespace {

constexpr double kMaxResynthSeconds = 12.0;
constexpr int kDefaultEpochs = 30;

struct Labelled {
  std::vector<float> features;
  int label = 0;
  int group = 0;  // source file: windows of one recording (and its resynthesis) share a split
};

// One clip's patches for the CNN (version 2): every patch is a training example; the windows give
// the window and file logits on validation clips.
struct LabelledClip {
  VoicePatches patches;
  int label = 0;
  int group = 0;
  int file = 0;                // the clip and its channel copy share it: one file on validation
  bool project_made = false;   // espeak-ng or a resynthesis (not a manifest file)
};

constexpr int kTrainPatchStep = 50;  // 0.5 s between training patches (scoring uses 30)
constexpr int kCnnDefaultEpochs = 12;

double logit(double p) {
  p = std::clamp(p, 1e-7, 1.0 - 1e-7);
  return std::log(p / (1.0 - p));
}

std::vector<float> patch_tensor(const std::vector<float>& patch, const std::vector<float>& mean, const std::vector<float>& scale) {
  std::vector<float> out(patch.size());
  for (int b = 0; b < kVoicePatchBands; ++b) {
    for (int t = 0; t < kVoicePatchFrames; ++t) {
      const size_t k = static_cast<size_t>(b) * kVoicePatchFrames + t;
      out[k] = (patch[k] - mean[b]) / scale[b];
    }
  }
  return out;
}

// Adam with batch 64, checkpointed next to the model; the training's progress reported as 50-95 %.
learn::TrainConfig voice_train_config(const TrainRequest& req, int default_epochs, double learning_rate,
                                      double weight_decay) {
  learn::TrainConfig cfg;
  cfg.epochs = req.epochs > 0 ? req.epochs : default_epochs;
  cfg.batch_size = 64;
  cfg.seed = req.seed;
  cfg.optimizer.learning_rate = learning_rate;
  cfg.optimizer.weight_decay = weight_decay;
  cfg.checkpoint_path = req.out_path + ".ckpt";
  cfg.resume = req.resume;
  if (req.progress) {
    cfg.progress = [progress = req.progress](double f, std::string_view stage) { progress(0.5 + 0.45 * f, std::string(stage)); };
  }
  return cfg;
}

// The validation numbers both versions report: windows (calibrated) and files, and the time.
std::map<std::string, double> validation_metrics(const learn::BinaryMetrics& windows, const learn::BinaryMetrics& files,
                                                 SteadyClock::time_point t0) {
  return {{"val_auc", windows.auc},
          {"val_eer", windows.eer},
          {"val_log_loss", windows.log_loss},
          {"val_accuracy", windows.accuracy},
          {"val_file_auc", files.auc},
          {"val_file_eer", files.eer},
          {"train_seconds", seconds_since(t0)}};
}

// Input error naming the manifest when either class has fewer than 10 examples.
Status enough_examples(const TrainRequest& req, int64_t n_real, int64_t n_fake, const std::string& unit) {
  if (n_real >= 10 && n_fake >= 10) return Status::ok();
  return Status::input(req.manifest_path, "too little speech to train on (" + std::to_string(n_real) + " real, " +
                                              std::to_string(n_fake) + " synthetic " + unit + ")");
}

// Per column mean and deviation from running sums of values and squares over `count` values each
// (a deviation <= 1e-6 reads as 1).
void mean_and_deviation(const std::vector<double>& sum, const std::vector<double>& sq, double count, std::vector<float>& mean,
                        std::vector<float>& deviation) {
  mean.assign(sum.size(), 0.0f);
  deviation.assign(sum.size(), 1.0f);
  for (size_t k = 0; k < sum.size(); ++k) {
    const double m = sum[k] / std::max(1.0, count);
    mean[k] = static_cast<float>(m);
    const double sd = std::sqrt(std::max(0.0, sq[k] / std::max(1.0, count) - m * m));
    deviation[k] = static_cast<float>(sd > 1e-6 ? sd : 1.0);
  }
}

std::set<int> validation_groups(uint64_t seed, int n_groups) { return voice_validation_groups(seed, n_groups); }


// Where the training data came from, as both model versions record it.
struct VoiceDataCounts {
  std::map<std::string, int> files_by_source;
  int64_t real_files = 0, fake_files = 0, resynthesised = 0, espeak_clips = 0;
};

// What a trainer hands over once its network is trained and calibrated.
struct VoiceModelOutput {
  std::string features;            // kVoiceCnnFeatureVersion or kVoiceFeatureVersion
  nlohmann::json architecture;     // for the card
  nn::Metadata metadata;           // the version's own model metadata (standardisation, counts)
  nlohmann::json data;             // the version's own card data entries
  int epochs = 0;
  int64_t n_real = 0, n_fake = 0;  // examples (patches or windows)
};

// Writes the model file (the common metadata: features, both calibrations, seed, manifest name,
// espeak-ng voices; plus the version's own) and its card next to it (detector, sha256, seed,
// command, epochs, architecture, data, metrics, calibrations), and returns the summary.
Result<TrainSummary> write_voice_model(const TrainRequest& req, const learn::TrainResult& trained,
                                       const VoiceModelOutput& out, const VoiceDataCounts& counts,
                                       const learn::PlattScaling& platt, const learn::PlattScaling& file_platt,
                                       std::map<std::string, double> metrics) {
  TrainSummary summary;
  summary.model_path = req.out_path;
  std::filesystem::path card = req.out_path;
  card.replace_extension(".card.json");
  summary.card_path = card.string();
  summary.n_real = out.n_real;
  summary.n_fake = out.n_fake;
  summary.metrics = std::move(metrics);
  const auto& voices = voice_training_espeak_voices();
  std::string voices_list;
  for (const auto& v : voices) voices_list += (voices_list.empty() ? "" : " ") + v;
  nn::Metadata meta = out.metadata;
  meta["features"] = out.features;
  meta["calibration"] = platt.serialize();
  meta["file_calibration"] = file_platt.serialize();
  meta["seed"] = std::to_string(req.seed);
  meta["trained_on"] = std::filesystem::path(req.manifest_path).filename().string();
  meta["espeak_voices"] = voices_list;
  UNMASK_RETURN_IF_ERROR(trained.model.save(req.out_path, meta));
  auto sha = sha256_file(req.out_path);
  if (!sha.ok()) return sha.status();

  nlohmann::json j;
  j["detector"] = "voice";
  j["model"] = std::filesystem::path(req.out_path).filename().string();
  j["sha256"] = *sha;
  j["weights_sha256"] = trained.model.weights_sha256();
  j["architecture"] = out.architecture;
  j["features"] = out.features;
  j["seed"] = req.seed;
  j["command"] = req.command_line;
  j["epochs"] = out.epochs;
  nlohmann::json data = {{"manifest", req.manifest_path},
                         {"files_by_source", counts.files_by_source},
                         {"real_files", counts.real_files},
                         {"fake_files", counts.fake_files},
                         {"griffin_lim_resynthesised_real_files", counts.resynthesised},
                         {"espeak_clips", counts.espeak_clips},
                         {"espeak_voices", voices},
                         {"espeak_voices_held_out", voice_heldout_espeak_voices()},
                         {"validation", "15% of source files (seeded), used for Platt scaling and the metrics below"},
                         {"rows_used", "audio rows of either label; real video rows (their audio); fake video rows never"}};
  data.update(out.data);
  j["data"] = std::move(data);
  nlohmann::json metrics_json;
  for (const auto& [k, v] : summary.metrics) metrics_json[k] = v;
  j["metrics"] = metrics_json;
  j["calibration"] = platt.serialize();
  j["file_calibration"] = file_platt.serialize();
  UNMASK_RETURN_IF_ERROR(write_file_atomic(summary.card_path, json_text(j, 2) + "\n"));
  summary.metrics["n_steps"] = static_cast<double>(trained.n_steps);
  return summary;
}

}  // namespace

void voice_mask_patch(std::vector<float>& patch, const std::vector<float>& band_fill, uint64_t seed,
                      const VoiceMaskOptions& options) {
  if (patch.size() != static_cast<size_t>(kVoicePatchBands) * kVoicePatchFrames || band_fill.size() != kVoicePatchBands) return;
  std::mt19937_64 rng(seed);
  auto stretches = [&](int max_masks, int max_width, int extent, auto&& mask_one) {
    if (max_masks < 1 || max_width < 1) return;
    const int n = std::uniform_int_distribution<int>(1, max_masks)(rng);
    for (int m = 0; m < n; ++m) {
      const int width = std::uniform_int_distribution<int>(1, std::min(max_width, extent))(rng);
      const int start = std::uniform_int_distribution<int>(0, extent - width)(rng);
      for (int k = start; k < start + width; ++k) mask_one(k);
    }
  };
  stretches(options.max_freq_masks, options.max_freq_width, kVoicePatchBands, [&](int b) {
    std::fill_n(patch.begin() + static_cast<std::ptrdiff_t>(b) * kVoicePatchFrames, kVoicePatchFrames, band_fill[b]);
  });
  stretches(options.max_time_masks, options.max_time_width, kVoicePatchFrames, [&](int t) {
    for (int b = 0; b < kVoicePatchBands; ++b) patch[static_cast<size_t>(b) * kVoicePatchFrames + t] = band_fill[b];
  });
}

Result<learn::Example> VoiceMaskedDataset::get(size_t index, uint64_t seed) const {
  auto ex = base_.get(index, seed);
  if (!ex.ok()) return ex.status();
  static const std::vector<float> zeros(kVoicePatchBands, 0.0f);
  voice_mask_patch(ex->input, zeros, seed, options_);
  return ex;
}

namespace {

// Version 2: trains the CNN on every patch of the training clips, validates on the clips of 15 %
// of the source groups (window logit = mean of its patches' logits; file logit = top quarter of
// the window logits), fits both Platt scalings there and writes model and card.
Result<TrainSummary> fit_voice_cnn(const TrainRequest& req, const std::vector<LabelledClip>& clips, int n_groups,
                                   SteadyClock::time_point t0, const VoiceDataCounts& counts,
                                   const std::array<int64_t, kVocoderFamilies>& n_vocoded, const VoiceTrainOptions& options) {
  auto progress = [&](double f, const std::string& stage) {
    if (req.progress) req.progress(f, stage);
  };
  int64_t n_real = 0, n_fake = 0;
  for (const auto& c : clips) (c.label ? n_fake : n_real) += static_cast<int64_t>(c.patches.patches.size());
  UNMASK_RETURN_IF_ERROR(enough_examples(req, n_real, n_fake, "patches"));
  const std::set<int> val_groups = validation_groups(req.seed, n_groups);

  // Per-band standardisation from the training patches.
  std::vector<double> sum(kVoicePatchBands, 0.0), sq(kVoicePatchBands, 0.0);
  double count = 0;
  for (const auto& c : clips) {
    if (val_groups.count(c.group)) continue;
    for (const auto& p : c.patches.patches) {
      for (int b = 0; b < kVoicePatchBands; ++b) {
        for (int t = 0; t < kVoicePatchFrames; ++t) {
          const double v = p[static_cast<size_t>(b) * kVoicePatchFrames + t];
          sum[b] += v;
          sq[b] += v * v;
        }
      }
      count += kVoicePatchFrames;
    }
  }
  std::vector<float> band_mean, band_std;
  mean_and_deviation(sum, sq, count, band_mean, band_std);

  auto spec = nn::default_spec("blend_cnn_tiny");
  if (!spec.ok()) return spec.status();
  spec->in_channels = 1;
  spec->input_size_px = kVoicePatchFrames;
  spec->boundary_head = false;
  spec->widths = {16, 16, 24, 32, 48, 64};
  learn::InMemoryDataset train(spec->example_shape()), val(spec->example_shape());
  struct ValWindow {
    int file, label;
    bool project_made;
    std::vector<size_t> rows;  // rows of `val`
  };
  std::vector<ValWindow> val_windows;
  std::vector<int> val_patch_labels;
  int64_t n_train_patches = 0;
  for (const auto& c : clips) {
    const bool is_val = val_groups.count(c.group) > 0;
    const size_t first = val.size();
    for (const auto& p : c.patches.patches) {
      UNMASK_RETURN_IF_ERROR((is_val ? val : train).add(patch_tensor(p, band_mean, band_std), static_cast<float>(c.label)));
      if (is_val) val_patch_labels.push_back(c.label);
      else ++n_train_patches;
    }
    if (!is_val) continue;
    for (const auto& ids : c.patches.window_patches) {
      ValWindow w{c.file, c.label, c.project_made, {}};
      for (int k : ids) w.rows.push_back(first + static_cast<size_t>(k));
      val_windows.push_back(std::move(w));
    }
  }
  const learn::TrainConfig cfg = voice_train_config(req, kCnnDefaultEpochs, 2e-3, 1e-4);
  const VoiceMaskedDataset masked(train);
  const learn::Dataset& unmixed = options.spec_augment ? static_cast<const learn::Dataset&>(masked) : train;
  const learn::MixupDataset mixed(unmixed, options.mixup_alpha);
  auto result = learn::train_binary(*spec, options.mixup_alpha > 0.0 ? static_cast<const learn::Dataset&>(mixed) : unmixed, &val, cfg);
  if (!result.ok()) return result.status();

  auto val_probs = learn::predict_dataset(result->model, val);
  if (!val_probs.ok()) return val_probs.status();
  std::vector<double> window_logits;
  std::vector<int> window_labels;
  std::map<int, std::vector<double>> logits_by_file;
  std::map<int, std::pair<int, bool>> file_kind;  // label, project-made
  for (const auto& w : val_windows) {
    double sum_logit = 0;
    for (size_t r : w.rows) sum_logit += logit((*val_probs)[r]);
    const double l = sum_logit / static_cast<double>(w.rows.size());
    window_logits.push_back(l);
    window_labels.push_back(w.label);
    logits_by_file[w.file].push_back(l);
    file_kind[w.file] = {w.label, w.project_made};
  }
  learn::PlattScaling platt;
  UNMASK_RETURN_IF_ERROR(platt.fit(window_logits, window_labels));
  // The file scaling is fitted on the validation files of the manifest (real speech against the
  // manifest's synthetic speech). The project's own fakes (espeak-ng, resyntheses) are far easier
  // to tell than TTS the network has never seen; with them the fit put P = 0.5 far above the
  // reals and called most unseen TTS files bona fide.
  std::vector<double> file_logits, manifest_file_logits;
  std::vector<int> file_labels, manifest_file_labels;
  for (const auto& [file, logits] : logits_by_file) {
    const auto [label, project_made] = file_kind[file];
    file_logits.push_back(voice_file_logit(logits));
    file_labels.push_back(label);
    if (!project_made) {
      manifest_file_logits.push_back(file_logits.back());
      manifest_file_labels.push_back(label);
    }
  }
  learn::PlattScaling file_platt;
  if (!file_platt.fit(manifest_file_logits, manifest_file_labels).is_ok()) {
    UNMASK_RETURN_IF_ERROR(file_platt.fit(file_logits, file_labels));  // no manifest fakes in validation
  }
  std::vector<double> file_probs, manifest_file_probs, calibrated, patch_probs(val_probs->begin(), val_probs->end());
  for (double s : file_logits) file_probs.push_back(file_platt.apply(s));
  for (double s : manifest_file_logits) manifest_file_probs.push_back(file_platt.apply(s));
  for (double s : window_logits) calibrated.push_back(platt.apply(s));
  const auto fm = learn::binary_metrics(file_probs, file_labels);
  const auto mfm = learn::binary_metrics(manifest_file_probs, manifest_file_labels);
  const auto m = learn::binary_metrics(calibrated, window_labels);
  const auto pm = learn::binary_metrics(patch_probs, val_patch_labels);

  auto metrics = validation_metrics(m, fm, t0);
  metrics["val_patch_auc"] = pm.auc;
  metrics["val_manifest_file_auc"] = mfm.auc;
  metrics["val_manifest_file_eer"] = mfm.eer;
  metrics["val_manifest_file_log_loss"] = mfm.log_loss;
  nlohmann::json vocoded = nlohmann::json::array();
  for (int f = 0; f < kVocoderFamilies; ++f) vocoded.push_back({{"vocoder", kVocoderFamilyNames[f]}, {"files", n_vocoded[f]}});
  VoiceModelOutput out;
  out.features = kVoiceCnnFeatureVersion;
  out.architecture = {{"name", spec->name}, {"in_channels", 1}, {"input_size_px", kVoicePatchFrames}, {"widths", spec->widths}};
  const std::string alpha_text = (std::ostringstream() << options.mixup_alpha).str();
  out.metadata = {{"band_mean", format_floats(band_mean)},
                  {"band_std", format_floats(band_std)},
                  {"n_real_patches", std::to_string(n_real)},
                  {"n_fake_patches", std::to_string(n_fake)},
                  {"train_spec_augment", options.spec_augment ? "1" : "0"}};
  // Only a mixup run records its alpha: the default recipe's model file stays as it was.
  if (options.mixup_alpha > 0.0) out.metadata["train_mixup_alpha"] = alpha_text;
  if (options.telephone_channel) out.metadata["train_telephone_channel"] = "1";
  out.data = {{"griffin_lim_settings", "per file: 64/80/128 mel bands, 16/32/64 iterations (seeded)"},
              {"second_resynthesis_per_real_file", vocoded},
              {"file_calibration_fit", "validation files of the manifest only (real vs manifest synthetic), not the project-made fakes"},
              {"augmentation", options.telephone_channel
                                   ? "one copy of every clip: 2/7 mp3 32-96 kbit/s, 1/7 AAC, 1/7 telephone (8 kHz, 8-bit mu-law), 3/7 low-pass 3.4/5.5/7 kHz or none plus noise 20-45 dB down"
                                   : "one copy of every clip: 1/3 mp3 32-96 kbit/s, 1/6 AAC, 1/2 low-pass 3.4/5.5/7 kHz or none plus noise 20-45 dB down"},
              {"patch_masking", options.spec_augment ? "SpecAugment-style, every training patch each time drawn: 1-2 frequency masks of 1-8 of the 64 bands and 1-2 time masks of 1-8 of the 64 frames, at the band mean"
                                                     : "none"},
              {"patch_mixup", options.mixup_alpha > 0.0 ? "every training patch mixed with a seeded partner patch, lambda ~ Beta(" + alpha_text + ", same) folded to >= 0.5, labels mixed alike"
                                                         : "none"},
              {"real_patches", n_real},
              {"fake_patches", n_fake},
              {"train_patches", n_train_patches}};
  out.epochs = cfg.epochs;
  out.n_real = n_real;
  out.n_fake = n_fake;
  auto summary = write_voice_model(req, *result, out, counts, platt, file_platt, std::move(metrics));
  if (!summary.ok()) return summary.status();
  progress(1.0, "done");
  return summary;
}

}  // namespace

Result<TrainSummary> train_voice(const TrainRequest& req) { return train_voice_model(req, "cnn"); }

Result<TrainSummary> train_voice_model(const TrainRequest& req, const std::string& model_kind, const VoiceTrainOptions& options) {
  if (model_kind != "cnn" && model_kind != "mlp") return Status::usage("voice model kind", "must be cnn or mlp, not '" + model_kind + "'");
  if (options.spec_augment && model_kind != "cnn") return Status::usage("voice spec augment", "patch masking needs the cnn model kind");
  if (options.mixup_alpha < 0.0 || !std::isfinite(options.mixup_alpha)) return Status::usage("voice mixup", "alpha must be a finite number >= 0");
  if (options.mixup_alpha > 0.0 && model_kind != "cnn") return Status::usage("voice mixup", "patch mixup needs the cnn model kind");
  const bool cnn = model_kind == "cnn";
  const auto t0 = SteadyClock::now();
  auto items = learn::read_manifest(req.manifest_path);
  if (!items.ok()) return items.status();
  if (req.threads > 0) nn::set_num_threads(req.threads);
  auto progress = [&](double f, const std::string& stage) {
    if (req.progress) req.progress(f, stage);
  };

  std::vector<Labelled> data;
  std::vector<LabelledClip> clips;
  VoiceDataCounts counts;
  std::array<int64_t, kVocoderFamilies> n_vocoded{};
  int group = 0;
  std::mt19937_64 channel_rng(req.seed * 7919 + 1);
  std::mt19937_64 vocoder_rng(req.seed * 104729 + 3);
  // Windows of the clip as it is and of one copy through a random channel.
  int n_files = 0;
  auto add_windows = [&](const Audio& audio, int label, int g, bool project_made = false) -> size_t {
    if (cnn) {
      auto vp = voice_patches(audio, kTrainPatchStep);
      const size_t n = vp.windows.size();
      if (n == 0) return 0;
      const int file = n_files++;
      clips.push_back({std::move(vp), label, g, file, project_made});
      auto copy = voice_patches(random_channel(resample(audio, kFeatureRateHz), channel_rng, true, options.telephone_channel),
                                kTrainPatchStep);
      if (!copy.windows.empty()) clips.push_back({std::move(copy), label, g, file, project_made});
      return n;
    }
    const auto windows = voice_windows(audio);
    for (const auto& w : windows) data.push_back({w.features, label, g});
    if (!windows.empty()) {
      for (const auto& w : voice_windows(random_channel(resample(audio, kFeatureRateHz), channel_rng))) {
        data.push_back({w.features, label, g});
      }
    }
    return windows.size();
  };
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    // Video rows are skipped when they have no audio.
    bool is_video = false;
    if (!voice_row_used(item, is_video)) continue;
    progress(0.4 * i / items->size(), "features " + std::to_string(i + 1) + "/" + std::to_string(items->size()));
    auto audio = media::read_audio(item.path, kFeatureRateHz);
    if (!audio.ok() && is_video) continue;
    if (!audio.ok()) {
      return Status::input(req.manifest_path + ":" + std::to_string(item.line), audio.status().message());
    }
    if (audio->duration_s() > kMaxFileSeconds) audio->samples.resize(static_cast<size_t>(kMaxFileSeconds * kFeatureRateHz));
    const int g = group++;
    if (add_windows(*audio, item.label, g) == 0) continue;
    auto src = item.columns.find("source_repo");
    auto method = item.columns.find("method");
    std::string key = (item.label ? "fake " : "real ") + (src != item.columns.end() ? src->second : std::string("?"));
    if (item.label && method != item.columns.end() && !method->second.empty()) key += " / " + method->second;
    ++counts.files_by_source[key];
    (item.label ? counts.fake_files : counts.real_files) += 1;
    if (item.label == 0) {
      Audio head = *audio;
      if (head.duration_s() > kMaxResynthSeconds) head.samples.resize(static_cast<size_t>(kMaxResynthSeconds * kFeatureRateHz));
      // Version 2 varies the vocoder: mel bands 64/80/128, 16/32/64 Griffin-Lim iterations.
      int n_mels = 80, n_iter = 32;
      if (cnn) {
        n_mels = std::array{64, 80, 128}[std::uniform_int_distribution<int>(0, 2)(vocoder_rng)];
        n_iter = std::array{16, 32, 64}[std::uniform_int_distribution<int>(0, 2)(vocoder_rng)];
      }
      if (add_windows(griffin_lim_resynthesis(head, n_mels, n_iter, req.seed + i), 1, g, true) > 0) ++counts.resynthesised;
      if (cnn) {
        const int family = std::uniform_int_distribution<int>(0, kVocoderFamilies - 1)(vocoder_rng);
        if (add_windows(vocoder_variant(head, family, vocoder_rng, req.seed + i), 1, g, true) > 0) ++n_vocoded[family];
      }
    }
  }
  // espeak-ng: every training voice at three rates and two pitches, two sentences per clip.
  const auto& voices = voice_training_espeak_voices();
  size_t sentence = 0;
  for (size_t v = 0; v < voices.size(); ++v) {
    progress(0.4 + 0.1 * v / voices.size(), "espeak-ng " + voices[v]);
    for (int rate : {140, 175, 220}) {
      for (int pitch : {35, 65}) {
        synth::SpeechOptions so;
        so.voice = voices[v];
        so.rate_wpm = rate;
        so.pitch = pitch;
        const std::string text = voice_sentence(sentence) + " " + voice_sentence(sentence + 1);
        sentence += 2;
        auto speech = synth::synthesize_speech(text, so);
        if (!speech.ok()) return speech.status();
        if (add_windows(*speech, 1, group++, true) > 0) ++counts.espeak_clips;
      }
    }
  }
  if (cnn) {
    return fit_voice_cnn(req, clips, group, t0, counts, n_vocoded, options);
  }
  int64_t n_real = 0, n_fake = 0;
  for (const auto& d : data) (d.label ? n_fake : n_real) += 1;
  UNMASK_RETURN_IF_ERROR(enough_examples(req, n_real, n_fake, "windows"));

  // Split by source group, 15 % for validation and calibration.
  const std::set<int> val_groups = validation_groups(req.seed, group);

  // Normalisation from the training windows.
  std::vector<double> mean(kVoiceFeatureCount, 0.0), sq(kVoiceFeatureCount, 0.0);
  int64_t n_train = 0;
  for (const auto& d : data) {
    if (val_groups.count(d.group)) continue;
    ++n_train;
    for (int k = 0; k < kVoiceFeatureCount; ++k) {
      mean[k] += d.features[k];
      sq[k] += double(d.features[k]) * d.features[k];
    }
  }
  std::vector<float> fmean, fstd;
  mean_and_deviation(mean, sq, static_cast<double>(n_train), fmean, fstd);
  auto spec = nn::default_spec("mlp");
  if (!spec.ok()) return spec.status();
  spec->n_features = kVoiceFeatureCount;
  spec->widths = {64, 32};
  learn::InMemoryDataset train(spec->example_shape()), val(spec->example_shape());
  std::vector<int> val_labels;
  for (const auto& d : data) {
    std::vector<float> row(kVoiceFeatureCount);
    for (int k = 0; k < kVoiceFeatureCount; ++k) row[k] = (d.features[k] - fmean[k]) / fstd[k];
    const bool is_val = val_groups.count(d.group) > 0;
    UNMASK_RETURN_IF_ERROR((is_val ? val : train).add(std::move(row), static_cast<float>(d.label)));
    if (is_val) val_labels.push_back(d.label);
  }

  const learn::TrainConfig cfg = voice_train_config(req, kDefaultEpochs, 1e-3, 1e-3);
  auto result = learn::train_binary(*spec, train, &val, cfg);
  if (!result.ok()) return result.status();

  // Platt scaling on the validation windows' logits.
  auto val_probs = learn::predict_dataset(result->model, val);
  if (!val_probs.ok()) return val_probs.status();
  std::vector<double> val_logits;
  for (double p : *val_probs) val_logits.push_back(logit(p));
  learn::PlattScaling platt;
  UNMASK_RETURN_IF_ERROR(platt.fit(val_logits, val_labels));
  // The file score is the mean of the top quarter of its window logits (as aggregate_track); that
  // statistic gets its own Platt scaling, fitted on the validation files.
  std::map<int, std::vector<double>> logits_by_group;
  {
    size_t v = 0;
    for (const auto& d : data) {
      if (val_groups.count(d.group)) logits_by_group[d.group * 2 + d.label].push_back(val_logits[v++]);
    }
  }
  std::vector<double> file_logits;
  std::vector<int> file_labels;
  for (const auto& [key, logits] : logits_by_group) {
    file_logits.push_back(voice_file_logit(logits));
    file_labels.push_back(key % 2);
  }
  learn::PlattScaling file_platt;
  UNMASK_RETURN_IF_ERROR(file_platt.fit(file_logits, file_labels));
  std::vector<double> file_probs;
  for (double s : file_logits) file_probs.push_back(file_platt.apply(s));
  const auto fm = learn::binary_metrics(file_probs, file_labels);
  std::vector<double> calibrated;
  for (double s : val_logits) calibrated.push_back(platt.apply(s));
  const auto m = learn::binary_metrics(calibrated, val_labels);

  auto metrics = validation_metrics(m, fm, t0);
  VoiceModelOutput out;
  out.features = kVoiceFeatureVersion;
  out.architecture = {{"name", "mlp"}, {"n_features", kVoiceFeatureCount}, {"widths", spec->widths}};
  out.metadata = {{"feature_mean", format_floats(fmean)},
                  {"feature_std", format_floats(fstd)},
                  {"n_real_windows", std::to_string(n_real)},
                  {"n_fake_windows", std::to_string(n_fake)}};
  out.data = {{"real_windows", n_real}, {"fake_windows", n_fake}};
  out.epochs = cfg.epochs;
  out.n_real = n_real;
  out.n_fake = n_fake;
  auto summary = write_voice_model(req, *result, out, counts, platt, file_platt, std::move(metrics));
  if (!summary.ok()) return summary.status();
  progress(1.0, "done");
  return summary;
}



}  // namespace unmask::detect
