// unmask detect (private): what the spectral and temporal detectors share — a small classifier
// on a standardised feature vector, with its standardisation and Platt calibration stored in the
// model file's metadata, its training from feature rows, and the model card.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/core.h"
#include "learn/learn.h"
#include "nn/nn.h"

namespace unmask::detect {

// A loaded feature classifier: z = (x - mean) / std, logit = mlp(z), p = platt(logit).
class FeatureClassifier {
 public:
  // Checks the model: architecture "mlp" with n_features inputs, metadata "features" equal to
  // feature_version, "feature_mean"/"feature_std" with n_features numbers (std > 0) and a
  // "calibration" Platt line. Model error naming `what` otherwise.
  static Result<FeatureClassifier> create(nn::Model model, const std::string& what,
                                          const std::string& feature_version, int n_features);
  // P(fake) per row. Input error when a row has the wrong length.
  Result<std::vector<double>> predict(const std::vector<std::vector<float>>& rows) const;
  const nn::Model& model() const { return model_; }
  const std::vector<float>& mean() const { return mean_; }

 private:
  nn::Model model_;
  std::vector<float> mean_, std_;
  learn::PlattScaling platt_;
};

// Loads models_dir/<name>.unm (nn "mlp"), checksums it and hands it to `make(model, path, sha256)`,
// a make_*_detector function; appends the detector to `into` (set.crop or set.track). Model error
// naming the file when it is missing, corrupt or not what `make` expects.
template <typename Make, typename Into>
Status load_feature_detector(const std::string& models_dir, const std::string& name, Make make, Into& into) {
  const std::string path = (std::filesystem::path(models_dir) / (name + ".unm")).string();
  auto model = nn::load_model(path, "mlp");
  if (!model.ok()) return model.status();
  auto sha = sha256_file(path);
  if (!sha.ok()) return Status::model(path, sha.status().message());
  auto detector = make(std::move(*model), path, *sha);
  if (!detector.ok()) return detector.status();
  into.push_back(std::move(*detector));
  return Status::ok();
}

// The upper median of `values` (the middle one of an odd count, the upper middle one of an even
// count); NaN when there are none.
double median_of(std::vector<double> values);

// Space-separated numbers with full float precision, and back (nullopt-like: false on bad text).
std::string format_floats(const std::vector<float>& values);
bool parse_floats(const std::string& text, std::vector<float>& out);
// The one number stored under `key` in a model's metadata; nullopt when it is missing, not a
// number, or more than one.
std::optional<double> metadata_number(const nn::Metadata& meta, const std::string& key);

struct FeatureTrainOptions {
  std::vector<int> hidden_widths;   // mlp hidden layers ({} = logistic regression)
  int epochs = 60;
  int batch_size = 32;
  double learning_rate = 3e-3;
  double weight_decay = 1e-4;
  uint64_t seed = 1;
  std::string feature_version;
  std::string checkpoint_path;      // resumable training (learn::TrainConfig)
  bool resume = false;
  ProgressFn progress;
  nn::Metadata extra_metadata;      // copied into the model file
};

struct FeatureTrainResult {
  nn::Model model;                  // with the full metadata (scaler, calibration, extra)
  std::map<std::string, double> metrics;  // val_auc, val_log_loss, val_eer, val_accuracy, train_auc
  std::vector<double> val_scores;   // calibrated, in the order of the validation rows
};

// Trains on rows whose is_val flag is false and validates (and fits Platt) on the rest. Labels
// 1 fake, 0 real. Standardisation is computed on the training rows. Input error when either
// split lacks a class.
Result<FeatureTrainResult> train_feature_classifier(const std::vector<std::vector<float>>& rows,
                                                    const std::vector<int>& labels,
                                                    const std::vector<bool>& is_val,
                                                    const FeatureTrainOptions& options);

// The model card next to the model (<model without .unm>.card.json): detector, model path and
// sha256 of the file, data (free-form JSON text), seed, command, metrics, created time.
struct ModelCard {
  std::string detector;
  std::string model_path;
  std::string data_json;            // a JSON object, written verbatim
  uint64_t seed = 0;
  std::string command;
  std::map<std::string, double> metrics;
  std::map<std::string, std::string> notes;
};
std::string card_path_for(const std::string& model_path);
Status write_model_card(const ModelCard& card);

}  // namespace unmask::detect
