// OpenCV views of unmask Images for the detectors (internal to src/detect: keeps the one way of
// wrapping pixels and of taking their grey level in one place).
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/core.h"
#include "media/cv_image.h"

namespace unmask::detect {

using media::as_mat;
using media::to_image;

// The 8-bit grey level of a BGR, BGRA or grey Image (a view, no copy, when it is grey already).
inline cv::Mat grey_of(const Image& image) {
  const cv::Mat src = as_mat(image);
  cv::Mat grey;
  if (image.channels() == 3) {
    cv::cvtColor(src, grey, cv::COLOR_BGR2GRAY);
  } else if (image.channels() == 4) {
    cv::cvtColor(src, grey, cv::COLOR_BGRA2GRAY);
  } else {
    grey = src;
  }
  return grey;
}

}  // namespace unmask::detect
