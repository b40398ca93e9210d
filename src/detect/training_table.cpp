#include "detect/training.h"

#include <filesystem>

#include "nn/nn.h"

namespace unmask::detect {

// Trainers, declared here and defined next to their detectors.
Result<TrainSummary> train_blend(const TrainRequest& request);  // blend_train.cpp
Result<TrainSummary> train_voice(const TrainRequest& request);  // voice_train.cpp
Result<TrainSummary> train_spectral(const TrainRequest& request);  // spectral_train.cpp
Result<TrainSummary> train_temporal(const TrainRequest& request);  // temporal_train.cpp
Result<TrainSummary> train_noise(const TrainRequest& request);  // noise_train.cpp
Result<TrainSummary> train_expression(const TrainRequest& request);  // expression_train.cpp
Result<TrainSummary> train_interpolation(const TrainRequest& request);  // interpolation_train.cpp
Result<TrainSummary> train_mouth(const TrainRequest& request);  // mouth.cpp

const std::vector<Trainer>& trainers() {
  static const std::vector<Trainer> table = {
      {"blend", train_blend},
      {"voice", train_voice},
      {"spectral", train_spectral},
      {"temporal", train_temporal},
      {"noise", train_noise},
      {"expression", train_expression},
      {"interpolation", train_interpolation},
      {"mouth", train_mouth},
  };
  return table;
}

Result<std::string> prepare_training_folders(const TrainRequest& request, const std::string& cache_subdir,
                                             const std::string& default_cache_name) {
  namespace fs = std::filesystem;
  if (request.threads > 0) nn::set_num_threads(request.threads);
  const fs::path out_dir = fs::path(request.out_path).parent_path();
  std::error_code ec;
  if (!out_dir.empty()) {
    fs::create_directories(out_dir, ec);
    if (ec) return Status::input(out_dir.string(), "cannot create the output folder: " + ec.message());
  }
  const fs::path cache = request.cache_dir.empty() ? out_dir / default_cache_name
                                                   : fs::path(request.cache_dir) / cache_subdir;
  fs::create_directories(cache, ec);
  if (ec) return Status::input(cache.string(), "cannot create the cache folder: " + ec.message());
  return cache.string();
}

}  // namespace unmask::detect
