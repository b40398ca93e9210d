// unmask detect: the voice detector (bona fide vs synthetic speech). Audio is brought to 16 kHz
// with its speech at -26 dBFS (prepare_speech), cut into 3 s windows (1.5 s hop) over the voice
// activity. Two model versions load alike:
//   version 2 (voice_patches): a small CNN scores 0.64 s patches of 64 log linear-filterbank
//     energies over the window's speech; the window logit is the mean of its patch logits.
//   version 1 (voice_windows): each window with at least 1 s of speech gives one feature vector
//     (mean and standard deviation over its speech frames of 20 LFCC with deltas and
//     delta-deltas, and the standard deviation of 40 log-mel bands: 160 values) for an MLP.
// Platt scaling stored in the model turns a window logit into P(synthetic). The file score
// aggregates the windows like detect::aggregate_track (mean of the top quarter of the logits),
// with its own Platt scaling fitted on whole validation files.
//
// Basic usage:
//
//   auto detector = unmask::detect::load_voice_detector("models/voice.unm");  // Status::model
//   auto result = (*detector)->score(audio);        // Result<AudioResult>; any sample rate
//   if (!result->score) ...                         // no speech: result->note says so
//
// The detector is immutable after loading: score() is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "detect/training.h"
#include "learn/learn.h"

namespace unmask::detect {

inline constexpr char kVoiceFeatureVersion[] = "voice-lfcc20d2-mel40std-w3s-v1";
inline constexpr int kVoiceFeatureCount = 160;

struct VoiceWindow {
  double start_s = 0.0;
  double end_s = 0.0;
  double speech_s = 0.0;        // voice-active time inside the window
  std::vector<float> features;  // kVoiceFeatureCount values
};

// The scored windows of `audio` (any rate; mono). Empty when there is no speech (under 0.5 s of
// voice activity in total). A clip with less than 1 s of speech in every window gives the one
// window with the most speech. Deterministic and thread-safe.
std::vector<VoiceWindow> voice_windows(const Audio& audio);

// Mean of the top quarter (at least one) of the window logits: the file statistic; 0 for none.
double voice_file_logit(const std::vector<double>& window_logits);

// Version 2 of the model: a small CNN (the "blend_cnn_tiny" design, one input channel) on
// patches of 64 log linear-filterbank energies (0-8 kHz, 125 Hz apart) x 64 frames (0.64 s)
// over the same windows. A patch counts when at least half its frames are voice-active; patches
// start on a grid of `patch_step_frames` (a divisor of the 150-frame window hop, so windows share
// them); a window's logit is the mean of its patches' logits.
inline constexpr char kVoiceCnnFeatureVersion[] = "voice-lfb64-patch64-cnn-v2";
inline constexpr int kVoicePatchBands = 64;
inline constexpr int kVoicePatchFrames = 64;

struct VoicePatches {
  // Each kVoicePatchBands * kVoicePatchFrames values, row-major [band][frame], lowest band first,
  // natural log of the band energy (not standardised).
  std::vector<std::vector<float>> patches;
  std::vector<VoiceWindow> windows;              // as voice_windows, features left empty
  std::vector<std::vector<int>> window_patches;  // indices into patches, per window (never empty)
};
// The patches of `audio` (any rate; mono) and the windows that use them. Empty when there is no
// speech. patch_step_frames must divide 150 (30 when scoring; training may use a coarser grid).
VoicePatches voice_patches(const Audio& audio, int patch_step_frames = 30);

// SpecAugment-style masking of a training patch (voice_patches' layout, [band][frame]): 1 or 2
// frequency masks, each 1 to max_freq_width adjacent bands, and 1 or 2 time masks, each 1 to
// max_time_width adjacent frames (masks may overlap), every masked value set to its band's
// `band_fill` (the band mean; 0 in the standardised patches the network sees). Counts, widths and
// positions are drawn from `seed` alone. Scoring never masks.
struct VoiceMaskOptions {
  int max_freq_masks = 2;
  int max_freq_width = 8;
  int max_time_masks = 2;
  int max_time_width = 8;
};
void voice_mask_patch(std::vector<float>& patch, const std::vector<float>& band_fill, uint64_t seed,
                      const VoiceMaskOptions& options = {});

// A training set that hands out the examples of `base` (standardised patches) masked by
// voice_mask_patch with fill 0 and the example's augmentation seed (new masks every epoch,
// reproducible in (index, seed) as learn::Dataset asks). `base` must outlive it.
class VoiceMaskedDataset : public learn::Dataset {
 public:
  explicit VoiceMaskedDataset(const learn::Dataset& base, VoiceMaskOptions options = {}) : base_(base), options_(options) {}
  size_t size() const override { return base_.size(); }
  Result<learn::Example> get(size_t index, uint64_t seed) const override;

