// OpenCV views of unmask Images for the detectors (internal to src/detect: keeps the one way of
// wrapping pixels and of taking their grey level in one place).
#pragma once

#include <cstring>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/core.h"

namespace unmask::detect {

// A cv::Mat header over an Image's 8-bit pixels (no copy); the image must outlive it.
inline cv::Mat as_mat(const Image& image) {
  return cv::Mat(image.height_px(), image.width_px(), CV_8UC(image.channels()), const_cast<uint8_t*>(image.data()));
}

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

// A copy of an 8-bit cv::Mat (continuous or strided) as a new Image.
inline Image to_image(const cv::Mat& mat) {
  Image out(mat.cols, mat.rows, mat.channels());
  for (int y = 0; y < mat.rows; ++y) std::memcpy(out.row(y), mat.ptr<uint8_t>(y), out.row_bytes());
  return out;
}

}  // namespace unmask::detect
