// Detectors made for the scan tests: tiny networks built in code, saved to a temporary models
// folder and loaded back, so scan is exercised through the same interface as the real detectors
// without their weights.
#pragma once

#include <memory>
#include <string>

#include "detect/detector.h"

namespace unmask::testing {

// A crop detector on a blend_cnn_tiny network with a boundary head (so it gives heatmaps),
// weights from `seed`. Saved to <models_dir>/<name>.unm and loaded back.
std::shared_ptr<const detect::CropDetector> make_tiny_crop_detector(const std::string& models_dir,
                                                                   const std::string& name, uint64_t seed);

// An audio detector: 0.5 s windows with RMS above 0.01 are "voiced"; a tiny MLP on (rms, zero
// crossing rate) scores each. No voiced window: no score ("no speech found").
std::shared_ptr<const detect::AudioDetector> make_tiny_audio_detector(const std::string& models_dir, uint64_t seed);

// Both of the above in one set.
std::shared_ptr<const detect::DetectorSet> make_tiny_detector_set(const std::string& models_dir);

}  // namespace unmask::testing
