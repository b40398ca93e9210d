// unmask detect: training a detector from a manifest (what `unmask train` runs). One function per
// trainable detector, all with the same request and summary, so the command is a table lookup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::detect {

struct TrainRequest {
  std::string manifest_path;  // CSV with path,label (real|fake) and more columns
  std::string out_path;       // the model file to write (<name>.unm); the card goes next to it
  int epochs = 0;             // 0: the detector's default
  uint64_t seed = 1;
  bool resume = false;        // continue from out_path + ".ckpt" when it exists
  std::string cache_dir;      // where extracted crops/features may be cached; empty: next to out_path
  int threads = 0;            // 0: all cores
  std::string command_line;   // recorded in the model card
  ProgressFn progress;        // fraction done, and a status line ("epoch 2/8 loss 0.31 val_auc 0.91")
};

struct TrainSummary {
  std::string model_path;
  std::string card_path;                  // <model without .unm>.card.json
  std::map<std::string, double> metrics;  // e.g. "val_auc", "val_log_loss", "train_seconds"
  int64_t n_real = 0;
  int64_t n_fake = 0;
};

// The trainers. Each validates the manifest (input errors name file and line), trains, writes the
// model and its card (data, seed, command, metrics, sha256) atomically, and can resume.
using TrainerFn = Result<TrainSummary> (*)(const TrainRequest& request);
struct Trainer {
  std::string detector;   // "blend", "spectral", "temporal", "voice"
  TrainerFn train;
};
// Every trainer there is (defined in training_table.cpp).
const std::vector<Trainer>& trainers();

// The common start of a trainer: creates the output model's folder and the cache folder
// (request.cache_dir / cache_subdir, or <out folder>/<default_cache_name> when no cache_dir was
// given) and sets the thread count. Returns the cache folder; input error naming a folder that
// cannot be created.
Result<std::string> prepare_training_folders(const TrainRequest& request, const std::string& cache_subdir,
                                             const std::string& default_cache_name);

}  // namespace unmask::detect
