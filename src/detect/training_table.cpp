#include "detect/training.h"

namespace unmask::detect {

// Trainers, declared here and defined next to their detectors.

const std::vector<Trainer>& trainers() {
  static const std::vector<Trainer> table = {
  };
  return table;
}

}  // namespace unmask::detect
