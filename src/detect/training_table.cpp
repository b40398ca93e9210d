#include "detect/training.h"

namespace unmask::detect {

// Trainers, declared here and defined next to their detectors.
Result<TrainSummary> train_blend(const TrainRequest& request);  // blend_train.cpp
Result<TrainSummary> train_voice(const TrainRequest& request);  // voice_train.cpp
Result<TrainSummary> train_spectral(const TrainRequest& request);  // spectral_train.cpp
Result<TrainSummary> train_temporal(const TrainRequest& request);  // temporal_train.cpp

const std::vector<Trainer>& trainers() {
  static const std::vector<Trainer> table = {
      {"blend", train_blend},
      {"voice", train_voice},
      {"spectral", train_spectral},
      {"temporal", train_temporal},
  };
  return table;
}

}  // namespace unmask::detect
