// The voice detector: windows over voice activity; a patch CNN (version 2) or LFCC/log-mel
// statistics and an MLP (version 1); Platt scaling.
#include "detect/voice.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numbers>
#include <optional>
#include <random>

#include <opencv2/core.hpp>

#include "detect/audio_features.h"
#include "detect/feature_model.h"
#include "detect/registry_table.h"
#include "detect/voice_windows.h"
#include "learn/learn.h"
#include "nn/nn.h"

namespace unmask::detect {
namespace {

using namespace voice_grid;

std::vector<float> window_features(const FeatureMatrix& cep, const FeatureMatrix& mel, const std::vector<bool>& speech,
                                   int begin, int end) {
  std::vector<float> out;
  out.reserve(kVoiceFeatureCount);
  std::vector<double> sum(static_cast<size_t>(cep.n_cols), 0.0), sq(sum.size(), 0.0);
  std::vector<double> msum(static_cast<size_t>(mel.n_cols), 0.0), msq(msum.size(), 0.0);
  int n = 0;
  for (int t = begin; t < end; ++t) {
    if (!speech[t]) continue;
    ++n;
    for (int c = 0; c < cep.n_cols; ++c) {
      const double v = cep.at(t, c);
      sum[c] += v;
      sq[c] += v * v;
    }
    for (int c = 0; c < mel.n_cols; ++c) {
      const double v = mel.at(t, c);
      msum[c] += v;
      msq[c] += v * v;
    }
  }
  for (double s : sum) out.push_back(static_cast<float>(s / n));
  for (size_t c = 0; c < sq.size(); ++c) {
    const double m = sum[c] / n;
    out.push_back(static_cast<float>(std::sqrt(std::max(0.0, sq[c] / n - m * m))));
  }
  for (size_t c = 0; c < msq.size(); ++c) {
    const double m = msum[c] / n;
    out.push_back(static_cast<float>(std::sqrt(std::max(0.0, msq[c] / n - m * m))));
  }
  return out;
}

// One network with the standardisation of its inputs (version 1: per feature; version 2: per
// band).
struct VoiceNet {
  nn::Model model;
  std::vector<float> mean, scale;
};

// What both model versions share: the networks (one, or an ensemble's members), the window and
// file Platt scalings and the detector's info; score() turns the window logits of a version into
// segments and the file score.
class VoiceDetectorBase : public AudioDetector {
 public:
  VoiceDetectorBase(std::vector<VoiceNet> nets, learn::PlattScaling platt, learn::PlattScaling file_platt, DetectorInfo info)
      : nets_(std::move(nets)), platt_(platt), file_platt_(file_platt), info_(std::move(info)) {}

  const DetectorInfo& info() const override { return info_; }
  int sample_rate_hz() const override { return kFeatureRateHz; }

  Result<AudioResult> score(const Audio& audio) const override {
    // Resampled once, for both the band check and the windows (which would resample again).
    Audio resampled;
    if (audio.sample_rate_hz != kFeatureRateHz) resampled = resample(audio, kFeatureRateHz);
    const Audio& at_rate = audio.sample_rate_hz != kFeatureRateHz ? resampled : audio;
    auto source = memory_audio_source(at_rate);
    auto refused = telephone_band_refusal(*source);
    if (!refused.ok()) return refused.status();
    if (*refused) return std::move(**refused);
    std::vector<VoiceWindow> windows;
    auto logits = window_logits(at_rate, windows);
    if (!logits.ok()) return logits.status();
    return result_from(windows, *logits);
  }

  // The scored windows of `audio` (none when there is no speech) and one logit per window.
  virtual Result<std::vector<double>> window_logits(const Audio& audio, std::vector<VoiceWindow>& windows) const = 0;

 protected:
  // Telephone-band speech (a phone line carries nothing above 4 kHz) is not judged: the networks
  // never learnt it and call most real phone speech synthetic (docs/voice.md, session 10). The
  // refusal, or nothing when the speech is wideband or there is none.
  static Result<std::optional<AudioResult>> telephone_band_refusal(AudioSource& source) {
    auto band = speech_band_ratio(source);
    if (!band.ok()) return band.status();
    if (!(band->voiced_s > 0) || band->above_telephone_db >= kTelephoneBandDb) return std::optional<AudioResult>();
    AudioResult refused;
    refused.speech_found = true;
    refused.note = "telephone-band speech (nothing above 4 kHz, " + report_db(band->above_telephone_db) +
                   "): not judged, the voice detector was not trained for phone lines";
    return std::optional<AudioResult>(std::move(refused));
  }

  static std::string report_db(double db) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f dB", db);
    return text;
  }

