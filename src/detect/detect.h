// unmask detect: the detectors. This first part is the signal side of the lip-sync detector:
// how far the mouth moves, how loud the speech is, and the audio offset that best lines them up.
//
// Basic usage:
//
//   // Per video frame: lip opening of one face track (68-point landmarks, frame coordinates).
//   std::vector<double> mouth = unmask::detect::mouth_opening(landmarks_per_frame);
//   // The speech envelope sampled at the same frame rate.
//   std::vector<double> loudness = unmask::detect::speech_envelope(audio_16k, fps);
//   auto sync = unmask::detect::estimate_av_offset(mouth, loudness, fps);   // Result<AvOffset>
//   // sync->offset_ms > 0: the audio lags the lips.
//
// Everything here is plain arithmetic on short series: deterministic, no model, thread-safe.
#pragma once

#include <optional>
#include <vector>

#include "core/core.h"
#include "face/face.h"

namespace unmask::detect {

// Inner-lip opening per frame (mean distance of landmark pairs 61-67, 62-66, 63-65) divided by
// the eye-corner distance (36-45), so that it does not depend on the face's size. nullopt frames
// (no face) become NaN.
std::vector<double> mouth_opening(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame);

// Log RMS energy of `audio` in windows centred on each video frame time (n_frames = duration x fps),
// in dB relative to full scale, floored at -80 dB.
std::vector<double> speech_envelope(const Audio& audio, double fps);

struct AvOffset {
  int offset_ms = 0;          // lag of the audio behind the lips at the best match
  double correlation = 0.0;   // normalised correlation at that lag, -1..1
  double aligned_correlation = 0.0;  // best correlation within +-80 ms of lag 0 (a normal AV skew)
  double confidence = 0.0;    // 0..1: how clearly the best lag stands out from the others
  int n_frames_used = 0;
};

// Normalised cross-correlation of the two series, each with its 1 s trend removed, over lags of
// +-max_offset_s; NaN frames are skipped pairwise. Input error when fewer than 2 s of frames have
// both signals, or when either is constant (no speech, a still mouth): then there is nothing to
// judge, which is not evidence either way.
Result<AvOffset> estimate_av_offset(const std::vector<double>& mouth, const std::vector<double>& envelope,
                                    double fps, double max_offset_s = 1.0);

// Probability that lips and voice do not belong together, from the offset estimate: high when the
// best lag is 200 ms or more from zero with confidence, or when the lips and the voice barely
// correlate near zero lag (another voice). Provisional thresholds until fitted on data.
double lipsync_mismatch_score(const AvOffset& offset);

}  // namespace unmask::detect
