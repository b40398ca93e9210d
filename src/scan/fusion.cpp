// Fusion of detector scores into one calibrated score and a verdict: the rule documented in
// scan.h, written out so that a reader can check it line by line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "scan/scan.h"

namespace unmask::scan {
namespace {

double logit(double p) {
  const double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(q / (1.0 - q));
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

report::Verdict verdict_for_score(double score) {
  if (score >= kManipulatedThreshold) return report::Verdict::kManipulated;
  if (score >= kSuspiciousThreshold) return report::Verdict::kSuspicious;
  return report::Verdict::kAuthentic;
}

FusionResult fuse(const FusionInput& in) {
  FusionResult out;
  const double nan = std::numeric_limits<double>::quiet_NaN();

  // Tracks: the strongest detector per track, then the strongest track among those with enough
  // scored frames (every track when none has enough, e.g. a still image).
  bool any_long = false;
  for (const TrackEvidence& t : in.tracks) any_long |= !t.scores.empty() && t.n_scored_frames >= kMinTrackFrames;
  int best_track = -1;
  for (const TrackEvidence& t : in.tracks) {
    double track = nan;
    for (const DetectorScore& d : t.scores) track = std::isnan(track) ? d.score : std::max(track, d.score);
    out.track_scores.push_back(track);
    if (std::isnan(track)) continue;
    if (any_long && t.n_scored_frames < kMinTrackFrames) continue;
    if (!out.video_score || track > *out.video_score) {
      out.video_score = track;
      best_track = t.track_id;
    }
  }

  std::string audio_source;
  if (in.voice) {
    out.audio_score = *in.voice;
    audio_source = "voice";
  }
  if (in.lipsync && (!out.audio_score || *in.lipsync > *out.audio_score)) {
    out.audio_score = *in.lipsync;
    audio_source = "lipsync";
  }

  std::optional<double> media;
  if (out.video_score) {
    media = *out.video_score;
    out.deciding = "track " + std::to_string(best_track);
  }
  if (out.audio_score && (!media || *out.audio_score > *media)) {
    media = *out.audio_score;
    out.deciding = audio_source;
  }

  const report::WatermarkSection& w = in.watermark;
  if (w.found && w.synthetic) {
    out.score = std::max(media.value_or(0.0), 0.99);
    out.verdict = report::Verdict::kManipulated;
    out.deciding = "watermark";
    return out;
  }
  if (w.found) {
    // A mark of an issuer: the file is what that issuer published, unless its tamper layer says
    // regions were changed since.
    const double base = media ? logit(*media) : 0.0;
    const bool tampered = w.tamper_fraction_frames >= kTamperFractionThreshold;
    out.score = sigmoid(base + (tampered ? kTamperedMarkLogitShift : kIntactMarkLogitShift));
    out.verdict = verdict_for_score(out.score);
    out.deciding = out.deciding.empty() ? "watermark" : "watermark+" + out.deciding;
    return out;
  }
  if (!media || !in.not_applicable_reason.empty()) {
    out.score = 0.5;
    out.verdict = report::Verdict::kNotApplicable;
    out.deciding.clear();
    return out;
  }
  out.score = *media;
  out.verdict = verdict_for_score(out.score);
  return out;
}

std::string detector_phrase(const std::string& detector) {
  if (detector == "blend") return "blending seams";
  if (detector == "spectral") return "spectral traces of a generated face";
  if (detector == "temporal") return "unnatural motion over time";
  if (detector == "voice") return "synthetic speech";
  if (detector == "lipsync") return "lips out of step with the voice";
  return detector;
}

std::string clock_text(double t_s) {
  const long total = std::lround(std::max(0.0, t_s));
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
  }
  return buf;
}

}  // namespace unmask::scan