  // Per window its span and P(synthetic), and the file score; "no speech found" without windows.
  AudioResult result_from(const std::vector<VoiceWindow>& windows, const std::vector<double>& logits) const {
    AudioResult result;
    if (windows.empty()) {
      result.note = "no speech found";
      return result;
    }
    result.speech_found = true;
    for (size_t i = 0; i < windows.size(); ++i) {
      result.segments.push_back({windows[i].start_s, windows[i].end_s, platt_.apply(logits[i])});
    }
    result.score = file_platt_.apply(voice_file_logit(logits));
    return result;
  }

  std::vector<VoiceNet> nets_;  // version 1: exactly one

 private:
  learn::PlattScaling platt_;       // window logit -> P(synthetic)
  learn::PlattScaling file_platt_;  // voice_file_logit -> P(synthetic)
  DetectorInfo info_;
};

// Version 1: the MLP on each window's feature statistics.
class VoiceDetector final : public VoiceDetectorBase {
 public:
  using VoiceDetectorBase::VoiceDetectorBase;

  Result<std::vector<double>> window_logits(const Audio& audio, std::vector<VoiceWindow>& windows) const override {
    windows = voice_windows(audio);
    if (windows.empty()) return std::vector<double>{};
    const VoiceNet& net = nets_.front();
    std::vector<std::vector<float>> rows;
    for (const auto& w : windows) {
      std::vector<float> row = w.features;
      for (size_t i = 0; i < row.size(); ++i) row[i] = (row[i] - net.mean[i]) / net.scale[i];
      rows.push_back(std::move(row));
    }
    auto batch = nn::features_to_batch(rows);
    if (!batch.ok()) return batch.status();
    auto pred = net.model.predict(*batch);
    if (!pred.ok()) return pred.status();
    return std::vector<double>(pred->logits.begin(), pred->logits.begin() + static_cast<std::ptrdiff_t>(windows.size()));
  }
};

// Version 2: the CNN on log linear-filterbank patches; a window's logit is the mean of its
// patches' logits. With several networks (an ensemble) a patch's logit is the mean of theirs, so
// a window's logit is the mean of the networks' window logits.
class VoiceCnnDetector final : public VoiceDetectorBase {
 public:
  using VoiceDetectorBase::VoiceDetectorBase;

  // The same windows and scores from a recording read in pieces (voice_patch_logits_stream).
  Result<AudioResult> score_stream(AudioSource& source) const override {
    auto refused = telephone_band_refusal(source);
    if (!refused.ok()) return refused.status();
    if (*refused) return std::move(**refused);
    auto scored = voice_patch_logits_stream(source, [this](const std::vector<std::vector<float>>& p) { return patch_logits(p); });
    if (!scored.ok()) return scored.status();
    std::vector<VoiceWindow> windows;
    std::vector<double> logits;
    for (const VoiceWindowLogit& w : *scored) {
      windows.push_back(w.window);
      logits.push_back(w.logit);
    }
    return result_from(windows, logits);
  }

  Result<std::vector<double>> window_logits(const Audio& audio, std::vector<VoiceWindow>& windows) const override {
    auto vp = voice_patches(audio);
    windows = std::move(vp.windows);
    if (windows.empty()) return std::vector<double>{};
    auto scored = patch_logits(vp.patches);
    if (!scored.ok()) return scored.status();
    std::vector<double> logits;
    for (const auto& ids : vp.window_patches) {
      double sum = 0;
      for (int k : ids) sum += (*scored)[static_cast<size_t>(k)];
      logits.push_back(sum / static_cast<double>(ids.size()));
    }
    return logits;
  }

 private:
  // One logit per patch (the mean over the networks), 64 patches per forward pass.
  Result<std::vector<float>> patch_logits(const std::vector<std::vector<float>>& patches) const {
    if (nets_.size() == 1) return net_patch_logits(nets_.front(), patches);
    std::vector<double> sum(patches.size(), 0.0);
    for (const VoiceNet& net : nets_) {
      auto logits = net_patch_logits(net, patches);
      if (!logits.ok()) return logits.status();
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*logits)[i];
    }
    std::vector<float> out(sum.size());
    for (size_t i = 0; i < sum.size(); ++i) out[i] = static_cast<float>(sum[i] / static_cast<double>(nets_.size()));
    return out;
  }

