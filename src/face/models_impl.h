// Private: the dlib and OpenCV objects behind FaceModels, and small helpers to view unmask images
// as OpenCV/dlib images without copying. Not part of the public API.
#pragma once

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>

#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>

#include <optional>

#include "face/face.h"
#include "face/shape_fit.h"
#include "media/cv_image.h"

namespace unmask::face {

struct FaceModels::Impl {
  // The prototype detector. dlib's object_detector::operator() is not const (it keeps scratch
  // buffers), so every FaceDetector works on its own copy of this one.
  dlib::frontal_face_detector frontal;
  // The landmark model: flat (detail::FlatShapePredictor, same landmarks in less time) when the
  // file is in the format it reads, else dlib's own predictor. Both are const: shared by all threads.
  detail::FlatShapePredictor flat_landmarks;
  dlib::shape_predictor landmarks;
  unsigned long landmark_parts() const { return flat_landmarks.empty() ? landmarks.num_parts() : flat_landmarks.num_parts(); }
  // Loaded cascade file contents are copied into each detector (CascadeClassifier is not const).
  std::string profile_cascade_path;
};

using media::as_mat;
using media::to_image;

inline dlib::rectangle to_dlib(const Box& b) {
  return dlib::rectangle(static_cast<long>(std::lround(b.x)), static_cast<long>(std::lround(b.y)),
                         static_cast<long>(std::lround(b.x + b.w)) - 1,
                         static_cast<long>(std::lround(b.y + b.h)) - 1);
}
inline Box from_dlib(const dlib::rectangle& r) {
  return {static_cast<double>(r.left()), static_cast<double>(r.top()),
          static_cast<double>(r.width()), static_cast<double>(r.height())};
}

}  // namespace unmask::face