 private:
  const learn::Dataset& base_;
  VoiceMaskOptions options_;
};

// voice_patches in bounded memory, scored as it goes (voice_stream.cpp): `source` (16 kHz, read
// five times from its start) gives the same windows, whose logit is the mean of their patches'
// logits; `score_patches` gets the patches (voice_patches' layout) of a few windows at a time and
// returns one logit each. Memory: a minute of audio and a few numbers per 10 ms, at any length.
struct VoiceWindowLogit {
  VoiceWindow window;  // features left empty
  double logit = 0.0;
};
using PatchScorer = std::function<Result<std::vector<float>>(const std::vector<std::vector<float>>& patches)>;
Result<std::vector<VoiceWindowLogit>> voice_patch_logits_stream(AudioSource& source, const PatchScorer& score_patches,
                                                                int patch_step_frames = 30);

// Loads the voice detector from a model file written by train_voice, or from a voice ensemble
// file (write_voice_ensemble). Status::model naming the file when it is missing, corrupt, of
// another architecture or lacks the feature normalisation or calibration; for an ensemble also
// naming the member ("member 2 of 3") that is corrupt or not a version-2 voice model.
Result<std::shared_ptr<const AudioDetector>> load_voice_detector(const std::string& model_path);

// A voice ensemble: several version-2 networks (e.g. the same recipe trained with different
// seeds) in one file. Each member keeps its own band standardisation; a window's logit is the mean
// of the members' window logits (equivalently of their patch logits), then the usual file
// statistic (voice_file_logit) and the ensemble's own two Platt scalings. A one-member ensemble
// with its member's scalings scores exactly as the member's own file. info().version is "2x<N>"
// and info().model_sha256 the ensemble file's checksum (over everything but its last line).
//
// File layout (text header, binary members):
//   UNMASK-VOICE-ENSEMBLE 1\n
//   <key> <value>\n ...                       metadata; "calibration" and "file_calibration"
//                                             ("platt a b") are required
//   member <n_bytes>\n<n_bytes of a .unm>     once per member, in order
//   sha256 <64 hex digits>\n                  of all the bytes before this line
inline constexpr char kVoiceEnsembleMagic[] = "UNMASK-VOICE-ENSEMBLE 1\n";

// Writes an ensemble file atomically from the members' model-file bytes (as nn::Model::save
// writes them) and the metadata (keys [A-Za-z0-9_.-]+, values without newlines; must hold
// "calibration" and "file_calibration"). Members are not checked here: load_voice_detector does.
// Usage error for no member or bad metadata.
Status write_voice_ensemble(const std::string& path, const std::vector<std::string>& member_bytes,
                            const std::map<std::string, std::string>& metadata);

// The unscaled window logits of a loaded voice detector (either version, single or ensemble) on
// `audio`: the windows and one logit per window (empty without speech). For fitting an
// ensemble's scalings. Input error when `detector` is not a voice detector.
struct VoiceLogits {
  std::vector<VoiceWindow> windows;
  std::vector<double> logits;
};
Result<VoiceLogits> voice_window_logits(const AudioDetector& detector, const Audio& audio);

// The source groups train_voice_model keeps for validation with `seed` out of `n_groups` (15 %,
// at least one; groups are numbered as voice_manifest_groups numbers them, the espeak-ng clips
// after them).
std::set<int> voice_validation_groups(uint64_t seed, int n_groups);

// The manifest rows train_voice_model reads, each with its source group (audio rows of either
// label; real video rows whose audio decodes, first 30 s), and the total number of groups a
// training run on that manifest has (these plus the espeak-ng clips). Reads every file's audio.
struct VoiceGroupedRow {
  learn::ManifestItem item;
  int group = 0;
  Audio audio;  // 16 kHz, first 30 s
};
struct VoiceManifestGroups {
  std::vector<VoiceGroupedRow> rows;
  int n_groups = 0;
};
Result<VoiceManifestGroups> voice_manifest_groups(const std::string& manifest_path,
                                                  const std::function<void(double, const std::string&)>& progress = {});

// Fits an ensemble's two Platt scalings without scoring a file any member trained on: on the
// manifest rows that at least one member held out for validation (by its seed, metadata "seed"),
// each scored by the mean window logits of the members that held it out. The file scaling is
// fitted on the file statistic of those files (real vs the manifest's synthetic speech, as
// train_voice fits it), the window scaling on their windows. Also reports, per member, AUC and EER
// of its own held-out files (a check that the split was rebuilt as training made it).
struct VoiceEnsembleFit {
  std::string calibration, file_calibration;  // "platt a b"
  int n_files = 0, n_real_files = 0, n_fake_files = 0, n_windows = 0;
  double file_auc = 0, file_eer = 0, file_log_loss = 0;  // of the fitted files, after scaling
  std::vector<std::string> member_report;                // one line per member
};
Result<VoiceEnsembleFit> fit_voice_ensemble_scaling(const std::string& manifest_path,
                                                    const std::vector<std::string>& member_paths,
                                                    const std::function<void(double, const std::string&)>& progress = {});

// Packs the member model files into one ensemble at `out_path` with the scalings of
// fit_voice_ensemble_scaling on `manifest_path`, and writes its card (<out without .unm>.card.json:
// detector, sha256 of the file, model_sha256 as the detector reports it, each member's seed,
// sha256 and card metrics, the scaling fit, `command`). Returns the fit.
Result<VoiceEnsembleFit> pack_voice_ensemble(const std::string& out_path, const std::vector<std::string>& member_paths,
                                             const std::string& manifest_path, const std::string& command,
                                             const std::function<void(double, const std::string&)>& progress = {});

// The trainer behind `unmask train --detector voice` with a choice of model: "cnn" (version 2, the
// default) or "mlp" (version 1, feature statistics). spec_augment (cnn only; off by default, as
// `unmask train` runs it) masks every training patch each time it is drawn (VoiceMaskedDataset);
// validation patches are never masked. The model's metadata and card record it.
struct VoiceTrainOptions {
  bool spec_augment = false;
  // > 0: the CNN's training patches are mixed up (learn::MixupDataset, lambda ~ Beta(alpha, alpha)),
  // after the SpecAugment masks when both are on. 0: no mixup (the shipped recipe).
  double mixup_alpha = 0.0;
  // Also send a seventh of the CNN's channel copies through a telephone line
  // (telephone_round_trip), real and synthetic alike, so that a phone call's band and
  // companding are not read as synthesis. Off: the channel draws are exactly as before.
  bool telephone_channel = false;
};
Result<TrainSummary> train_voice_model(const TrainRequest& request, const std::string& model_kind,
                                       const VoiceTrainOptions& options = {});

// A telephone line: band-limited resampling to 8 kHz, mu-law companding (mu = 255) quantised to
// 8 bits and expanded again (G.711-style), then back to the input's rate and length. Mono.
// Deterministic. An empty input gives an empty output.
Audio telephone_round_trip(const Audio& audio);

// Vocoder-style resynthesis of real speech (a training and test source of "synthetic" speech):
// the magnitude STFT (512-point, hop 128) is squeezed through an `n_mels`-band mel spectrogram
// and back (pseudo-inverse), then its phase is rebuilt by `n_iterations` of Griffin-Lim from a
// random phase drawn from `seed`. Works at the input's rate; mono.
Audio griffin_lim_resynthesis(const Audio& audio, int n_mels = 80, int n_iterations = 32, uint64_t seed = 1);

// The general form of griffin_lim_resynthesis (training fakes that look like mel-spectrogram
// vocoders): any DFT size and hop (e.g. 1024 / 256 at 22.05 kHz as Tacotron2's vocoders), a mel
// bank topped at `f_max_hz` (< 0: Nyquist; bins above it keep their magnitude), and the starting
// phase either random (from `seed`) or, with `donor_phase_shift_s` > 0, the phase of the same clip
// that many seconds later (wrapping around: the phase of another stretch of speech). Then
// `n_iterations` of Griffin-Lim (0: the starting phase as it is). Defaults = griffin_lim_resynthesis.
struct VocoderOptions {
  int n_fft = 512;
  int hop = 128;
  int n_mels = 80;
  double f_max_hz = -1.0;
  int n_iterations = 32;
  double donor_phase_shift_s = 0.0;
  uint64_t seed = 1;
};
Audio mel_vocoder_resynthesis(const Audio& audio, const VocoderOptions& options);

// Source-filter resynthesis (an LPC vocoder, a training fake): per 20 ms frame (10 ms hop) an
// all-pole filter of `order` from the autocorrelation (Levinson-Durbin) and the residual's power;
// the excitation is a pulse train at the frame's F0 (autocorrelation pitch, 60-400 Hz, voiced when
// the normalised peak is above 0.4) with `noise_mix` of white noise, or white noise alone when
// unvoiced; filtered with the frame's coefficients and gain. Same rate and length as the input.
Audio lpc_resynthesis(const Audio& audio, int order = 18, double noise_mix = 0.1, uint64_t seed = 1);

// A lossy codec round trip (training augmentation, so that a codec is not the cue): `audio`
// resampled to `rate_hz`, encoded by the FFmpeg encoder `encoder` ("libmp3lame", "aac") at
// `bitrate` bit/s, decoded, lined up with the input (the codec's priming delay removed),
// resampled back and cut to the input's length. The input unchanged when the encoder is missing
// or fails. Mono.
Audio lossy_codec_round_trip(const Audio& audio, const std::string& encoder, int rate_hz, int bitrate);

// espeak-ng voices used to train the voice detector, and voices kept out of training for the
// benchmark (never used by train_voice).
const std::vector<std::string>& voice_training_espeak_voices();
const std::vector<std::string>& voice_heldout_espeak_voices();
// Neutral English sentences for synthetic speech (index wraps around).
const std::string& voice_sentence(size_t index);

}  // namespace unmask::detect