  static Result<std::vector<float>> net_patch_logits(const VoiceNet& net, const std::vector<std::vector<float>>& patches) {
    constexpr int64_t kPatch = int64_t{kVoicePatchBands} * kVoicePatchFrames;
    std::vector<float> out;
    constexpr size_t kChunk = 64;  // bounded memory for long files
    for (size_t first = 0; first < patches.size(); first += kChunk) {
      const size_t n = std::min(kChunk, patches.size() - first);
      nn::Batch batch;
      batch.shape = {static_cast<int64_t>(n), 1, kVoicePatchBands, kVoicePatchFrames};
      batch.values.resize(n * kPatch);
      for (size_t i = 0; i < n; ++i) {
        const auto& p = patches[first + i];
        float* dst = batch.values.data() + i * kPatch;
        for (int b = 0; b < kVoicePatchBands; ++b) {
          for (int t = 0; t < kVoicePatchFrames; ++t) {
            const size_t k = static_cast<size_t>(b) * kVoicePatchFrames + t;
            dst[k] = (p[k] - net.mean[b]) / net.scale[b];
          }
        }
      }
      auto pred = net.model.predict(batch);
      if (!pred.ok()) return pred.status();
      out.insert(out.end(), pred->logits.begin(), pred->logits.end());
    }
    return out;
  }
};

}  // namespace

double voice_file_logit(const std::vector<double>& window_logits) {
  if (window_logits.empty()) return 0.0;
  std::vector<double> sorted = window_logits;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const size_t n_top = std::max<size_t>(1, sorted.size() / 4);
  double sum = 0;
  for (size_t i = 0; i < n_top; ++i) sum += sorted[i];
  return sum / static_cast<double>(n_top);
}

namespace {

// The speech of `audio` framed for the features: 16 kHz at -26 dBFS, its power spectrogram and
// voice activity over the first n frames; n = 0 when it has under 0.5 s of speech.
struct SpeechFrames {
  FrameOptions fo;  // 25 ms frames, 10 ms hop, 512-point DFT
  FeatureMatrix power;
  std::vector<bool> speech;
  int n = 0;
};
SpeechFrames speech_frames(const Audio& audio) {
  SpeechFrames out;
  const Audio speech_audio = prepare_speech(audio);
  out.power = power_spectrogram(speech_audio.samples, kFeatureRateHz, out.fo);
  if (out.power.n_rows == 0) return out;
  out.speech = voice_activity(speech_audio);
  const int n = std::min<int>(out.power.n_rows, static_cast<int>(out.speech.size()));
  int total = 0;
  for (int t = 0; t < n; ++t) total += out.speech[t];
  if (total >= kMinTotalSpeech) out.n = n;
  return out;
}

VoiceWindow window_span(const FrameOptions& fo, int a, int b, int c) {
  VoiceWindow w;
  w.start_s = static_cast<double>(a) * kHop / kFeatureRateHz;
  w.end_s = (static_cast<double>(b - 1) * kHop + fo.frame_len) / kFeatureRateHz;
  w.speech_s = c * 0.01;
  return w;
}

}  // namespace

std::vector<VoiceWindow> voice_windows(const Audio& audio) {
  std::vector<VoiceWindow> out;
  const SpeechFrames sf = speech_frames(audio);
  const int n = sf.n;
  if (n == 0) return out;
  const auto& speech = sf.speech;
  const auto cep = with_deltas(lfcc(sf.power, kFeatureRateHz, sf.fo.n_fft, 20, 20));
  const auto mel = log_mel(sf.power, kFeatureRateHz, sf.fo.n_fft, 40);
  auto count = [&](int a, int b) {
    int c = 0;
    for (int t = a; t < b; ++t) c += speech[t];
    return c;
  };
  auto make = [&](int a, int b, int c) {
    VoiceWindow w = window_span(sf.fo, a, b, c);
    w.features = window_features(cep, mel, speech, a, b);
    out.push_back(std::move(w));
  };
  for_each_window(n, count, make, [&] { return !out.empty(); });
  return out;
}

VoicePatches voice_patches(const Audio& audio, int patch_step_frames) {
  VoicePatches out;
  if (patch_step_frames <= 0 || kWindowHopFrames % patch_step_frames != 0) return out;
  const SpeechFrames sf = speech_frames(audio);
  const int n = sf.n;
  if (n == 0) return out;
  const auto& speech = sf.speech;
  static const FilterBank bank = linear_filterbank(kVoicePatchBands, sf.fo.n_fft, kFeatureRateHz);
  const auto lfb = log_filterbank(sf.power, bank);
  std::vector<int> prefix(static_cast<size_t>(n) + 1, 0);
  for (int t = 0; t < n; ++t) prefix[t + 1] = prefix[t] + speech[t];
  auto count = [&](int a, int b) { return prefix[std::min(b, n)] - prefix[std::max(0, a)]; };
  std::map<int, int> patch_at;  // start frame -> index in out.patches; -1 when not enough speech
  auto patch = [&](int start) {
    auto it = patch_at.find(start);
    if (it != patch_at.end()) return it->second;
    int index = -1;
    if (count(start, start + kVoicePatchFrames) * 2 >= std::min(kVoicePatchFrames, n - start)) {
      std::vector<float> p(static_cast<size_t>(kVoicePatchBands) * kVoicePatchFrames);
      for (int t = 0; t < kVoicePatchFrames; ++t) {
        const int row = std::min(n - 1, start + t);  // a clip shorter than a patch repeats its last frame
        for (int b = 0; b < kVoicePatchBands; ++b) p[static_cast<size_t>(b) * kVoicePatchFrames + t] = lfb.at(row, b);
      }
      index = static_cast<int>(out.patches.size());
      out.patches.push_back(std::move(p));
    }
    patch_at[start] = index;
    return index;
  };
  auto make = [&](int a, int b, int c) {
    std::vector<int> ids;
    for (int s = a; s == a || s + kVoicePatchFrames <= b; s += patch_step_frames) {
      const int id = patch(s);
      if (id >= 0) ids.push_back(id);
    }
    if (ids.empty()) return;
    out.windows.push_back(window_span(sf.fo, a, b, c));
    out.window_patches.push_back(std::move(ids));
  };
  for_each_window(n, count, make, [&] { return !out.windows.empty(); });
  return out;
}

