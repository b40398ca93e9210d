// Private: a fast reader of dlib's shape predictor files (models.cpp). Not part of the public API
// (tests include it).
#pragma once

#include <string>

#include <dlib/image_processing/shape_predictor.h>

namespace unmask::face::detail {

// Reads a dlib shape predictor file into `out` without dlib's stream reader (~5x faster), building
// exactly the object dlib::deserialize would. False (out untouched) when the file is not in the
// format this reader knows or cannot be read; then use dlib::deserialize.
bool read_landmark_model_fast(const std::string& path, dlib::shape_predictor& out);

}  // namespace unmask::face::detail
