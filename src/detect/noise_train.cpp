// Training the noise detector from a manifest of real and fake videos (and photos: one crop each,
// too few for a track row, so they are counted and skipped).
//
// Every video is tracked (face::track_file, every frame); each track gets a crop at noise's
// alignment every kSampleEvery-th frame of the track; the crops of the longest track are cut into
// groups of kGroupCrops in time order, and each group gives one feature row (the medians of
// noise_track_features), at most kMaxRowsPerVideo per video, so long clips do not outvote short
// ones. Validation holds out whole videos (path hash with the seed, 1 in 4). The model is a
// logistic regression: three features and a few dozen clips per class. Rows are cached per
// video under the cache dir.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>

#include "detect/feature_model.h"
#include "detect/feature_trainer.h"
#include "detect/noise.h"
#include "detect/training.h"
#include "face/face.h"
#include "learn/learn.h"

namespace unmask::detect {
namespace fs = std::filesystem;
namespace {

constexpr int kSampleEvery = 3;
constexpr size_t kGroupCrops = 12;
constexpr size_t kMaxRowsPerVideo = 6;

Result<std::vector<std::vector<float>>> video_rows(const std::shared_ptr<const face::FaceModels>& models, const std::string& path) {
  struct Track {
    int64_t n = 0;
    std::vector<Image> crops;
  };
  std::map<int, Track> tracks;
  const face::AlignOptions align{.size_px = kNoiseCropPx, .margin = kNoiseMargin};
  auto on_frame = [&](face::FrameFaces& ff) -> Status {
    for (const face::Face& f : ff.faces) {
      Track& t = tracks[f.track_id];
      if (t.n++ % kSampleEvery != 0) continue;
      auto aligned = face::align_face(ff.image, f.landmarks, align);
      if (aligned.ok()) t.crops.push_back(std::move(aligned->crop));
    }
    return Status::ok();
  };
  auto faces = face::track_file(path, models, {}, on_frame);
  if (!faces.ok()) return faces.status();
  std::vector<std::vector<float>> rows;
  const Track* best = nullptr;
  for (const auto& [id, t] : tracks) {
    if (!best || t.crops.size() > best->crops.size()) best = &t;
  }
  if (!best || best->crops.size() < static_cast<size_t>(kNoiseMinCrops)) return rows;
  const size_t n = best->crops.size();
  const size_t groups = std::clamp<size_t>(n / kGroupCrops, 1, kMaxRowsPerVideo);
  for (size_t g = 0; g < groups; ++g) {
    // Groups spread over the whole track: group g takes every groups-th crop from offset g.
    std::vector<Image> part;
    for (size_t i = g; i < n; i += groups) part.push_back(best->crops[i]);
    if (auto row = noise_track_features(part)) rows.push_back(*row);
  }
  return rows;
}

}  // namespace

Result<TrainSummary> train_noise(const TrainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto set = collect_video_rows(request, {.cache_subdir = "noise-rows",
                                          .default_cache_name = "noise-cache",
                                          .feature_version = kNoiseFeatureVersion,
                                          .width = kNoiseFeatureCount,
                                          .rows_of = video_rows,
                                          .progress_to = 0.9,
                                          .progress_word = "videos",
                                          .no_rows_message = "no face track with enough crops in any video"});
  if (!set.ok()) return set.status();
  const auto& [rows, labels, is_val, n_videos, n_no_track, n_rows, n_failed, manifest_json] = *set;
  std::vector<double> real_ratio;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (labels[i] == 0 && !is_val[i]) real_ratio.push_back(rows[i][0]);
  }
  std::sort(real_ratio.begin(), real_ratio.end());
  const double real_median = real_ratio.empty() ? 0.0 : real_ratio[real_ratio.size() / 2];

  FeatureTrainOptions opts = logistic_feature_train_options(request, 200, kNoiseFeatureVersion, 0.9);
  opts.extra_metadata = {{"detector", "noise"},
                         {"real_noise_ratio_median", format_floats({static_cast<float>(real_median)})},
                         {"rows", "medians over groups of 12 crops (every 3rd frame) of the longest track, at most 6 per video"}};
  auto fitted = fit_and_save_feature_model(request, opts, rows, labels, is_val, t0);
  if (!fitted.ok()) return fitted.status();
  TrainSummary summary = std::move(*fitted);
  summary.n_real = n_videos[0];
  summary.n_fake = n_videos[1];

  const std::string data = video_rows_card_data(
      *set, {.without_key = "n_without_track",
             .count_key = "n_rows",
             .what = "medians over groups of 12 crops (every 3rd frame) of the longest track, at most 6 per video"});
  UNMASK_RETURN_IF_ERROR(write_feature_model_card(
      request, summary, "noise", data,
      "logistic regression (mlp without hidden layers) on 3 standardised face/ring noise ratios, Platt calibration on validation"));
  return summary;
}

}  // namespace unmask::detect