namespace {

std::string meta_value(const nn::Metadata& meta, const std::string& key) {
  auto it = meta.find(key);
  return it == meta.end() ? std::string() : it->second;
}

// A network's standardisation (`n` numbers under `<kind>_mean` and `<kind>_std`, deviations <=
// 1e-6 read as 1); model error naming `what` when missing or malformed.
Result<VoiceNet> voice_net(nn::Model model, const std::string& what, const std::string& kind, size_t n) {
  const auto& meta = model.metadata();
  VoiceNet net;
  if (!parse_floats(meta_value(meta, kind + "_mean"), net.mean) ||
      !parse_floats(meta_value(meta, kind + "_std"), net.scale) || net.mean.size() != n || net.scale.size() != n) {
    return Status::model(what, kind + " normalisation missing or malformed");
  }
  for (float& s : net.scale) {
    if (!(s > 1e-6f)) s = 1.0f;
  }
  net.model = std::move(model);
  return net;
}

// The version-2 checks of a loaded network: features and architecture.
Status check_voice_cnn(const nn::Model& model, const std::string& what) {
  const std::string features = meta_value(model.metadata(), "features");
  const auto& spec = model.spec();
  if (features != kVoiceCnnFeatureVersion || spec.name != "blend_cnn_tiny") {
    return Status::model(what, "not a version-2 voice model (features '" + features + "', architecture '" + spec.name + "')");
  }
  if (spec.in_channels != 1 || spec.input_size_px != kVoicePatchFrames || kVoicePatchBands != kVoicePatchFrames) {
    return Status::model(what, "voice CNN expects 1 x 64 x 64 patches");
  }
  return Status::ok();
}

// The rest of loading, alike for both versions and for ensembles: the two Platt scalings from
// `meta` and the detector's info; model error naming the file when one is missing or malformed.
template <class Detector>
Result<std::shared_ptr<const AudioDetector>> make_voice_detector(std::vector<VoiceNet> nets, const nn::Metadata& meta,
                                                                 const std::string& model_path, const std::string& version,
                                                                 const std::string& sha256) {
  auto platt = learn::PlattScaling::parse(meta_value(meta, "calibration"));
  auto file_platt = learn::PlattScaling::parse(meta_value(meta, "file_calibration"));
  if (!platt.ok() || !file_platt.ok()) return Status::model(model_path, "calibration missing or malformed");
  DetectorInfo info{.name = "voice", .version = version, .model_sha256 = sha256,
                    .model_path = model_path, .kind = DetectorKind::kAudio};
  return std::shared_ptr<const AudioDetector>(std::make_shared<Detector>(std::move(nets), *platt, *file_platt, std::move(info)));
}

bool valid_meta_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

// An ensemble file (layout in voice.h) already read into `bytes`.
Result<std::shared_ptr<const AudioDetector>> load_voice_ensemble(const std::string& path, const std::string& bytes) {
  constexpr size_t kShaLine = 7 + 64 + 1;  // "sha256 " + hex + "\n"
  const std::string_view magic = kVoiceEnsembleMagic;
  if (bytes.size() < magic.size() + kShaLine || bytes.back() != '\n') return Status::model(path, "voice ensemble truncated");
  const size_t body_end = bytes.size() - kShaLine;
  if (bytes.compare(body_end, 7, "sha256 ") != 0) return Status::model(path, "voice ensemble truncated (no checksum line)");
  const std::string sha = sha256_hex(std::string_view(bytes).substr(0, body_end));
  if (bytes.compare(body_end + 7, 64, sha) != 0) return Status::model(path, "voice ensemble checksum mismatch (corrupt file)");
  nn::Metadata meta;
  std::vector<std::string> member_bytes;
  size_t pos = magic.size();
  while (pos < body_end) {
    const size_t eol = bytes.find('\n', pos);
    if (eol == std::string::npos || eol >= body_end) return Status::model(path, "voice ensemble header line unterminated");
    const std::string line = bytes.substr(pos, eol - pos);
    pos = eol + 1;
    const size_t space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string value = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (key == "member") {
      char* endp = nullptr;
      const unsigned long long n = std::strtoull(value.c_str(), &endp, 10);
      if (value.empty() || *endp != '\0' || n > body_end - pos) return Status::model(path, "voice ensemble member size malformed");
      member_bytes.push_back(bytes.substr(pos, n));
      pos += n;
    } else {
      if (!valid_meta_key(key)) return Status::model(path, "voice ensemble header line malformed");
      meta[key] = value;
    }
  }
  if (member_bytes.empty()) return Status::model(path, "voice ensemble has no member");
  std::vector<VoiceNet> nets;
  for (size_t i = 0; i < member_bytes.size(); ++i) {
    const std::string what = path + " member " + std::to_string(i + 1) + " of " + std::to_string(member_bytes.size());
    auto model = nn::model_from_bytes(member_bytes[i], what);
    if (!model.ok()) return Status::model(what, model.status().message());
    UNMASK_RETURN_IF_ERROR(check_voice_cnn(*model, what));
    auto net = voice_net(*std::move(model), what, "band", kVoicePatchBands);
    if (!net.ok()) return net.status();
    nets.push_back(*std::move(net));
  }
  const std::string version = "2x" + std::to_string(nets.size());
  return make_voice_detector<VoiceCnnDetector>(std::move(nets), meta, path, version, sha);
}

}  // namespace

