// unmask detect: the temporal detector. A face swap or a re-rendered face is made frame by frame:
// its landmarks wobble more than the head moves, it blinks rarely or oddly (the target's eyes are
// replaced by a source that keeps its own), and the seam between the pasted face and the frame
// flickers in colour and sharpness while the face's interior does not. The detector measures those
// on one face track (detect::TrackSeries) and scores them with a small learned model (logistic
// regression, nn "mlp" without hidden layers) stored in models/temporal.unm.
//
// Basic usage:
//
//   auto set = unmask::detect::load_detectors(models_dir, {"temporal"});
//   TrackSeries track = ...;   // landmarks per frame + crops at temporal's alignment()
//   auto r = set->track[0]->score(track);       // r->score: nullopt for tracks under 2 s
//   for (auto& line : r->evidence) ...         // "blinks: none in 12 s"
//
//   // Or from a file (what the trainer and the bench do):
//   auto tracks = unmask::detect::track_series_from_file("clip.mp4", models, {});
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

// Crops the temporal detector wants in TrackSeries::crops: small (flicker is a mean over regions),
// at every frame of the track.
inline constexpr int kTemporalCropPx = 64;
inline constexpr double kTemporalMargin = 0.25;
inline constexpr double kTemporalMinSeconds = 2.0;  // shorter tracks: nullopt
inline constexpr const char* kTemporalFeatureVersion = "temporal-features/1";

// Per-frame signals of a track.
struct TemporalSignals {
  std::vector<double> t_s;              // time of each frame from the track's start
  std::vector<double> jitter;           // inner-landmark residual after a similarity fit to the
                                        // smoothed track, in inter-ocular distances
  std::vector<double> head_speed;       // smoothed landmark centroid motion, IODs per frame
  std::vector<double> ear;              // eye aspect ratio, mean of both eyes
};
TemporalSignals temporal_signals(const TrackSeries& track);

struct BlinkStats {
  int n_blinks = 0;
  double duration_s = 0;          // of the span analysed
  double rate_per_min = 0;
  double mean_blink_s = 0;        // mean length of a blink (0 without blinks)
  double mean_depth = 0;          // mean of 1 - min EAR / open EAR over blinks
  int n_long_closures = 0;        // eyes shut longer than a blink (> 0.7 s)
  double open_ear = 0;            // the open-eye level (80th percentile)
};
// Blinks in an EAR series sampled at times t_s (3-frame median filtered first): runs below 75 % of the open level (80th
// percentile) that end above 88 % of it, at most 0.7 s long.
BlinkStats count_blinks(const std::vector<double>& ear, const std::vector<double>& t_s);

// The features of a track (kTemporalFeatureCount values), or nullopt when it is shorter than
// kTemporalMinSeconds or has fewer than 10 frames:
//   0 log median jitter            1 log 90th percentile jitter
//   2 log(median jitter / (median head speed + 0.002))   (jitter relative to head motion)
//   3 log1p blink rate per minute  4 mean blink length (s)   5 mean blink depth
//   6 EAR noise: median |EAR - its 5-frame median| / open level
//   7 fraction of frames with eyes below the blink threshold
//   8 log ratio of boundary to inner luma flicker (median |frame-to-frame change|)
//   9 log ratio of boundary to inner sharpness flicker
//  10 frame-to-frame variation of the inner-minus-boundary luma difference
//  11 log ratio of inner to boundary sharpness (a pasted face is often softer)
// Features 8-11 need at least 10 crops (at consecutive frames, kTemporalCropPx); without them
// they are NaN and the detector replaces them by the training mean (no evidence either way).
inline constexpr int kTemporalFeatureCount = 12;
std::optional<std::vector<float>> temporal_features(const TrackSeries& track);

// The detector around a trained model (metadata as the spectral one: feature_mean, feature_std,
// calibration, features = kTemporalFeatureVersion; plus "real_log_jitter_ratio_median" (median feature 2 of real training windows) and
// "real_blink_rate_median" for the evidence sentences). Model error naming `what` otherwise.
Result<std::shared_ptr<const TrackDetector>> make_temporal_detector(nn::Model model, const std::string& what,
                                                                    const std::string& model_sha256 = {});

// Every face track of a file as TrackSeries with crops at every processed frame (temporal's
// alignment), longest first; tracks shorter than min_seconds are left out. Input error for
// unreadable media.
struct TrackSeriesOptions {
  int every_nth = 1;
  int64_t max_frames = -1;
  double min_seconds = 0.0;
  bool with_crops = true;
  bool with_face_detail = false;  // detect::face_detail of every frame (with every_nth 1 only)
};
Result<std::vector<TrackSeries>> track_series_from_file(const std::string& path,
                                                        std::shared_ptr<const face::FaceModels> models,
                                                        const TrackSeriesOptions& options = {});

// A sub-range [begin, end) of a track (frames, and the crops that fall inside), for training on
// windows of long tracks.
TrackSeries slice_track(const TrackSeries& track, size_t begin, size_t end);

}  // namespace unmask::detect
