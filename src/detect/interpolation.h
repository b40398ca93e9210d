// unmask detect: the interpolation detector. Doubling a video's frame rate by synthesising the
// frames in between (DAIN, RIFE, FILM, ffmpeg's minterpolate or framerate), as some lip-sync and
// face-swap pipelines do to smooth their output, makes every second frame a blend of two warped
// neighbours: its fine detail is averaged away. Over a face track, the face's high-frequency
// energy then alternates with a period of two frames, which a camera does not produce.
//
// Per frame: face_detail, the log mean |3x3 Laplacian| of the grey face box. In windows of 2 s
// (an even number of consecutive frames, one every 1 s), the alternation X = mean of (-1)^t e_t
// against the noise s of e measured by lag-2 differences (which cancel the alternation and slow
// trends): z = |X| sqrt(W) / s, about |N(0, 1)| without alternation. The track's statistic is the
// median z over its windows; a logistic on log z (models/interpolation.unm, `unmask train
// --detector interpolation`), fitted on the project's own data (real clips re-encoded with and
// without B-frames and with repeated frames, against the same clips doubled by ffmpeg's
// motion-compensated and blending interpolation: scripts/train-interpolation.sh), maps it to
// P(fake). Codecs' hierarchical B-frames alternate the detail too, more weakly: that is what the
// fit weighs.
//
// Basic usage:
//
//   auto set = unmask::detect::load_detectors(models_dir, {"interpolation"});
//   TrackSeries track = ...;               // with face_detail for every frame
//   auto r = set->track[0]->score(track);  // nullopt: no 2 s of consecutive measured frames
//
// Deterministic and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "detect/detector.h"
#include "nn/nn.h"

namespace unmask::detect {

inline constexpr const char* kInterpolationFeatureVersion = "interpolation-features/1";
inline constexpr int kInterpolationFeatureCount = 1;
inline constexpr double kInterpolationWindowSeconds = 2.0;

// log mean |3x3 Laplacian| of the grey pixels of `box` (clipped to the frame) in a BGR frame;
// NaN when under 16 x 16 pixels remain or the box is flat.
float face_detail(const Image& frame, const Box& box);

struct InterpolationEvidence {
  double median_z = 0;    // median over windows of the alternation's z
  double median_step = 0; // median over windows of 2|X|: the log-detail step between odd and even frames
  int n_windows = 0;
};
// The alternation of track.face_detail over windows of kInterpolationWindowSeconds at track.fps
// (rounded to an even number of frames, one window every half of that), each inside a stretch of
// consecutive frames (no step over 1.5 frame periods in pts_us, every face_detail finite);
// nullopt without one full window or when face_detail does not match pts_us.
std::optional<InterpolationEvidence> interpolation_evidence(const TrackSeries& track);

// The model's feature row: {log(median z + 0.001)}; nullopt without evidence.
std::optional<std::vector<float>> interpolation_features(const TrackSeries& track);

// The detector around a trained model (nn "mlp" without hidden layers, FeatureClassifier metadata
// with features = kInterpolationFeatureVersion). Model error naming `what` otherwise.
Result<std::shared_ptr<const TrackDetector>> make_interpolation_detector(nn::Model model, const std::string& what,
                                                                         const std::string& model_sha256 = {});

}  // namespace unmask::detect
