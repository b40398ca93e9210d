// Scene-cut detection and landmark/box geometry for the tracker.
#include "face/stages.h"

#include <algorithm>

#include <opencv2/imgproc.hpp>

#include "face/models_impl.h"

namespace unmask::face::detail {

// Integer sums only, so the AVX2 clone (chosen at load time on CPUs that have it; about half the
// CPU of the SSE2 code here) gives the same pixels as the default one.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
bool area_thumbnail(const cv::Mat& src, int width, int height, cv::Mat& thumb) {
  if (src.type() != CV_8UC3 || width < 1 || height < 1 || src.cols % width != 0 || src.rows % height != 0) return false;
  const int sx = src.cols / width, sy = src.rows / height;
  // (2x2 blocks are averaged by OpenCV's SIMD code, which rounds halves up: not done here.)
  // Taller blocks than 257 rows would overflow the 16-bit column sums below.
  if (sx < 3 || sy < 3 || sy > 65535 / 255) return false;
  // OpenCV's INTER_AREA for whole factors (resizeAreaFast_): the block's integer sum times the
  // float 1 / area, rounded as saturate_cast rounds. Integer sums do not depend on their order.
  const float scale = 1.f / static_cast<float>(sx * sy);
  thumb.create(height, width, CV_8UC3);
  // Column sums over the block's rows first (a plain loop the compiler vectorises), then the
  // block's columns: the same integer sums. 16-bit column sums (twice the lanes per instruction
  // of 32-bit ones; this loop was ~4% of a 720p scan) hold up to 257 rows of 255.
  const size_t row_len = static_cast<size_t>(src.cols) * 3;
  std::vector<uint16_t> column(row_len);
  for (int ty = 0; ty < height; ++ty) {
    std::fill(column.begin(), column.end(), 0);
    for (int y = ty * sy; y < (ty + 1) * sy; ++y) {
      const uint8_t* row = src.ptr<uint8_t>(y);
      uint16_t* c = column.data();
      for (size_t i = 0; i < row_len; ++i) c[i] = static_cast<uint16_t>(c[i] + row[i]);
    }
    uint8_t* out = thumb.ptr<uint8_t>(ty);
    for (int tx = 0; tx < width; ++tx) {
      int32_t b = 0, g = 0, r = 0;
      const uint16_t* c = column.data() + static_cast<size_t>(tx) * sx * 3;
      for (int x = 0; x < sx; ++x, c += 3) {
        b += c[0];
        g += c[1];
        r += c[2];
      }
      out[3 * tx] = cv::saturate_cast<uint8_t>(static_cast<float>(b) * scale);
      out[3 * tx + 1] = cv::saturate_cast<uint8_t>(static_cast<float>(g) * scale);
      out[3 * tx + 2] = cv::saturate_cast<uint8_t>(static_cast<float>(r) * scale);
    }
  }
  return true;
}

bool SceneCutDetector::update(const Image& frame) {
  cv::Mat thumb;
  cv::Mat src = as_mat(frame);
  if (frame.channels() == 1) cv::cvtColor(src, src, cv::COLOR_GRAY2BGR);
  // Frames a whole multiple of the thumbnail (1280x720, 1920x1080, ...) by block sums, the rest
  // by cv::resize: the same pixels either way (tests/face), the first ~4x cheaper.
  if (!area_thumbnail(src, kW, kH, thumb)) cv::resize(src, thumb, cv::Size(kW, kH), 0, 0, cv::INTER_AREA);
  std::vector<uint8_t> pixels(thumb.datastart, thumb.dataend);
  std::vector<float> hist(3 * kBins, 0.f);
  const float inc = 1.f / (kW * kH);
  for (size_t i = 0; i < pixels.size(); ++i) hist[(i % 3) * kBins + pixels[i] * kBins / 256] += inc;
  bool cut = false;
  if (has_previous_) {
    double h = 0;
    for (size_t i = 0; i < hist.size(); ++i) h += std::abs(hist[i] - previous_hist_[i]);
    hist_distance_ = h / 6.0;  // three channels, each L1 in [0, 2]
    // Mean absolute difference, minimised over shifts of up to kMaxShift thumbnail pixels so that
    // a pan or a subject moving fast does not look like a new shot.
    double best = 1e30;
    for (int dy = -kMaxShift; dy <= kMaxShift; ++dy) {
      for (int dx = -kMaxShift; dx <= kMaxShift; ++dx) {
        // An integer sum (it vectorises): the same value the double sum of these integers had,
        // every partial sum being an integer far below 2^53.
        int64_t sum = 0;
        int n = 0;
        for (int y = std::max(0, dy); y < std::min(kH, kH + dy); ++y) {
          const uint8_t* a = pixels.data() + (y * kW + std::max(0, dx)) * 3;
          const uint8_t* b = previous_.data() + ((y - dy) * kW + std::max(0, dx) - dx) * 3;
          const int count = (kW - std::abs(dx)) * 3;
          int32_t row = 0;
          for (int i = 0; i < count; ++i) row += std::abs(int(a[i]) - int(b[i]));
          sum += row;
          n += count;
        }
        best = std::min(best, static_cast<double>(sum) / n);
      }
    }
    pixel_distance_ = best / 255.0;
    // Either a new palette with some pixel change, or most pixels changing with some palette change.
    cut = (hist_distance_ > kHistogramThreshold && pixel_distance_ > kPixelThreshold) ||
          (pixel_distance_ > kStrongPixelThreshold && hist_distance_ > kWeakHistogramThreshold);
  }
  previous_ = std::move(pixels);
  previous_hist_ = std::move(hist);
  has_previous_ = true;
  return cut;
}

LandmarkFrame landmark_frame(const Landmarks& l) {
  LandmarkFrame f;
  for (const Point2& p : l) {
    f.centroid.x += p.x / kNumLandmarks;
    f.centroid.y += p.y / kNumLandmarks;
  }
  double ss = 0;
  for (const Point2& p : l) ss += (p.x - f.centroid.x) * (p.x - f.centroid.x) + (p.y - f.centroid.y) * (p.y - f.centroid.y);
  f.spread = std::sqrt(ss / kNumLandmarks);
  return f;
}

BoxCalibration calibrate(const Box& box, const Landmarks& l) {
  const LandmarkFrame f = landmark_frame(l);
  const double s = f.spread > 1e-6 ? f.spread : 1e-6;
  return {(box.x + box.w / 2 - f.centroid.x) / s, (box.y + box.h / 2 - f.centroid.y) / s, box.w / s,
          box.h / s};
}

Box box_from_landmarks(const Landmarks& l, const BoxCalibration& c) {
  const LandmarkFrame f = landmark_frame(l);
  const double w = c.w * f.spread, h = c.h * f.spread;
  return {f.centroid.x + c.dx * f.spread - w / 2, f.centroid.y + c.dy * f.spread - h / 2, w, h};
}

}  // namespace unmask::face::detail