Result<std::shared_ptr<const AudioDetector>> load_voice_detector(const std::string& model_path) {
  {
    auto bytes = read_file(model_path);
    if (bytes.ok() && bytes->compare(0, std::strlen(kVoiceEnsembleMagic), kVoiceEnsembleMagic) == 0) {
      return load_voice_ensemble(model_path, *bytes);
    }
  }
  auto model = nn::load_model(model_path);
  if (!model.ok()) return model.status();
  const std::string features = meta_value(model->metadata(), "features");
  const auto& spec = model->spec();
  const nn::Metadata meta = model->metadata();
  const std::string sha = model->weights_sha256();
  if (features == kVoiceCnnFeatureVersion && spec.name == "blend_cnn_tiny") {
    UNMASK_RETURN_IF_ERROR(check_voice_cnn(*model, model_path));
    auto net = voice_net(*std::move(model), model_path, "band", kVoicePatchBands);
    if (!net.ok()) return net.status();
    std::vector<VoiceNet> nets;
    nets.push_back(*std::move(net));
    return make_voice_detector<VoiceCnnDetector>(std::move(nets), meta, model_path, "2", sha);
  }
  if (features != kVoiceFeatureVersion || spec.name != "mlp") {
    return Status::model(model_path, "not a voice model (features '" + features + "', architecture '" + spec.name +
                                         "', expected '" + kVoiceCnnFeatureVersion + "' on blend_cnn_tiny or '" +
                                         kVoiceFeatureVersion + "' on mlp)");
  }
  if (spec.n_features != kVoiceFeatureCount) return Status::model(model_path, "wrong feature count");
  auto net = voice_net(*std::move(model), model_path, "feature", kVoiceFeatureCount);
  if (!net.ok()) return net.status();
  std::vector<VoiceNet> nets;
  nets.push_back(*std::move(net));
  return make_voice_detector<VoiceDetector>(std::move(nets), meta, model_path, "1", sha);
}

Status write_voice_ensemble(const std::string& path, const std::vector<std::string>& member_bytes,
                            const std::map<std::string, std::string>& metadata) {
  if (member_bytes.empty()) return Status::usage(path, "a voice ensemble needs at least one member");
  for (const char* key : {"calibration", "file_calibration"}) {
    if (!metadata.count(key)) return Status::usage(path, std::string("voice ensemble metadata lacks ") + key);
  }
  std::string out = kVoiceEnsembleMagic;
  for (const auto& [k, v] : metadata) {
    if (!valid_meta_key(k) || k == "member" || k == "sha256" || v.find('\n') != std::string::npos) {
      return Status::usage(path, "voice ensemble metadata key '" + k + "' or its value is not allowed");
    }
    out += k + " " + v + "\n";
  }
  for (const auto& m : member_bytes) {
    out += "member " + std::to_string(m.size()) + "\n";
    out += m;
  }
  out += "sha256 " + sha256_hex(out) + "\n";
  return write_file_atomic(path, out);
}

Result<VoiceLogits> voice_window_logits(const AudioDetector& detector, const Audio& audio) {
  const auto* voice = dynamic_cast<const VoiceDetectorBase*>(&detector);
  if (voice == nullptr) return Status::input(detector.info().name, "not a voice detector");
  VoiceLogits out;
  auto logits = voice->window_logits(audio, out.windows);
  if (!logits.ok()) return logits.status();
  out.logits = *std::move(logits);
  return out;
}

