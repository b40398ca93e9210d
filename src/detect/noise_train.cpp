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
#include <sstream>

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

Result<std::vector<std::vector<float>>> cached_rows(const std::shared_ptr<const face::FaceModels>& models,
                                                    const std::string& path, const fs::path& cache) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const std::string stem = sha256_hex(path + "|" + std::to_string(ec ? 0 : size) + "|" + kNoiseFeatureVersion).substr(0, 24);
  const fs::path file = cache / (stem + ".rows");
  if (std::ifstream in(file); in) {
    std::vector<std::vector<float>> rows;
    std::string line;
    while (std::getline(in, line)) {
      if (line == "end") return rows;
      std::istringstream ls(line);
      std::vector<float> row;
      std::string tok;
      while (ls >> tok) row.push_back(std::strtof(tok.c_str(), nullptr));
      if (row.size() != kNoiseFeatureCount) break;
      rows.push_back(std::move(row));
    }
  }
  auto rows = video_rows(models, path);
  if (!rows.ok()) return rows.status();
  std::ostringstream out;
  out << std::setprecision(9);
  for (const auto& row : *rows) {
    for (size_t j = 0; j < row.size(); ++j) out << (j ? " " : "") << row[j];
    out << "\n";
  }
  out << "end\n";
  UNMASK_RETURN_IF_ERROR(write_file_atomic(file.string(), out.str()));
  return rows;
}

}  // namespace

Result<TrainSummary> train_noise(const TrainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto items = learn::read_manifest(request.manifest_path);
  if (!items.ok()) return items.status();
  if (items->empty()) return Status::input(request.manifest_path, "no rows");
  auto models = face::FaceModels::load();
  if (!models.ok()) return models.status();
  auto cache_folder = prepare_training_folders(request, "noise-rows", "noise-cache");
  if (!cache_folder.ok()) return cache_folder.status();
  const fs::path cache = *cache_folder;

  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  int n_videos[2] = {0, 0}, n_no_track[2] = {0, 0}, n_rows[2] = {0, 0}, n_failed = 0;
  std::vector<double> real_ratio;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    auto r = cached_rows(*models, item.path, cache);
    if (request.progress) {
      request.progress(0.9 * (i + 1) / items->size(), "videos " + std::to_string(i + 1) + "/" + std::to_string(items->size()));
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
      if (item.label == 0 && !val) real_ratio.push_back(row[0]);
      n_rows[item.label] += 1;
      rows.push_back(std::move(row));
      labels.push_back(item.label);
      is_val.push_back(val);
    }
  }
  if (rows.empty()) return Status::input(request.manifest_path, "no face track with enough crops in any video");
  std::sort(real_ratio.begin(), real_ratio.end());
  const double real_median = real_ratio.empty() ? 0.0 : real_ratio[real_ratio.size() / 2];

  FeatureTrainOptions opts = feature_train_options(request, 200, kNoiseFeatureVersion, 0.9);
  opts.hidden_widths = {};
  opts.batch_size = 16;
  opts.learning_rate = 0.01;
  opts.weight_decay = 1e-3;
  opts.extra_metadata = {{"detector", "noise"},
                         {"real_noise_ratio_median", format_floats({static_cast<float>(real_median)})},
                         {"rows", "medians over groups of 12 crops (every 3rd frame) of the longest track, at most 6 per video"}};
  auto fitted = fit_and_save_feature_model(request, opts, rows, labels, is_val, t0);
  if (!fitted.ok()) return fitted.status();
  TrainSummary summary = std::move(*fitted);
  summary.n_real = n_videos[0];
  summary.n_fake = n_videos[1];

  auto manifest_sha = sha256_file(request.manifest_path);
  std::ostringstream data;
  data << "{\"manifest\": \"" << request.manifest_path << "\", \"manifest_sha256\": \""
       << (manifest_sha.ok() ? *manifest_sha : std::string()) << "\", \"n_videos\": {\"real\": " << n_videos[0]
       << ", \"fake\": " << n_videos[1] << "}, \"n_without_track\": {\"real\": " << n_no_track[0] << ", \"fake\": " << n_no_track[1]
       << "}, \"n_failed\": " << n_failed << ", \"n_rows\": {\"real\": " << n_rows[0] << ", \"fake\": " << n_rows[1]
       << "}, \"rows\": \"medians over groups of 12 crops (every 3rd frame) of the longest track, at most 6 per video\""
       << ", \"validation\": \"whole videos whose path hash (with the seed) is 0 mod 4\"}";
  UNMASK_RETURN_IF_ERROR(write_feature_model_card(
      request, summary, "noise", data.str(),
      "logistic regression (mlp without hidden layers) on 3 standardised face/ring noise ratios, Platt calibration on validation"));
  return summary;
}

}  // namespace unmask::detect
