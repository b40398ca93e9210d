// media::jpeg_round_trip for OpenCV pictures, as the pixel code of detect and synth holds them.
// Header only: media itself does not link OpenCV.
#pragma once

#include <opencv2/core.hpp>
#include <stdexcept>

#include "media/media.h"

namespace unmask::media {

// `picture` (8-bit BGR or gray) replaced by a new buffer holding it after one JPEG re-encode at
// `quality`; whatever else shared the old buffer keeps the original pixels, as with
// cv::imencode + cv::imdecode. An encoder failure (out of memory) throws std::runtime_error.
inline void jpeg_recode(cv::Mat& picture, int quality) {
  cv::Mat out = picture.clone();
  Status s = jpeg_round_trip(out.data, out.cols, out.rows, out.step, out.channels(), quality);
  if (!s.is_ok()) throw std::runtime_error(s.message());
  picture = out;
}

}  // namespace unmask::media