Status load_voice(const std::string& models_dir, DetectorSet& set) {
  auto detector = load_voice_detector(models_dir + "/voice.unm");
  if (!detector.ok()) return detector.status();
  set.audio.push_back(*detector);
  return Status::ok();
}

Audio griffin_lim_resynthesis(const Audio& audio, int n_mels, int n_iterations, uint64_t seed) {
  VocoderOptions options;
  options.n_mels = n_mels;
  options.n_iterations = n_iterations;
  options.seed = seed;
  return mel_vocoder_resynthesis(audio, options);
}

Audio mel_vocoder_resynthesis(const Audio& audio, const VocoderOptions& options) {
  const int fft = options.n_fft, step = options.hop;
  const int bins = fft / 2 + 1;
  const int n = static_cast<int>(audio.samples.size());
  if (fft < 16 || fft % 2 != 0 || step < 1 || step > fft / 2 || n < fft) return audio;
  const int n_frames = 1 + (n - fft) / step;
  std::vector<float> win(fft);
  for (int i = 0; i < fft; ++i) win[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / fft));
  auto stft = [&](const std::vector<float>& x) {
    cv::Mat frames(n_frames, fft, CV_32F, cv::Scalar(0));
    for (int t = 0; t < n_frames; ++t) {
      float* row = frames.ptr<float>(t);
      for (int i = 0; i < fft; ++i) row[i] = x[static_cast<size_t>(t) * step + i] * win[i];
    }
    cv::Mat spec;
    cv::dft(frames, spec, cv::DFT_ROWS | cv::DFT_COMPLEX_OUTPUT);
    return spec;
  };
  // Windowed overlap-add of full complex spectra (conjugate-symmetric), normalised by sum win^2.
  std::vector<float> norm(static_cast<size_t>(n), 0.0f);
  for (int t = 0; t < n_frames; ++t) {
    for (int i = 0; i < fft; ++i) norm[static_cast<size_t>(t) * step + i] += win[i] * win[i];
  }
  auto istft = [&](const cv::Mat& spec) {
    cv::Mat frames;
    cv::dft(spec, frames, cv::DFT_ROWS | cv::DFT_INVERSE | cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
    std::vector<float> x(static_cast<size_t>(n), 0.0f);
    for (int t = 0; t < n_frames; ++t) {
      const float* row = frames.ptr<float>(t);
      for (int i = 0; i < fft; ++i) x[static_cast<size_t>(t) * step + i] += row[i] * win[i];
    }
    for (size_t i = 0; i < x.size(); ++i) x[i] = norm[i] > 1e-3f ? x[i] / norm[i] : 0.0f;
    return x;
  };
  const cv::Mat spec = stft(audio.samples);
  // Target magnitude through a mel bottleneck, the smoothing a mel-spectrogram vocoder input
  // imposes: mel_b = sum_k W_bk |X_k|, then |X'_k| = sum_b W_bk mel_b / sum_b W_bk R_b with R_b the
  // band's weight sum (a flat spectrum stays flat). Bins no band covers keep their magnitude.
  const FilterBank bank = mel_filterbank(options.n_mels, fft, audio.sample_rate_hz, 0.0, options.f_max_hz);
  std::vector<double> band_sum(static_cast<size_t>(bank.n_bands), 0.0), denom(bins, 0.0);
  for (int b = 0; b < bank.n_bands; ++b) {
    for (int k = 0; k < bins; ++k) band_sum[b] += bank.weights[static_cast<size_t>(b) * bins + k];
  }
  for (int b = 0; b < bank.n_bands; ++b) {
    for (int k = 0; k < bins; ++k) denom[k] += bank.weights[static_cast<size_t>(b) * bins + k] * band_sum[b];
  }
  cv::Mat target(n_frames, bins, CV_32F, cv::Scalar(0));
  std::vector<double> mel(static_cast<size_t>(bank.n_bands));
  std::vector<double> mag(bins);
  for (int t = 0; t < n_frames; ++t) {
    const auto* c = spec.ptr<cv::Vec2f>(t);
    for (int k = 0; k < bins; ++k) mag[k] = std::hypot(c[k][0], c[k][1]);
    for (int b = 0; b < bank.n_bands; ++b) {
      double e = 0;
      for (int k = 0; k < bins; ++k) e += bank.weights[static_cast<size_t>(b) * bins + k] * mag[k];
      mel[b] = e;
    }
    float* out = target.ptr<float>(t);
    for (int k = 0; k < bins; ++k) {
      if (denom[k] < 1e-6) {
        out[k] = static_cast<float>(mag[k]);
        continue;
      }
      double v = 0;
      for (int b = 0; b < bank.n_bands; ++b) v += bank.weights[static_cast<size_t>(b) * bins + k] * mel[b];
      out[k] = static_cast<float>(v / denom[k]);
    }
  }
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<float> phase(0.0f, static_cast<float>(2 * std::numbers::pi));
  cv::Mat current(n_frames, fft, CV_32FC2);
  // Angles from `angles_from` frame (t + shift) mod n_frames, or random ones.
  auto set_from = [&](const cv::Mat& angles_from, bool random, int shift = 0) {
    for (int t = 0; t < n_frames; ++t) {
      const float* want = target.ptr<float>(t);
      auto* dst = current.ptr<cv::Vec2f>(t);
      const cv::Vec2f* src = random ? nullptr : angles_from.ptr<cv::Vec2f>((t + shift) % n_frames);
      for (int k = 0; k < bins; ++k) {
        float re, im;
        if (random) {
          const float a = (k == 0 || k == bins - 1) ? 0.0f : phase(rng);
          re = std::cos(a);
          im = std::sin(a);
        } else {
          const float r = std::hypot(src[k][0], src[k][1]);
          re = r > 1e-12f ? src[k][0] / r : 1.0f;
          im = r > 1e-12f ? src[k][1] / r : 0.0f;
        }
        dst[k] = cv::Vec2f(want[k] * re, want[k] * im);
        if (k > 0 && k < bins - 1) dst[fft - k] = cv::Vec2f(want[k] * re, -want[k] * im);
      }
      dst[0][1] = 0.0f;
      dst[bins - 1][1] = 0.0f;
    }
  };
  const int shift = static_cast<int>(std::lround(options.donor_phase_shift_s * audio.sample_rate_hz / step));
  if (options.donor_phase_shift_s > 0 && shift % n_frames != 0) {
    set_from(spec, false, shift % n_frames);
  } else {
    set_from(cv::Mat(), true);
  }
  std::vector<float> x = istft(current);
  for (int it = 0; it < options.n_iterations; ++it) {
    set_from(stft(x), false);
    x = istft(current);
  }
  Audio out;
  out.sample_rate_hz = audio.sample_rate_hz;
  out.samples = std::move(x);
  return out;
}

