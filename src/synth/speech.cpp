// Speech synthesis through espeak-ng's C API, and an energy-based speech finder.
#include <espeak-ng/speak_lib.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "synth/synth.h"

namespace unmask::synth {
namespace {

std::mutex& espeak_mutex() {
  static std::mutex m;
  return m;
}

std::vector<short>* g_capture = nullptr;  // guarded by espeak_mutex()

int capture_callback(short* wav, int n_samples, espeak_EVENT* /*events*/) {
  if (wav != nullptr && n_samples > 0 && g_capture != nullptr) g_capture->insert(g_capture->end(), wav, wav + n_samples);
  return 0;  // continue
}

// espeak_Initialize once per process; returns the output rate or a model error.
Result<int> espeak_rate() {
  static int rate = 0;
  if (rate > 0) return rate;
  const int r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
  if (r <= 0) return Status::model("espeak-ng", "cannot initialise (is espeak-ng-data installed?)");
  espeak_SetSynthCallback(&capture_callback);
  rate = r;
  return rate;
}

// True when `name` names an installed voice: its name, its file identifier ("gmw/en") or the last
// part of it ("en"), or one of its language codes. espeak_SetVoiceByName() itself accepts unknown
// names silently, falling back to a default voice.
bool voice_exists(const std::string& name) {
  const espeak_VOICE** voices = espeak_ListVoices(nullptr);
  for (int i = 0; voices != nullptr && voices[i] != nullptr; ++i) {
    const espeak_VOICE* v = voices[i];
    if (v->name != nullptr && name == v->name) return true;
    if (v->identifier != nullptr) {
      const std::string id = v->identifier;
      if (name == id || name == id.substr(id.find_last_of('/') + 1)) return true;
    }
    // languages: a sequence of (priority byte, NUL-terminated name), ending with a 0 byte.
    for (const char* p = v->languages; p != nullptr && *p != 0;) {
      const std::string language = p + 1;
      if (name == language) return true;
      p += 1 + language.size() + 1;
    }
  }
  return false;
}

}  // namespace

Result<Audio> synthesize_speech(const std::string& text, const SpeechOptions& options) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return Status::usage("--text", "is empty");
  if (options.rate_wpm < espeakRATE_MINIMUM || options.rate_wpm > espeakRATE_MAXIMUM) {
    return Status::usage("speech rate", "must be 80-450 words per minute");
  }
  std::lock_guard lock(espeak_mutex());
  auto rate = espeak_rate();
  if (!rate.ok()) return rate.status();
  if (!voice_exists(options.voice) || espeak_SetVoiceByName(options.voice.c_str()) != EE_OK) {
    return Status::usage("--voice", "unknown espeak-ng voice '" + options.voice + "'");
  }
  espeak_SetParameter(espeakRATE, options.rate_wpm, 0);
  espeak_SetParameter(espeakPITCH, std::clamp(options.pitch, 0, 100), 0);
  std::vector<short> pcm;
  g_capture = &pcm;
  const espeak_ERROR err = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8,
                                        nullptr, nullptr);
  espeak_Synchronize();
  g_capture = nullptr;
  if (err != EE_OK) return Status::internal("espeak-ng", "synthesis failed");
  Audio audio;
  audio.sample_rate_hz = *rate;
  audio.samples.reserve(pcm.size());
  for (short s : pcm) audio.samples.push_back(static_cast<float>(s) / 32768.0f);
  return audio;
}

std::vector<TimeSpan> find_speech_segments(const Audio& audio) {
  std::vector<TimeSpan> spans;
  if (audio.sample_rate_hz <= 0 || audio.samples.empty()) return spans;
  const size_t hop = static_cast<size_t>(audio.sample_rate_hz / 50);  // 20 ms
  std::vector<double> energy_db;
  for (size_t i = 0; i + hop <= audio.samples.size(); i += hop) {
    double e = 0;
    for (size_t k = i; k < i + hop; ++k) e += double(audio.samples[k]) * audio.samples[k];
    energy_db.push_back(10.0 * std::log10(e / hop + 1e-12));
  }
  if (energy_db.empty()) return spans;
  std::vector<double> sorted = energy_db;
  std::sort(sorted.begin(), sorted.end());
  const double floor_db = sorted[sorted.size() / 10];
  const double peak_db = sorted[sorted.size() * 98 / 100];
  if (peak_db < -50.0) return spans;  // digital silence or nearly
  // Speech sits well above the floor; a recording without dynamics (a steady hum) has none.
  const double threshold = std::max(floor_db + 12.0, peak_db - 30.0);
  const double frame_s = 0.02;
  bool in = false;
  TimeSpan cur;
  for (size_t i = 0; i < energy_db.size(); ++i) {
    const bool voiced = energy_db[i] > threshold;
    if (voiced && !in) { cur.start_s = i * frame_s; in = true; }
    if (!voiced && in) { cur.end_s = i * frame_s; spans.push_back(cur); in = false; }
  }
  if (in) { cur.end_s = energy_db.size() * frame_s; spans.push_back(cur); }
  std::vector<TimeSpan> merged;
  for (const auto& s : spans) {
    if (!merged.empty() && s.start_s - merged.back().end_s < 0.3) merged.back().end_s = s.end_s;
    else merged.push_back(s);
  }
  merged.erase(std::remove_if(merged.begin(), merged.end(), [](const TimeSpan& s) { return s.end_s - s.start_s < 0.25; }),
               merged.end());
  return merged;
}

}  // namespace unmask::synth
