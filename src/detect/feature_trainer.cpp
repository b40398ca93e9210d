#include "detect/feature_trainer.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/json_text.h"
#include "learn/learn.h"

namespace unmask::detect {
namespace fs = std::filesystem;

Result<VideoRows> cached_video_rows(const std::shared_ptr<const face::FaceModels>& models, const std::string& video_path,
                                    const fs::path& cache, const std::string& feature_version, size_t width,
                                    const VideoRowsFn& compute) {
  std::error_code ec;
  const auto size = fs::file_size(video_path, ec);
  const std::string stem =
      sha256_hex(video_path + "|" + std::to_string(ec ? 0 : size) + "|" + feature_version).substr(0, 24);
  const fs::path file = cache / (stem + ".rows");
  if (std::ifstream in(file); in) {
    VideoRows rows;
    std::string line;
    while (std::getline(in, line)) {
      if (line == "end") return rows;
      std::istringstream fields(line);
      std::vector<float> row;
      std::string token;
      while (fields >> token) row.push_back(std::strtof(token.c_str(), nullptr));
      if (row.size() != width) break;
      rows.push_back(std::move(row));
    }
    // Cut short or of another width: computed again below.
  }
  auto rows = compute(models, video_path);
  if (!rows.ok()) return rows.status();
  std::ostringstream out;
  out << std::setprecision(9);
  for (const auto& row : *rows) {
    for (size_t j = 0; j < row.size(); ++j) out << (j ? " " : "") << (std::isfinite(row[j]) ? row[j] : NAN);
    out << "\n";
  }
  out << "end\n";
  UNMASK_RETURN_IF_ERROR(write_file_atomic(file.string(), out.str()));
  return rows;
}

Result<VideoRowSet> collect_video_rows(const TrainRequest& request, const VideoRowsSpec& spec) {
  auto items = learn::read_manifest(request.manifest_path);
  if (!items.ok()) return items.status();
  if (items->empty()) return Status::input(request.manifest_path, "no rows");
  auto models = face::FaceModels::load();
  if (!models.ok()) return models.status();
  auto cache = prepare_training_folders(request, spec.cache_subdir, spec.default_cache_name);
  if (!cache.ok()) return cache.status();

  VideoRowSet set;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    auto rows = cached_video_rows(*models, item.path, *cache, spec.feature_version, spec.width, spec.rows_of);
    if (request.progress) {
      request.progress(spec.progress_to * (i + 1) / items->size(),
                       spec.progress_word + " " + std::to_string(i + 1) + "/" + std::to_string(items->size()));
    }
    if (!rows.ok()) {
      set.n_failed += 1;
      continue;
    }
    if (rows->empty()) {
      set.n_without_rows[item.label] += 1;
      continue;
    }
    set.n_videos[item.label] += 1;
    const bool val = splitmix64(hash_text(item.path) ^ request.seed) % 4 == 0;
    for (auto& row : *rows) {
      set.n_rows[item.label] += 1;
      set.rows.push_back(std::move(row));
      set.labels.push_back(item.label);
      set.is_val.push_back(val);
    }
  }
  if (set.rows.empty()) return Status::input(request.manifest_path, spec.no_rows_message);
  auto manifest_sha = sha256_file(request.manifest_path);
  set.manifest_json = "\"manifest\": " + json_text(nlohmann::json(request.manifest_path)) + ", \"manifest_sha256\": \"" +
                      (manifest_sha.ok() ? *manifest_sha : std::string()) + "\"";
  return set;
}

FeatureTrainOptions feature_train_options(const TrainRequest& request, int default_epochs,
                                          const std::string& feature_version, double progress_from) {
  FeatureTrainOptions opts;
  opts.epochs = request.epochs > 0 ? request.epochs : default_epochs;
  opts.seed = request.seed;
  opts.feature_version = feature_version;
  opts.checkpoint_path = request.out_path + ".ckpt";
  opts.resume = request.resume;
  if (request.progress) {
    opts.progress = [progress = request.progress, progress_from](double f, std::string_view stage) {
      progress(progress_from + (1.0 - progress_from) * f, stage);
    };
  }
  return opts;
}

FeatureTrainOptions logistic_feature_train_options(const TrainRequest& request, int default_epochs,
                                                   const std::string& feature_version, double progress_from) {
  FeatureTrainOptions opts = feature_train_options(request, default_epochs, feature_version, progress_from);
  opts.hidden_widths = {};
  opts.batch_size = 16;
  opts.learning_rate = 0.01;
  opts.weight_decay = 1e-3;
  return opts;
}

Result<TrainSummary> fit_and_save_feature_model(const TrainRequest& request, const FeatureTrainOptions& options,
                                                const std::vector<std::vector<float>>& rows,
                                                const std::vector<int>& labels, const std::vector<bool>& is_val,
                                                SteadyClock::time_point started) {
  auto trained = train_feature_classifier(rows, labels, is_val, options);
  if (!trained.ok()) return trained.status();
  UNMASK_RETURN_IF_ERROR(trained->model.save(request.out_path));
  std::error_code ec;
  std::filesystem::remove(request.out_path + ".ckpt", ec);

  TrainSummary summary;
  summary.model_path = request.out_path;
  summary.card_path = card_path_for(request.out_path);
  summary.metrics = trained->metrics;
  summary.metrics["train_seconds"] =
      seconds_since(started);
  return summary;
}

Result<VideoRows> longest_track_row(const std::shared_ptr<const face::FaceModels>& models, const std::string& path,
                                    const TrackSeriesOptions& options, const TrackFeaturesFn& features) {
  auto tracks = track_series_from_file(path, models, options);
  if (!tracks.ok()) return tracks.status();
  VideoRows rows;
  if (tracks->empty()) return rows;
  if (auto row = features(tracks->front())) rows.push_back(std::move(*row));
  return rows;
}

std::string video_rows_card_data(const VideoRowSet& set, const VideoRowsCardText& text) {
  std::ostringstream data;
  data << "{" << set.manifest_json << ", \"n_videos\": {\"real\": " << set.n_videos[0] << ", \"fake\": " << set.n_videos[1]
       << "}, " << json_text(nlohmann::json(text.without_key)) << ": {\"real\": " << set.n_without_rows[0]
       << ", \"fake\": " << set.n_without_rows[1] << "}, \"n_failed\": " << set.n_failed;
  if (!text.count_key.empty()) {
    data << ", " << json_text(nlohmann::json(text.count_key)) << ": {\"real\": " << set.n_rows[0] << ", \"fake\": " << set.n_rows[1]
         << "}";
  }
  data << ", " << json_text(nlohmann::json(text.what_key)) << ": " << json_text(nlohmann::json(text.what))
       << ", \"validation\": \"whole videos whose path hash (with the seed) is 0 mod 4\"}";
  return data.str();
}

Status write_feature_model_card(const TrainRequest& request, const TrainSummary& summary, const std::string& detector,
                                const std::string& data_json, const std::string& architecture) {
  ModelCard card;
  card.detector = detector;
  card.model_path = request.out_path;
  card.data_json = data_json;
  card.seed = request.seed;
  card.command = request.command_line;
  card.metrics = summary.metrics;
  card.notes["architecture"] = architecture;
  return write_model_card(card);
}

}  // namespace unmask::detect