Audio lpc_resynthesis(const Audio& audio, int order, double noise_mix, uint64_t seed) {
  const int rate = audio.sample_rate_hz;
  const int hop = std::max(1, rate / 100);  // 10 ms
  const int frame = 2 * hop;                // 20 ms analysis frame
  const int n = static_cast<int>(audio.samples.size());
  if (order < 1 || rate <= 0 || n < 2 * frame) return audio;
  noise_mix = std::clamp(noise_mix, 0.0, 1.0);
  const auto& x = audio.samples;
  std::vector<double> win(static_cast<size_t>(frame));
  for (int i = 0; i < frame; ++i) win[i] = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * (i + 0.5) / frame);
  const int n_frames = 1 + (n - frame) / hop;
  // Per frame: LPC coefficients a[1..order] (prediction x[n] ~ -sum a_k x[n-k]), residual power
  // per sample, and F0 (0 when unvoiced).
  std::vector<std::vector<double>> coeffs(static_cast<size_t>(n_frames));
  std::vector<double> gain(static_cast<size_t>(n_frames)), f0(static_cast<size_t>(n_frames), 0.0);
  const int min_lag = rate / 400, max_lag = rate / 60;
  std::vector<double> seg(static_cast<size_t>(frame));
  double peak_power = 0;
  std::vector<double> power(static_cast<size_t>(n_frames));
  for (int t = 0; t < n_frames; ++t) {
    double e = 0;
    for (int i = 0; i < frame; ++i) e += double(x[static_cast<size_t>(t) * hop + i]) * x[static_cast<size_t>(t) * hop + i];
    power[t] = e / frame;
    peak_power = std::max(peak_power, power[t]);
  }
  for (int t = 0; t < n_frames; ++t) {
    const size_t start = static_cast<size_t>(t) * hop;
    for (int i = 0; i < frame; ++i) seg[i] = x[start + i] * win[i];
    std::vector<double> r(static_cast<size_t>(order) + 1, 0.0);
    for (int k = 0; k <= order; ++k) {
      for (int i = k; i < frame; ++i) r[k] += seg[i] * seg[i - k];
    }
    r[0] = r[0] * 1.0001 + 1e-12;  // white-noise correction keeps the filter stable
    // Levinson-Durbin.
    std::vector<double> a(static_cast<size_t>(order) + 1, 0.0), prev;
    a[0] = 1.0;
    double err = r[0];
    for (int i = 1; i <= order; ++i) {
      double acc = r[i];
      for (int j = 1; j < i; ++j) acc += a[j] * r[i - j];
      const double k = -acc / err;
      prev = a;
      for (int j = 1; j < i; ++j) a[j] = prev[j] + k * prev[i - j];
      a[i] = k;
      err *= (1.0 - k * k);
      if (err <= 0) { err = 1e-12; break; }
    }
    double w2 = 0;
    for (double w : win) w2 += w * w;
    coeffs[t] = std::move(a);
    gain[t] = std::sqrt(std::max(0.0, err) / w2);
    // Pitch: normalised autocorrelation of the raw signal over a 40 ms stretch centred on the frame.
    if (power[t] < peak_power * 1e-4) continue;
    const int span = std::min(2 * max_lag, n - static_cast<int>(start));
    if (span <= max_lag + 1) continue;
    double best = 0;
    int best_lag = 0;
    for (int lag = min_lag; lag <= max_lag; ++lag) {
      double c = 0, e0 = 0, e1 = 0;
      for (int i = 0; i + lag < span; ++i) {
        const double u = x[start + i], v = x[start + i + lag];
        c += u * v;
        e0 += u * u;
        e1 += v * v;
      }
      const double nc = c / std::sqrt(e0 * e1 + 1e-20);
      if (nc > best) { best = nc; best_lag = lag; }
    }
    if (best > 0.4 && best_lag > 0) f0[t] = static_cast<double>(rate) / best_lag;
  }
  // Excitation (unit power) through the frame's all-pole filter; coefficients switch every hop,
  // the filter state carries over.
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> white(0.0, 1.0);
  std::vector<float> y(static_cast<size_t>(n), 0.0f);
  std::vector<double> hist(static_cast<size_t>(order), 0.0);  // y[n-1], y[n-2], ...
  double phase = 0;
  for (int i = 0; i < n; ++i) {
    const int t = std::min(n_frames - 1, std::max(0, (i - hop / 2) / hop));
    double e;
    if (f0[t] > 0) {
      const double period = rate / f0[t];
      phase += 1.0 / period;
      double pulse = 0;
      if (phase >= 1.0) {
        phase -= 1.0;
        pulse = std::sqrt(period);  // one pulse a period: unit power
      }
      e = std::sqrt(1.0 - noise_mix * noise_mix) * pulse + noise_mix * white(rng);
    } else {
      e = white(rng);
    }
    double v = gain[t] * e;
    const auto& a = coeffs[t];
    for (int k = 1; k <= order; ++k) v -= a[k] * hist[k - 1];
    if (!std::isfinite(v)) v = 0;
    v = std::clamp(v, -4.0, 4.0);
    for (int k = order - 1; k > 0; --k) hist[k] = hist[k - 1];
    hist[0] = v;
    y[i] = static_cast<float>(v);
  }
  Audio out;
  out.sample_rate_hz = rate;
  out.samples = std::move(y);
  return out;
}

