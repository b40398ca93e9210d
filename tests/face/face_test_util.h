// Shared by the face tests: the models are loaded once per test binary (about 1 s).
#pragma once

#include <gtest/gtest.h>

#include "face/face.h"

namespace unmask::face::test {

inline std::shared_ptr<const FaceModels> models() {
  static auto loaded = [] {
    auto m = FaceModels::load();
    if (!m.ok()) throw std::runtime_error(m.status().message());
    return *m;
  }();
  return loaded;
}

inline Point2 centre(const Box& b) { return {b.x + b.w / 2, b.y + b.h / 2}; }

// Frames for FaceTracker::push at `fps`, from a frame renderer.
inline VideoFrame make_frame(Image image, int index, double fps = 25.0) {
  VideoFrame f;
  f.image = std::move(image);
  f.index = index;
  f.pts_us = static_cast<int64_t>(index * 1e6 / fps);
  return f;
}

}  // namespace unmask::face::test
