// The table behind load_detectors(): one entry per detector. A detector's file adds its loader
// here (declared below, defined next to the detector) and one line in registry_table.cpp.
#pragma once

#include <string>
#include <vector>

#include "detect/detector.h"

namespace unmask::detect {

struct RegistryEntry {
  std::string name;
  DetectorKind kind;
  // Loads the detector from models_dir and appends it to the set.
  Status (*load)(const std::string& models_dir, DetectorSet& set);
  // Loaded by default (no names asked for) only when models_dir/<name>.unm exists; asked for by
  // name it must load as any other.
  bool default_only_if_present = false;
};

const std::vector<RegistryEntry>& registry_table();

// Loaders, one per detector (each defined in its detector's .cpp).
Status load_blend(const std::string& models_dir, DetectorSet& set);  // blend.cpp
Status load_spectral(const std::string& models_dir, DetectorSet& set);  // spectral.cpp
Status load_temporal(const std::string& models_dir, DetectorSet& set);  // temporal.cpp
Status load_noise(const std::string& models_dir, DetectorSet& set);  // noise.cpp
Status load_expression(const std::string& models_dir, DetectorSet& set);  // expression.cpp
Status load_interpolation(const std::string& models_dir, DetectorSet& set);  // interpolation.cpp
Status load_voice(const std::string& models_dir, DetectorSet& set);  // voice.cpp
Status load_mouth(const std::string& models_dir, DetectorSet& set);  // mouth.cpp

}  // namespace unmask::detect
