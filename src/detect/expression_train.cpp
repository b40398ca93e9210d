// Training the expression detector from a manifest of real videos and animated stills.
//
// Every video is tracked (face::track_file with default tracker options, landmarks only); its
// longest face track gives one row, the log of its brow activity. One row a video, so long clips
// do not outvote short ones. Validation holds out whole videos (path hash with the seed, 1 in 4).
// The model is a logistic regression on that one feature, Platt-calibrated on validation: the
// fitted part is only where "still" ends and "moving" begins, and how sharply. Rows are cached per
// video under the cache dir.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "detect/expression.h"
#include "detect/feature_model.h"
#include "detect/feature_trainer.h"
#include "detect/temporal.h"
#include "detect/training.h"

namespace unmask::detect {
namespace {

Result<VideoRows> video_rows(const std::shared_ptr<const face::FaceModels>& models, const std::string& path) {
  TrackSeriesOptions opts;
  opts.min_seconds = kExpressionMinSeconds - 0.1;
  opts.with_crops = false;
  return longest_track_row(models, path, opts, expression_features);
}

}  // namespace

Result<TrainSummary> train_expression(const TrainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto set = collect_video_rows(request, {.cache_subdir = "expression-rows",
                                          .default_cache_name = "expression-cache",
                                          .feature_version = kExpressionFeatureVersion,
                                          .width = kExpressionFeatureCount,
                                          .rows_of = video_rows,
                                          .progress_to = 0.9,
                                          .progress_word = "tracks",
                                          .no_rows_message = "no face track of 2 s or more in any video"});
  if (!set.ok()) return set.status();
  const auto& [rows, labels, is_val, n_videos, n_no_track, n_rows, n_failed, manifest_json] = *set;
  std::vector<double> real_activity;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (labels[i] == 0 && !is_val[i]) real_activity.push_back(std::exp(static_cast<double>(rows[i][0])) - 1e-3);
  }
  std::sort(real_activity.begin(), real_activity.end());
  const double real_median = real_activity.empty() ? 0.0 : real_activity[real_activity.size() / 2];

  FeatureTrainOptions opts = logistic_feature_train_options(request, 200, kExpressionFeatureVersion, 0.9);
  opts.extra_metadata = {{"detector", "expression"},
                         {"real_brow_activity_median", format_floats({static_cast<float>(real_median)})},
                         {"rows", "log brow activity of the longest track, one row a video"}};
  auto fitted = fit_and_save_feature_model(request, opts, rows, labels, is_val, t0);
  if (!fitted.ok()) return fitted.status();
  TrainSummary summary = std::move(*fitted);
  summary.n_real = n_videos[0];
  summary.n_fake = n_videos[1];
  summary.metrics["real_brow_activity_median"] = real_median;

  const std::string data = video_rows_card_data(
      *set, {.without_key = "n_without_2s_track", .what = "log brow activity of the longest track, one row a video"});
  UNMASK_RETURN_IF_ERROR(write_feature_model_card(
      request, summary, "expression", data,
      "logistic regression (mlp without hidden layers) on the log brow activity, Platt calibration on validation"));
  return summary;
}

}  // namespace unmask::detect
