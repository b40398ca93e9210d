// Feature classifiers for the spectral and temporal detectors: standardise, mlp, Platt.
#include "detect/feature_model.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json_text.h"

namespace unmask::detect {
namespace {

std::string format_float(float v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

}  // namespace

double median_of(std::vector<double> values) {
  if (values.empty()) return NAN;
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

std::string format_floats(const std::vector<float>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ' ';
    out += format_float(values[i]);
  }
  return out;
}

bool parse_floats(const std::string& text, std::vector<float>& out) {
  out.clear();
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    while (p < end && *p == ' ') ++p;
    if (p == end) break;
    float v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || !std::isfinite(v)) return false;
    out.push_back(v);
    p = next;
  }
  return true;
}

std::optional<double> metadata_number(const nn::Metadata& meta, const std::string& key) {
  const auto it = meta.find(key);
  std::vector<float> v;
  if (it == meta.end() || !parse_floats(it->second, v) || v.size() != 1) return std::nullopt;
  return static_cast<double>(v[0]);
}

Result<FeatureClassifier> FeatureClassifier::create(nn::Model model, const std::string& what,
                                                    const std::string& feature_version, int n_features) {
  if (model.empty()) return Status::model(what, "no model");
  const nn::ModelSpec& spec = model.spec();
  if (spec.name != "mlp") return Status::model(what, "architecture is " + spec.name + ", expected mlp");
  if (spec.n_features != n_features) {
    return Status::model(what, "model takes " + std::to_string(spec.n_features) + " features, the detector makes " +
                                   std::to_string(n_features));
  }
  const nn::Metadata& meta = model.metadata();
  auto get = [&](const std::string& key) -> const std::string* {
    auto it = meta.find(key);
    return it == meta.end() ? nullptr : &it->second;
  };
  const std::string* version = get("features");
  if (version == nullptr || *version != feature_version) {
    return Status::model(what, "features are " + (version ? *version : std::string("unstated")) + ", expected " +
                                   feature_version + " (retrain the model)");
  }
  FeatureClassifier c;
  const std::string* mean = get("feature_mean");
  const std::string* stdev = get("feature_std");
  if (mean == nullptr || stdev == nullptr || !parse_floats(*mean, c.mean_) || !parse_floats(*stdev, c.std_) ||
      static_cast<int>(c.mean_.size()) != n_features || static_cast<int>(c.std_.size()) != n_features) {
    return Status::model(what, "feature_mean/feature_std metadata missing or malformed");
  }
  for (float s : c.std_) {
    if (!(s > 0)) return Status::model(what, "feature_std has a value <= 0");
  }
  const std::string* calibration = get("calibration");
  if (calibration == nullptr) return Status::model(what, "calibration metadata missing");
  auto platt = learn::PlattScaling::parse(*calibration);
  if (!platt.ok()) return Status::model(what, "calibration: " + platt.status().message());
  c.platt_ = *platt;
  c.model_ = std::move(model);
  return c;
}

Result<std::vector<double>> FeatureClassifier::predict(const std::vector<std::vector<float>>& rows) const {
  std::vector<double> out;
  if (rows.empty()) return out;
  std::vector<std::vector<float>> z = rows;
  for (auto& row : z) {
    if (row.size() != mean_.size()) return Status::input("features", "row of the wrong length");
    for (size_t j = 0; j < row.size(); ++j) row[j] = (row[j] - mean_[j]) / std_[j];
  }
  auto batch = nn::features_to_batch(z);
  if (!batch.ok()) return batch.status();
  auto pred = model_.predict(*batch);
  if (!pred.ok()) return pred.status();
  out.reserve(rows.size());
  for (float logit : pred->logits) out.push_back(platt_.apply(logit));
  return out;
}

