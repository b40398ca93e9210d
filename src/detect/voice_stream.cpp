// The voice CNN's windows and patches from a recording read in pieces: voice_patches' analysis in
// bounded memory, for files of any length (scan). Five passes over the source: the three of
// measure_speech_levels, the voice activity of the prepared speech, then the log filterbank a
// minute at a time, each window's patches scored as soon as its frames are in.
#include <algorithm>
#include <map>

#include "detect/audio_features.h"
#include "detect/voice.h"
#include "detect/voice_windows.h"

namespace unmask::detect {
namespace {

// voice_patches' window grid (voice_windows.h); VoiceStream tests check that the two analyses give
// the same windows and scores.
using namespace voice_grid;
constexpr int kBlockFrames = 6000;  // 60 s of frames per block of the last pass

struct PlannedWindow {
  int a = 0, b = 0, speech = 0;
  std::vector<int> starts;  // patch start frames (each with enough speech)
  int rows_needed = 0;      // frames [0, rows_needed) must be in before its patches can be cut
};

// The windows voice_patches makes, from the voice activity alone.
std::vector<PlannedWindow> plan_windows(const std::vector<bool>& speech, int n, int step) {
  std::vector<PlannedWindow> out;
  std::vector<int> prefix(static_cast<size_t>(n) + 1, 0);
  for (int t = 0; t < n; ++t) prefix[t + 1] = prefix[t] + speech[t];
  if (prefix[n] < kMinTotalSpeech) return out;
  auto count = [&](int a, int b) { return prefix[std::min(b, n)] - prefix[std::max(0, a)]; };
  auto make = [&](int a, int b, int c) {
    PlannedWindow w{a, b, c, {}, 0};
    for (int s = a; s == a || s + kVoicePatchFrames <= b; s += step) {
      if (count(s, s + kVoicePatchFrames) * 2 >= std::min(kVoicePatchFrames, n - s)) {
        w.starts.push_back(s);
        w.rows_needed = std::max(w.rows_needed, std::min(n, s + kVoicePatchFrames));
      }
    }
    if (!w.starts.empty()) out.push_back(std::move(w));
  };
  for_each_window(n, count, make, [&] { return !out.empty(); });
  return out;
}

}  // namespace

Result<std::vector<VoiceWindowLogit>> voice_patch_logits_stream(AudioSource& source, const PatchScorer& score_patches,
                                                                int patch_step_frames) {
  std::vector<VoiceWindowLogit> out;
  if (source.sample_rate_hz() != kFeatureRateHz) {
    return Status::usage("voice", "the audio must be at " + std::to_string(kFeatureRateHz) + " Hz");
  }
  if (patch_step_frames <= 0 || kWindowHopFrames % patch_step_frames != 0) return out;
  auto levels = measure_speech_levels(source);
  if (!levels.ok()) return levels.status();
  if (levels->n_samples == 0) return out;
  const SpeechLevels lv = *levels;
  auto prepare = [&lv](float* s, size_t n) { apply_speech_levels(lv, s, n); };
  const FrameOptions fo;  // 25 ms frames, 10 ms hop, 512-point DFT (the voice activity frames too)

  // Voice activity of the prepared speech.
  std::vector<double> energy_db;
  auto counted = stream_frames(source, fo.frame_len, fo.hop, kBlockFrames, prepare, [&](int64_t, const float* s, int n) {
    for (int t = 0; t < n; ++t) energy_db.push_back(frame_energy_db(s + static_cast<size_t>(t) * fo.hop, fo.frame_len));
    return Status::ok();
  });
  if (!counted.ok()) return counted.status();
  const int n = static_cast<int>(energy_db.size());
  if (n == 0) return out;
  const std::vector<bool> speech = voice_activity_from_energies(energy_db);
  energy_db = {};
  const std::vector<PlannedWindow> plan = plan_windows(speech, n, patch_step_frames);
  if (plan.empty()) return out;

  // The log filterbank, a block at a time; rows [rows_first, rows_first + rows/bands) are kept.
  static const FilterBank bank = linear_filterbank(kVoicePatchBands, fo.n_fft, kFeatureRateHz);
  std::vector<float> rows;
  int rows_first = 0;
  size_t next_window = 0;
  std::map<int, float> logit_at;  // patch start -> logit, for the windows still to finish
  auto rows_end = [&] { return rows_first + static_cast<int>(rows.size() / kVoicePatchBands); };
  auto finish_ready = [&](bool all) -> Status {
    size_t last = next_window;
    while (last < plan.size() && (all || plan[last].rows_needed <= rows_end())) ++last;
    if (last == next_window) return Status::ok();
    std::vector<int> starts;
    std::vector<std::vector<float>> patches;
    for (size_t w = next_window; w < last; ++w) {
      for (int s : plan[w].starts) {
        if (logit_at.count(s) || std::find(starts.begin(), starts.end(), s) != starts.end()) continue;
        std::vector<float> p(static_cast<size_t>(kVoicePatchBands) * kVoicePatchFrames);
        for (int t = 0; t < kVoicePatchFrames; ++t) {
          // A clip shorter than a patch repeats its last frame, as voice_patches does.
          const int row = std::min(std::min(n, rows_end()) - 1, s + t) - rows_first;
          for (int b = 0; b < kVoicePatchBands; ++b) {
            p[static_cast<size_t>(b) * kVoicePatchFrames + t] = rows[static_cast<size_t>(row) * kVoicePatchBands + b];
          }
        }
        starts.push_back(s);
        patches.push_back(std::move(p));
      }
    }
    if (!patches.empty()) {
      auto logits = score_patches(patches);
      if (!logits.ok()) return logits.status();
      if (logits->size() != patches.size()) return Status::internal("voice", "the patch scorer returned a wrong count");
      for (size_t i = 0; i < starts.size(); ++i) logit_at[starts[i]] = (*logits)[i];
    }
    for (size_t w = next_window; w < last; ++w) {
      const PlannedWindow& pw = plan[w];
      double sum = 0;
      for (int s : pw.starts) sum += logit_at[s];
      VoiceWindowLogit v;
      v.window.start_s = static_cast<double>(pw.a) * kHop / kFeatureRateHz;
      v.window.end_s = (static_cast<double>(pw.b - 1) * kHop + fo.frame_len) / kFeatureRateHz;
      v.window.speech_s = pw.speech * 0.01;
      v.logit = sum / static_cast<double>(pw.starts.size());
      out.push_back(std::move(v));
    }
    next_window = last;
    // Forget the frames and logits no later window needs (windows start in order).
    const int keep_from = next_window < plan.size() ? plan[next_window].a : rows_end();
    if (keep_from > rows_first) {
      const int drop = std::min(keep_from, rows_end()) - rows_first;
      rows.erase(rows.begin(), rows.begin() + static_cast<long>(drop) * kVoicePatchBands);
      rows_first += drop;
    }
    logit_at.erase(logit_at.begin(), logit_at.lower_bound(keep_from));
    return Status::ok();
  };
  auto filtered = stream_frames(source, fo.frame_len, fo.hop, kBlockFrames, prepare, [&](int64_t first, const float* s, int count) {
    if (first != rows_end()) return Status::internal("voice", "audio frames out of order");
    const FeatureMatrix lfb = log_filterbank(power_spectrogram_frames(s, count, fo), bank);
    rows.insert(rows.end(), lfb.values.begin(), lfb.values.end());
    return finish_ready(false);
  });
  if (!filtered.ok()) return filtered.status();
  if (rows_end() < n) return Status::input("voice", "the audio changed between two reads");
  UNMASK_RETURN_IF_ERROR(finish_ready(true));
  return out;
}

}  // namespace unmask::detect
