#include "detect/training.h"

namespace unmask::detect {

// Trainers, declared here and defined next to their detectors.
Result<TrainSummary> train_blend(const TrainRequest& request);  // blend_train.cpp

const std::vector<Trainer>& trainers() {
  static const std::vector<Trainer> table = {
      {"blend", train_blend},
  };
  return table;
}

}  // namespace unmask::detect
