// Test fixture shared by the crop detectors' tests (blend, mouth): the Debian face photos,
// detected and aligned the way their trainers cut crops.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "detect/blend.h"
#include "face/face.h"
#include "support/face_fixtures.h"

namespace unmask::detect {

// Aligned crops (size_px square, margin 0.25) of the photos "tom" and "girl", label real.
inline std::shared_ptr<std::vector<BlendCrop>> photo_crops(int size_px) {
  auto models = face::FaceModels::load();
  EXPECT_TRUE(models.ok());
  face::FaceDetector detector(*models);
  auto crops = std::make_shared<std::vector<BlendCrop>>();
  for (const char* name : {"tom", "girl"}) {
    Image photo = testing::face_photo(name, 400);
    auto faces = detector.detect_faces(photo);
    EXPECT_TRUE(faces.ok());
    if (!faces.ok() || faces->empty()) continue;
    auto aligned = face::align_face(photo, (*faces)[0].landmarks, {.size_px = size_px, .margin = 0.25});
    EXPECT_TRUE(aligned.ok());
    crops->push_back({aligned->crop, aligned->landmarks, 0, name, 0});
  }
  return crops;
}

}  // namespace unmask::detect
