// unmask Images as OpenCV sees them, and back: the one way of wrapping and copying pixels that
// face, mark and detect share. Header only: media itself does not link OpenCV.
#pragma once

#include <cstdint>
#include <cstring>
#include <opencv2/core.hpp>

#include "core/core.h"

namespace unmask::media {

// A cv::Mat header over an Image's 8-bit pixels (no copy); the image must outlive it.
inline cv::Mat as_mat(const Image& image) {
  return cv::Mat(image.height_px(), image.width_px(), CV_8UC(image.channels()), const_cast<uint8_t*>(image.data()));
}

// A copy of an 8-bit cv::Mat (continuous or strided) as a new Image.
inline Image to_image(const cv::Mat& mat) {
  Image out(mat.cols, mat.rows, mat.channels());
  for (int y = 0; y < mat.rows; ++y) std::memcpy(out.row(y), mat.ptr<uint8_t>(y), out.row_bytes());
  return out;
}

}  // namespace unmask::media
