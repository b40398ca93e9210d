// unmask detect: the noise detector, a generic face-swap cue. A camera puts the same sensor noise
// and the same sharpness on a face as on what surrounds it; a face that was generated, warped
// from another picture or re-rendered and pasted in is smoother (or differently sharp) than the
// frame around it. Per aligned crop the detector compares the high-frequency energy inside the
// face with a ring around it; over the track it takes the median of each statistic (a few odd
// frames do not decide) and a small learned model (logistic regression, nn "mlp" without hidden
// layers, models/noise.unm) maps them to P(fake).
//
// Basic usage:
//
//   auto set = unmask::detect::load_detectors(models_dir, {"noise"});
//   TrackSeries track = ...;             // crops at noise's alignment() (kNoiseCropPx, kNoiseMargin)
//   auto r = set->track[0]->score(track);   // r->score: nullopt with fewer than kNoiseMinCrops crops
//
//   auto f = unmask::detect::noise_crop_features(crop);   // the statistics of one crop
//
// Deterministic and thread-safe.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "nn/nn.h"

namespace unmask::detect {

// The crop: large enough that the face keeps most of its pixel-level noise (the template face is
// kNoiseCropPx / (1 + 2 * kNoiseMargin) = 116 px), with a margin wide enough for the ring.
inline constexpr int kNoiseCropPx = 256;
inline constexpr double kNoiseMargin = 0.6;
inline constexpr int kNoiseMinCrops = 3;
inline constexpr const char* kNoiseFeatureVersion = "noise-features/1";

// Per crop, inside the face (the template face's central part: eyes, nose, cheeks, mouth) against
// a ring around it (between 1.6x and 1.9x the template face, centred on it):
//   0 log(mean |high-pass| inside / in the ring)      high-pass = gray - Gaussian(sigma 1)
//   1 log(median |high-pass| inside / in the ring)    the noise floor, less moved by edges
//   2 log(mean |band-pass| inside / in the ring)      band-pass = Gaussian(1) - Gaussian(2.5)
// Low values: a face smoother than its surroundings. nullopt for a crop of the wrong size.
inline constexpr int kNoiseFeatureCount = 3;
std::optional<std::array<float, kNoiseFeatureCount>> noise_crop_features(const Image& crop);

// The track's feature row: the median of each crop statistic over the crops (nullopt with fewer
// than kNoiseMinCrops usable crops).
std::optional<std::vector<float>> noise_track_features(const std::vector<Image>& crops);

// The detector around a trained model (metadata as the temporal one: feature_mean, feature_std,
// calibration, features = kNoiseFeatureVersion; plus "real_noise_ratio_median", the median of
// feature 0 over real training tracks, for the evidence sentence). Model error naming `what`.
Result<std::shared_ptr<const TrackDetector>> make_noise_detector(nn::Model model, const std::string& what,
                                                                 const std::string& model_sha256 = {});

}  // namespace unmask::detect
