#include "detect/feature_trainer.h"

#include <filesystem>

namespace unmask::detect {

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

Result<TrainSummary> fit_and_save_feature_model(const TrainRequest& request, const FeatureTrainOptions& options,
                                                const std::vector<std::vector<float>>& rows,
                                                const std::vector<int>& labels, const std::vector<bool>& is_val,
                                                std::chrono::steady_clock::time_point started) {
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
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
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