Result<FeatureTrainResult> train_feature_classifier(const std::vector<std::vector<float>>& rows,
                                                    const std::vector<int>& labels,
                                                    const std::vector<bool>& is_val,
                                                    const FeatureTrainOptions& options) {
  if (rows.empty()) return Status::input("training data", "no examples");
  const size_t n_features = rows[0].size();
  int counts[2][2] = {{0, 0}, {0, 0}};  // [val][label]
  for (size_t i = 0; i < rows.size(); ++i) counts[is_val[i] ? 1 : 0][labels[i] ? 1 : 0]++;
  if (counts[0][0] == 0 || counts[0][1] == 0) return Status::input("training data", "the training split lacks a class");
  if (counts[1][0] == 0 || counts[1][1] == 0) return Status::input("training data", "the validation split lacks a class");

  // Standardisation on the training rows.
  std::vector<double> sum(n_features, 0.0), sum2(n_features, 0.0);
  double n_train = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (is_val[i]) continue;
    if (rows[i].size() != n_features) return Status::input("training data", "feature rows differ in length");
    for (size_t j = 0; j < n_features; ++j) {
      sum[j] += rows[i][j];
      sum2[j] += static_cast<double>(rows[i][j]) * rows[i][j];
    }
    n_train += 1;
  }
  std::vector<float> mean(n_features), stdev(n_features);
  for (size_t j = 0; j < n_features; ++j) {
    double m = sum[j] / n_train;
    double var = std::max(0.0, sum2[j] / n_train - m * m);
    mean[j] = static_cast<float>(m);
    stdev[j] = static_cast<float>(std::max(std::sqrt(var), 1e-6));
  }

  std::vector<int64_t> shape = {static_cast<int64_t>(n_features)};
  learn::InMemoryDataset train(shape), val(shape);
  std::vector<int> val_labels;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != n_features) return Status::input("training data", "feature rows differ in length");
    std::vector<float> z(n_features);
    for (size_t j = 0; j < n_features; ++j) z[j] = (rows[i][j] - mean[j]) / stdev[j];
    UNMASK_RETURN_IF_ERROR((is_val[i] ? val : train).add(std::move(z), static_cast<float>(labels[i])));
    if (is_val[i]) val_labels.push_back(labels[i]);
  }

  auto spec = nn::default_spec("mlp");
  if (!spec.ok()) return spec.status();
  spec->n_features = static_cast<int>(n_features);
  spec->widths = options.hidden_widths;
  learn::TrainConfig cfg;
  cfg.epochs = options.epochs;
  cfg.batch_size = options.batch_size;
  cfg.seed = options.seed;
  cfg.optimizer.learning_rate = options.learning_rate;
  cfg.optimizer.weight_decay = options.weight_decay;
  cfg.checkpoint_path = options.checkpoint_path;
  cfg.resume = options.resume;
  cfg.progress = options.progress;
  auto trained = learn::train_binary(*spec, train, &val, cfg);
  if (!trained.ok()) return trained.status();

  auto raw_val = learn::predict_dataset(trained->model, val);
  if (!raw_val.ok()) return raw_val.status();
  std::vector<double> val_logits;
  for (double p : *raw_val) {
    double q = std::clamp(p, 1e-7, 1.0 - 1e-7);
    val_logits.push_back(std::log(q / (1.0 - q)));
  }
  learn::PlattScaling platt;
  UNMASK_RETURN_IF_ERROR(platt.fit(val_logits, val_labels));

  nn::Metadata meta = options.extra_metadata;
  meta["features"] = options.feature_version;
  meta["feature_mean"] = format_floats(mean);
  meta["feature_std"] = format_floats(stdev);
  meta["calibration"] = platt.serialize();
  meta["seed"] = std::to_string(options.seed);
  auto bytes = trained->model.to_bytes(meta);
  if (!bytes.ok()) return bytes.status();
  auto model = nn::model_from_bytes(*bytes, "trained model", "mlp");
  if (!model.ok()) return model.status();

  FeatureTrainResult result;
  result.model = std::move(*model);
  for (double s : val_logits) result.val_scores.push_back(platt.apply(s));
  learn::BinaryMetrics vm = learn::binary_metrics(result.val_scores, val_labels);
  result.metrics["val_auc"] = vm.auc;
  result.metrics["val_ap"] = vm.ap;
  result.metrics["val_eer"] = vm.eer;
  result.metrics["val_log_loss"] = vm.log_loss;
  result.metrics["val_accuracy"] = vm.accuracy;
  result.metrics["n_val"] = static_cast<double>(val_labels.size());
  result.metrics["n_train"] = n_train;
  result.metrics["epochs"] = options.epochs;
  if (!trained->history.empty()) result.metrics["final_train_loss"] = trained->history.back().train_loss;
  auto train_probs = learn::predict_dataset(trained->model, train);
  if (train_probs.ok()) {
    std::vector<int> train_labels;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!is_val[i]) train_labels.push_back(labels[i]);
    }
    result.metrics["train_auc"] = learn::roc_auc(*train_probs, train_labels);
  }
  return result;
}

std::string card_path_for(const std::string& model_path) {
  std::filesystem::path p(model_path);
  if (p.extension() == ".unm") p.replace_extension("");
  return p.string() + ".card.json";
}

Status write_model_card(const ModelCard& card) {
  auto sha = sha256_file(card.model_path);
  if (!sha.ok()) return sha.status();
  nlohmann::ordered_json j;
  j["detector"] = card.detector;
  j["model"] = std::filesystem::path(card.model_path).filename().string();
  j["sha256"] = *sha;
  try {
    j["data"] = card.data_json.empty() ? nlohmann::ordered_json::object() : nlohmann::ordered_json::parse(card.data_json);
  } catch (const std::exception& e) {
    return Status::internal("model card", std::string("data is not JSON: ") + e.what());
  }
  j["seed"] = card.seed;
  j["command"] = card.command;
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
  for (const auto& [k, v] : card.metrics) {
    if (std::isfinite(v)) {
      metrics[k] = std::round(v * 1e6) / 1e6;
    } else {
      metrics[k] = nullptr;
    }
  }
  j["metrics"] = metrics;
  for (const auto& [k, v] : card.notes) j["notes"][k] = v;
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  j["created"] = when;
  j["tool_version"] = std::string(version());
  return write_file_atomic(card_path_for(card.model_path), json_text(j, 2) + "\n");
}

}  // namespace unmask::detect
