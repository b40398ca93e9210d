// unmask detect: the steps every trainer of a feature model (spectral, temporal, noise) shares once
// its rows are ready: the training options that come from the request, fitting and saving the
// model, and its card.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "detect/feature_model.h"
#include "detect/training.h"

namespace unmask::detect {

// Seed, epochs (the request's, or default_epochs), feature version, a checkpoint next to the
// output (resumed with --resume) and the request's progress mapped onto [progress_from, 1].
// The network shape and optimiser settings keep FeatureTrainOptions' defaults for the caller to set.
FeatureTrainOptions feature_train_options(const TrainRequest& request, int default_epochs,
                                          const std::string& feature_version, double progress_from);

// Fits the classifier, saves it to request.out_path, removes its checkpoint and returns the
// summary (model and card paths, validation metrics, train_seconds since `started`); the caller
// fills n_real and n_fake.
Result<TrainSummary> fit_and_save_feature_model(const TrainRequest& request, const FeatureTrainOptions& options,
                                                const std::vector<std::vector<float>>& rows,
                                                const std::vector<int>& labels, const std::vector<bool>& is_val,
                                                std::chrono::steady_clock::time_point started);

// Writes the card of a model fitted by fit_and_save_feature_model.
Status write_feature_model_card(const TrainRequest& request, const TrainSummary& summary, const std::string& detector,
                                const std::string& data_json, const std::string& architecture);

}  // namespace unmask::detect
