// Training the temporal detector from a manifest of real and fake videos.
//
// Every video is tracked (face::track_file with default tracker options, every frame, crops at
// temporal's alignment); its longest track is cut into windows of 4 s every 2 s (a track of 2-4 s
// is one window) and each window gives one feature row. Validation holds out whole videos (path
// hash with the seed, 1 in 4), so windows of one clip never straddle the split. The model is a
// logistic regression (nn "mlp" without hidden layers): with a few dozen clips per class anything
// larger would learn the clips. Features a window cannot measure (seam flicker without crops) are
// filled with the training mean. Window features are cached per video under the cache dir.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>

#include "detect/feature_model.h"
#include "detect/feature_trainer.h"
#include "detect/temporal.h"
#include "detect/training.h"
#include "face/face.h"
#include "learn/learn.h"

namespace unmask::detect {
namespace fs = std::filesystem;
namespace {

constexpr double kWindowSeconds = 4.0;
constexpr double kHopSeconds = 2.0;

// Feature rows of the windows of a track.
std::vector<std::vector<float>> window_rows(const TrackSeries& track) {
  std::vector<std::vector<float>> rows;
  const size_t n = track.pts_us.size();
  if (n < 2) return rows;
  const int64_t t0 = track.pts_us.front();
  const double span_s = (track.pts_us.back() - t0) / 1e6;
  if (span_s < kWindowSeconds) {
    if (auto f = temporal_features(track)) rows.push_back(*f);
    return rows;
  }
  for (double start = 0.0; start + kWindowSeconds <= span_s + 1e-6; start += kHopSeconds) {
    size_t a = 0;
    while (a < n && (track.pts_us[a] - t0) / 1e6 < start) ++a;
    size_t b = a;
    while (b < n && (track.pts_us[b] - t0) / 1e6 < start + kWindowSeconds) ++b;
    if (auto f = temporal_features(slice_track(track, a, b))) rows.push_back(*f);
  }
  return rows;
}

// The rows of a video: the windows of its longest track of kTemporalMinSeconds or more.
Result<VideoRows> video_rows(const std::shared_ptr<const face::FaceModels>& models, const std::string& path) {
  TrackSeriesOptions opts;
  opts.min_seconds = kTemporalMinSeconds;
  auto tracks = track_series_from_file(path, models, opts);
  if (!tracks.ok()) return tracks.status();
  if (tracks->empty()) return VideoRows{};
  return window_rows(tracks->front());
}

// median_of, with 0 when there are none (the card's metadata is a number).
double median_or_zero(const std::vector<double>& v) { return v.empty() ? 0.0 : median_of(v); }

}  // namespace

Result<TrainSummary> train_temporal(const TrainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto set = collect_video_rows(request, {.cache_subdir = "temporal-rows",
                                          .default_cache_name = "temporal-cache",
                                          .feature_version = kTemporalFeatureVersion,
                                          .width = kTemporalFeatureCount,
                                          .rows_of = video_rows,
                                          .progress_to = 0.8,
                                          .progress_word = "tracks",
                                          .no_rows_message = "no track of 2 s or more in any video"});
  if (!set.ok()) return set.status();
  auto& [rows, labels, is_val, n_videos, n_no_track, n_windows, n_failed, manifest_json] = *set;

  // Fill unmeasurable features with the training mean.
  std::vector<double> sum(kTemporalFeatureCount, 0.0), cnt(kTemporalFeatureCount, 0.0);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (is_val[i]) continue;
    for (int j = 0; j < kTemporalFeatureCount; ++j) {
      if (std::isfinite(rows[i][j])) {
        sum[j] += rows[i][j];
        cnt[j] += 1;
      }
    }
  }
  for (auto& row : rows) {
    for (int j = 0; j < kTemporalFeatureCount; ++j) {
      if (!std::isfinite(row[j])) row[j] = static_cast<float>(cnt[j] > 0 ? sum[j] / cnt[j] : 0.0);
    }
  }
  std::vector<double> real_jitter, real_blinks;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (labels[i] == 0 && !is_val[i]) {
      real_jitter.push_back(rows[i][2]);
      real_blinks.push_back(std::expm1(rows[i][3]));
    }
  }

  FeatureTrainOptions opts = logistic_feature_train_options(request, 150, kTemporalFeatureVersion, 0.8);
  opts.extra_metadata = {{"detector", "temporal"},
                         {"real_log_jitter_ratio_median", format_floats({static_cast<float>(median_or_zero(real_jitter))})},
                         {"real_blink_rate_median", format_floats({static_cast<float>(median_or_zero(real_blinks))})},
                         {"windows", "4 s every 2 s of the longest track"}};
  auto fitted = fit_and_save_feature_model(request, opts, rows, labels, is_val, t0);
  if (!fitted.ok()) return fitted.status();
  TrainSummary summary = std::move(*fitted);
  summary.n_real = n_videos[0];
  summary.n_fake = n_videos[1];

  const std::string data = video_rows_card_data(
      *set, {.without_key = "n_videos_without_2s_track",
             .count_key = "n_windows",
             .what_key = "windows",
             .what = "4 s every 2 s of the longest track (2-4 s tracks: one window)"});
  UNMASK_RETURN_IF_ERROR(write_feature_model_card(
      request, summary, "temporal", data,
      "logistic regression (mlp without hidden layers) on 12 standardised track features, Platt calibration on validation"));
  return summary;
}

}  // namespace unmask::detect