const std::vector<std::string>& voice_training_espeak_voices() {
  static const std::vector<std::string> voices = {"en", "en-us", "en-gb-x-rp", "en-029", "de", "fr"};
  return voices;
}

const std::vector<std::string>& voice_heldout_espeak_voices() {
  static const std::vector<std::string> voices = {"en-gb-scotland", "en-us-nyc", "en-gb-x-gbcwmd", "nl"};
  return voices;
}

const std::string& voice_sentence(size_t index) {
  static const std::vector<std::string> sentences = {
      "The meeting has been moved to Thursday afternoon at three o'clock.",
      "Please remember to bring your identification when you visit the office.",
      "The weather tomorrow will be cloudy with a chance of light rain in the evening.",
      "Our new library opens next month, with longer hours on weekends.",
      "He walked slowly along the river and watched the boats go by.",
      "The results of the survey will be published before the end of the year.",
      "She told me that the train was delayed by almost twenty minutes.",
      "We need to buy bread, milk, apples and a few tins of tomatoes.",
      "The committee approved the budget after a long discussion.",
      "Thank you for calling, all of our agents are busy at the moment.",
      "It was the first time anyone had climbed the northern face in winter.",
      "The museum is closed on Mondays but open late on Fridays.",
      "I think we should leave early to avoid the traffic on the bridge.",
      "The children planted three small trees behind the school last spring.",
      "A good night's sleep helps you remember what you learned during the day.",
      "The company expects its sales to grow slowly over the next two years.",
      "Turn left at the second traffic light and the station is on your right.",
      "Scientists have measured the temperature of the lake every summer since then.",
      "My grandmother used to bake bread every Sunday morning.",
      "The orchestra will play a new piece written for the anniversary.",
      "Nobody expected the match to end in a draw after such a strong start.",
      "You can change your password at any time in the settings menu.",
      "The old bridge was repaired and painted green last autumn.",
      "Every evening the lighthouse keeper climbed the stairs to light the lamp.",
  };
  return sentences[index % sentences.size()];
}

}  // namespace unmask::detect
