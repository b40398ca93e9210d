// unmask detect: the expression detector, for talking heads made from one photo. Such an animator
// moves what its driver gives it (the mouth and jaw from the audio, blinks, the head pose); the
// upper face keeps the photo's expression, so the brows hardly move against the eyes. People who
// talk raise and knit their brows. The detector measures how much the brows move relative to the
// eyes over a face track and maps it to P(fake) with a logistic model (models/expression.unm)
// fitted on real videos and the project's own animated stills (`unmask synth animate`).
//
// It is moderate evidence by nature: a real person holding a still brow for a few seconds (a
// monotone read) looks the same. docs/detectors.md ("expression") has the cue's registration and
// measurements.
//
// Basic usage:
//
//   auto set = unmask::detect::load_detectors(models_dir, {"expression"});
//   TrackSeries track = ...;                 // landmarks and times per frame; no pixels needed
//   auto r = set->track[0]->score(track);    // r->score: nullopt for tracks under 2 s
//
//   auto activity = unmask::detect::brow_activity(track);   // the measurement alone
//
// Deterministic and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "face/face.h"
#include "nn/nn.h"

namespace unmask::detect {

inline constexpr double kExpressionMinSeconds = 2.0;  // shorter tracks: nullopt
inline constexpr const char* kExpressionFeatureVersion = "expression-features/1";
inline constexpr int kExpressionFeatureCount = 1;

// Brow raise of one face: with the landmarks rotated so the eye line is level, (eye line - mean
// height of brow points 17-26) / (nose tip 30 - eye line). A ratio of two vertical distances, so
// head pitch, which shortens both, cancels to first order. nullopt for a degenerate face.
std::optional<double> brow_raise(const face::Landmarks& landmarks);

// How much a per-frame signal sampled at `fps` moves: a 5-sample running median (landmark
// jitter), then windows of round(2 fps) samples every round(fps) (2 s every 1 s at the nominal
// rate; one window of everything when there are fewer); the mean over windows of max - min.
// Fixed-length windows, so a longer video does not look more active. NaN for fewer than 2 values.
double window_activity(const std::vector<double>& values, double fps);

// The mean brow activity of a track: window_activity of brow_raise over its frames at the track's
// fps, with windows kept inside stretches that have no gap over 1 s in their frame times (a long
// track reaches the detectors as 10 s chunks); stretches under kExpressionMinSeconds at that rate
// or under 10 measurable frames are left out, and nullopt when none is left.
std::optional<double> brow_activity(const TrackSeries& track);

// The model's feature row: {log(brow activity + 0.001)}.
std::optional<std::vector<float>> expression_features(const TrackSeries& track);

// The detector around a trained model (nn "mlp", metadata as the temporal one: feature_mean,
// feature_std, calibration, features = kExpressionFeatureVersion; plus
// "real_brow_activity_median" for the evidence sentence). Model error naming `what` otherwise.
Result<std::shared_ptr<const TrackDetector>> make_expression_detector(nn::Model model, const std::string& what,
                                                                      const std::string& model_sha256 = {});

}  // namespace unmask::detect
