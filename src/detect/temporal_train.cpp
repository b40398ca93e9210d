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
#include <sstream>

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

Result<std::vector<std::vector<float>>> cached_rows(const std::shared_ptr<const face::FaceModels>& models,
                                                    const std::string& path, const fs::path& cache) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const std::string stem =
      sha256_hex(path + "|" + std::to_string(ec ? 0 : size) + "|" + kTemporalFeatureVersion).substr(0, 24);
  const fs::path file = cache / (stem + ".rows");
  std::vector<std::vector<float>> rows;
  if (std::ifstream in(file); in) {
    std::string line;
    bool ok = true;
    while (std::getline(in, line)) {
      if (line == "end") return rows;
      std::istringstream ls(line);
      std::vector<float> row;
      std::string tok;
      while (ls >> tok) row.push_back(std::strtof(tok.c_str(), nullptr));
      if (row.size() != kTemporalFeatureCount) ok = false;
      rows.push_back(std::move(row));
    }
    (void)ok;
    rows.clear();  // incomplete cache file: recompute
  }
  TrackSeriesOptions opts;
  opts.min_seconds = kTemporalMinSeconds;
  auto tracks = track_series_from_file(path, models, opts);
  if (!tracks.ok()) return tracks.status();
  if (!tracks->empty()) rows = window_rows(tracks->front());
  std::ostringstream out;
  out << std::setprecision(9);  // float round-trips exactly: a cached run equals a fresh one
  for (const auto& row : rows) {
    for (size_t j = 0; j < row.size(); ++j) out << (j ? " " : "") << (std::isfinite(row[j]) ? row[j] : NAN);
    out << "\n";
  }
  out << "end\n";
  UNMASK_RETURN_IF_ERROR(write_file_atomic(file.string(), out.str()));
  return rows;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

Result<TrainSummary> train_temporal(const TrainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto items = learn::read_manifest(request.manifest_path);
  if (!items.ok()) return items.status();
  if (items->empty()) return Status::input(request.manifest_path, "no rows");
  auto models = face::FaceModels::load();
  if (!models.ok()) return models.status();
  auto cache_folder = prepare_training_folders(request, "temporal-rows", "temporal-cache");
  if (!cache_folder.ok()) return cache_folder.status();
  const fs::path cache = *cache_folder;

  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  int n_videos[2] = {0, 0}, n_no_track[2] = {0, 0}, n_failed = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    auto r = cached_rows(*models, item.path, cache);
    if (request.progress) {
      request.progress(0.8 * (i + 1) / items->size(), "tracks " + std::to_string(i + 1) + "/" + std::to_string(items->size()));
    }
    if (!r.ok()) {
      n_failed += 1;
      continue;
    }
    if (r->empty()) {
      n_no_track[item.label] += 1;
      continue;
    }
    n_videos[item.label] += 1;
    const bool val = splitmix64(hash_text(item.path) ^ request.seed) % 4 == 0;
    for (auto& row : *r) {
      rows.push_back(std::move(row));
      labels.push_back(item.label);
      is_val.push_back(val);
    }
  }
  if (rows.empty()) return Status::input(request.manifest_path, "no track of 2 s or more in any video");

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
  int n_windows[2] = {0, 0};
  for (size_t i = 0; i < rows.size(); ++i) {
    n_windows[labels[i]] += 1;
    if (labels[i] == 0 && !is_val[i]) {
      real_jitter.push_back(rows[i][2]);
      real_blinks.push_back(std::expm1(rows[i][3]));
    }
  }

  FeatureTrainOptions opts = feature_train_options(request, 150, kTemporalFeatureVersion, 0.8);
  opts.hidden_widths = {};
  opts.batch_size = 16;
  opts.learning_rate = 0.01;
  opts.weight_decay = 1e-3;
  opts.extra_metadata = {{"detector", "temporal"},
                         {"real_log_jitter_ratio_median", format_floats({static_cast<float>(median_of(real_jitter))})},
                         {"real_blink_rate_median", format_floats({static_cast<float>(median_of(real_blinks))})},
                         {"windows", "4 s every 2 s of the longest track"}};
  auto fitted = fit_and_save_feature_model(request, opts, rows, labels, is_val, t0);
  if (!fitted.ok()) return fitted.status();
  TrainSummary summary = std::move(*fitted);
  summary.n_real = n_videos[0];
  summary.n_fake = n_videos[1];

  auto manifest_sha = sha256_file(request.manifest_path);
  std::ostringstream data;
  data << "{\"manifest\": \"" << request.manifest_path << "\", \"manifest_sha256\": \""
       << (manifest_sha.ok() ? *manifest_sha : std::string()) << "\", \"n_videos\": {\"real\": " << n_videos[0]
       << ", \"fake\": " << n_videos[1] << "}, \"n_videos_without_2s_track\": {\"real\": " << n_no_track[0]
       << ", \"fake\": " << n_no_track[1] << "}, \"n_failed\": " << n_failed << ", \"n_windows\": {\"real\": "
       << n_windows[0] << ", \"fake\": " << n_windows[1]
       << "}, \"windows\": \"4 s every 2 s of the longest track (2-4 s tracks: one window)\""
       << ", \"validation\": \"whole videos whose path hash (with the seed) is 0 mod 4\"}";
  UNMASK_RETURN_IF_ERROR(write_feature_model_card(
      request, summary, "temporal", data.str(),
      "logistic regression (mlp without hidden layers) on 12 standardised track features, Platt calibration on validation"));
  return summary;
}

}  // namespace unmask::detect
