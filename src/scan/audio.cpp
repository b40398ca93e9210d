// What the audio of a file says: voice detectors, and lip-sync against the face tracks.
#include "scan/audio.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "core/clock.h"
#include "detect/audio_features.h"

namespace unmask::scan::internal {
namespace {

constexpr double kLipsyncMinTrackSeconds = 2.0;
constexpr int kLipsyncRateHz = 16000;

// Lip-sync: every face track of 2 s or more against the voice (detect::score_lipsync), and the
// video gets the face that best matches it (detect::better_lipsync_match): "lips and voice do not
// belong together" only when no visible speaking face matches the voice; a listener's or a second
// person's mouth is not evidence of a dub. Tracks (their mouth opening per frame) are laid on the
// file's frame grid one at a time, so memory stays at one series of 8 bytes a frame; the sound
// comes as LipsyncAudio (16 bytes per 10 ms, read from the file in pieces).
std::optional<report::LipsyncResult> judge_lipsync(const std::vector<TrackOutcome>& tracks,
                                                   const detect::LipsyncAudio& audio, double fps, double duration_s,
                                                   std::string& note) {
  if (!(fps > 0)) return std::nullopt;
  const auto n = static_cast<size_t>(std::max(1.0, std::ceil(std::max(duration_s, audio.duration_s) * fps)));
  std::optional<detect::LipsyncEstimate> best;
  for (const auto& t : tracks) {
    if (t.end_s - t.start_s < kLipsyncMinTrackSeconds) continue;
    if (auto small = detect::lipsync_face_too_small(t.eye_corner_px)) {
      if (!best || detect::better_lipsync_match(*small, *best)) best = std::move(*small);
      continue;
    }
    std::vector<double> grid(n, std::numeric_limits<double>::quiet_NaN());
    for (size_t i = 0; i < t.pts_us.size(); ++i) {
      const auto pos = static_cast<size_t>(std::llround(t.pts_us[i] / 1e6 * fps));
      if (pos < n) grid[pos] = t.mouth_opening[i];
    }
    auto estimate = detect::score_lipsync(grid, fps, audio);
    if (!estimate.ok()) {
      note = "lip-sync not judged: " + estimate.status().message();
      return std::nullopt;
    }
    if (!best || detect::better_lipsync_match(*estimate, *best)) best = std::move(*estimate);
  }
  if (!best) {
    note = "lip-sync not judged: no face track of 2 s";
    return std::nullopt;
  }
  if (!best->score) {
    note = "lip-sync not judged: " + best->note;
    return std::nullopt;
  }
  return report::LipsyncResult{*best->score, best->offset.offset_ms, best->offset.confidence};
}

}  // namespace

AudioHeard hear_audio(const std::string& path, const detect::DetectorSet& set, bool lipsync_wanted) {
  const auto started = SteadyClock::now();
  AudioHeard heard;
  AudioOutcome& out = heard.outcome;
  std::map<int, std::unique_ptr<detect::AudioSource>> by_rate;
  auto source_at = [&](int rate) -> Result<detect::AudioSource*> {
    auto it = by_rate.find(rate);
    if (it == by_rate.end()) {
      auto source = detect::file_audio_source(path, rate);
      if (!source.ok()) return source.status();
      it = by_rate.emplace(rate, std::move(*source)).first;
    }
    return it->second.get();
  };
  auto hear = [&]() -> Status {
    for (const auto& d : set.audio) {
      auto source = source_at(d->sample_rate_hz());
      if (!source.ok()) return source.status();
      auto r = d->score_stream(**source);
      if (!r.ok()) return r.status();
      if (!r->note.empty()) out.notes.push_back(d->info().name + ": " + r->note);
      if (r->speech_found) out.speech_heard = true;  // lip-sync runs on speech the detector did not judge
      if (!r->score) continue;
      out.speech_heard = true;
      out.judged_any = true;
      out.detector_scores.push_back({d->info().name, *r->score});
      if (!out.voice || *r->score > *out.voice) {
        out.voice = *r->score;
        out.voice_detector = d->info().name;
        out.segments.clear();
        for (const auto& s : r->segments) out.segments.push_back({s.start_s, s.end_s, s.score});
      }
    }
    // Lip-sync needs sound (and, later, a face long enough); without a voice detector it still
    // runs (the estimator itself refuses audio that does not vary like speech).
    const bool speech_possible = set.audio.empty() || out.speech_heard;
    if (lipsync_wanted && speech_possible) {
      auto source = source_at(kLipsyncRateHz);
      if (!source.ok()) return source.status();
      auto sound = detect::lipsync_audio_stream(**source);
      if (!sound.ok()) return sound.status();
      heard.lipsync_sound = std::move(*sound);
    }
    return Status::ok();
  };
  heard.status = hear();
  heard.seconds = seconds_since(started);
  return heard;
}

// Lip-sync once the face tracks are known, on the sound hear_audio prepared.
void judge_lipsync_of(const std::vector<TrackOutcome>& tracks, const detect::LipsyncAudio& sound,
                      double processed_fps, double duration_s, AudioOutcome& out) {
  if (tracks.empty()) return;
  std::string note;
  out.lipsync = judge_lipsync(tracks, sound, processed_fps, duration_s, note);
  if (!note.empty()) out.notes.push_back(note);
  if (out.lipsync) {
    out.judged_any = true;
    out.detector_scores.push_back({"lipsync", out.lipsync->score});
  }
}

}  // namespace unmask::scan::internal
