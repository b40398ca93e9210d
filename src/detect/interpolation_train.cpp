// Training the interpolation detector from a manifest of real videos and frame-rate-doubled ones.
//
// Every video is tracked on every frame (face::track_file, no crops); its longest face track gives
// one row, the log of its alternation z (interpolation_features). One row a video, so long clips
// do not outvote short ones. Validation holds out whole videos (path hash with the seed, 1 in 4).
// The model is a logistic regression on that one feature, Platt-calibrated on validation.
#include <chrono>

#include "detect/feature_model.h"
#include "detect/feature_trainer.h"
#include "detect/interpolation.h"
#include "detect/temporal.h"
#include "detect/training.h"

namespace unmask::detect {
namespace {

Result<VideoRows> video_rows(const std::shared_ptr<const face::FaceModels>& models, const std::string& path) {
  TrackSeriesOptions opts;
  opts.min_seconds = kInterpolationWindowSeconds - 0.1;
  opts.with_crops = false;
  opts.with_face_detail = true;
  return longest_track_row(models, path, opts, interpolation_features);
}

}  // namespace

Result<TrainSummary> train_interpolation(const TrainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto set = collect_video_rows(request, {.cache_subdir = "interpolation-rows",
                                          .default_cache_name = "interpolation-cache",
                                          .feature_version = kInterpolationFeatureVersion,
                                          .width = kInterpolationFeatureCount,
                                          .rows_of = video_rows,
                                          .progress_to = 0.9,
                                          .progress_word = "tracks",
                                          .no_rows_message = "no face track of 2 s or more in any video"});
  if (!set.ok()) return set.status();
  const auto& [rows, labels, is_val, n_videos, n_no_track, n_rows, n_failed, manifest_json] = *set;

  FeatureTrainOptions opts = logistic_feature_train_options(request, 200, kInterpolationFeatureVersion, 0.9);
  opts.extra_metadata = {{"detector", "interpolation"},
                         {"rows", "log alternation z of the longest track, one row a video"}};
  auto fitted = fit_and_save_feature_model(request, opts, rows, labels, is_val, t0);
  if (!fitted.ok()) return fitted.status();
  TrainSummary summary = std::move(*fitted);
  summary.n_real = n_videos[0];
  summary.n_fake = n_videos[1];

  const std::string data = video_rows_card_data(
      *set, {.without_key = "n_without_2s_track", .what = "log alternation z of the longest track, one row a video"});
  UNMASK_RETURN_IF_ERROR(write_feature_model_card(
      request, summary, "interpolation", data,
      "logistic regression (mlp without hidden layers) on the log alternation z, Platt calibration on validation"));
  return summary;
}

}  // namespace unmask::detect
