// Private building blocks of the tracker, each testable alone: the One-Euro filter, the scene-cut
// detector and the landmark <-> box geometry. Not part of the public API (tests include it).
#pragma once

#include <cmath>
#include <string_view>

#include "face/face.h"

namespace cv {
class Mat;
}

namespace unmask::face::detail {

// One-Euro filter (Casiez et al., CHI 2012): an exponential smoother whose cutoff rises with the
// signal's speed, so it removes jitter at rest and adds little lag in motion. Causal.
class OneEuroFilter {
 public:
  OneEuroFilter() = default;
  OneEuroFilter(double min_cutoff_hz, double beta, double derivative_cutoff_hz = 1.0)
      : min_cutoff_hz_(min_cutoff_hz), beta_(beta), d_cutoff_hz_(derivative_cutoff_hz) {}

  // x: new sample; dt_s: seconds since the previous sample (> 0); scale: unit of x for the speed
  // term (e.g. the face size in px, so beta is in face sizes per second).
  double filter(double x, double dt_s, double scale = 1.0) {
    if (!initialised_ || dt_s <= 0) {
      initialised_ = true;
      x_ = x;
      dx_ = 0;
      return x_;
    }
    const double dx = (x - x_) / dt_s;
    dx_ += alpha(d_cutoff_hz_, dt_s) * (dx - dx_);
    const double cutoff = min_cutoff_hz_ + beta_ * std::abs(dx_) / (scale > 0 ? scale : 1.0);
    x_ += alpha(cutoff, dt_s) * (x - x_);
    return x_;
  }
  void reset() { initialised_ = false; }

 private:
  static double alpha(double cutoff_hz, double dt_s) {
    const double tau = 1.0 / (2.0 * 3.14159265358979323846 * cutoff_hz);
    return 1.0 / (1.0 + tau / dt_s);
  }
  double min_cutoff_hz_ = 1.0, beta_ = 0.0, d_cutoff_hz_ = 1.0;
  bool initialised_ = false;
  double x_ = 0, dx_ = 0;
};

// Flags hard cuts between consecutive frames from a 64x36 thumbnail: the colour histogram and
// the pixels must both change, one of them a lot (a pan or a moving face changes the pixels, rarely the
// histogram; a lighting change moves the histogram, smoothly). Gradual fades are not cuts.
class SceneCutDetector {
 public:
  // Returns true when `frame` starts a new shot. The first frame is never a cut.
  bool update(const Image& frame);
  void reset() { has_previous_ = false; }
  double last_histogram_distance() const { return hist_distance_; }  // 0..1
  double last_pixel_distance() const { return pixel_distance_; }     // 0..1

  static constexpr double kHistogramThreshold = 0.35;
  static constexpr double kPixelThreshold = 0.08;
  static constexpr double kStrongPixelThreshold = 0.15;
  static constexpr double kWeakHistogramThreshold = 0.08;

 private:
  static constexpr int kW = 64, kH = 36, kBins = 16, kMaxShift = 2;
  bool has_previous_ = false;
  std::vector<uint8_t> previous_;           // kW * kH * 3
  std::vector<float> previous_hist_;        // 3 * kBins, each channel sums to 1
  double hist_distance_ = 0, pixel_distance_ = 0;
};

// cv::resize(src, thumb, {width, height}, 0, 0, cv::INTER_AREA) for a BGR frame whose sides are
// whole multiples (3 to 257) of the thumbnail's, computed directly (same pixels); false otherwise.
bool area_thumbnail(const cv::Mat& src, int width, int height, cv::Mat& thumb);

// How a detector-style box sits relative to the landmarks: offset of its centre from the
// landmark centroid and its size, both in units of the landmarks' RMS spread. Lets the tracker
// turn a landmark fit back into a box the shape predictor expects.
struct BoxCalibration {
  double dx = 0, dy = 0, w = 0, h = 0;
};
struct LandmarkFrame {
  Point2 centroid;
  double spread = 0;  // RMS distance of the points from their centroid, px
};
LandmarkFrame landmark_frame(const Landmarks& l);
BoxCalibration calibrate(const Box& box, const Landmarks& l);
Box box_from_landmarks(const Landmarks& l, const BoxCalibration& c);

// dlib's frontal face detector in dlib's plain serialized form, written at build time from the
// installed dlib's get_frontal_face_detector() (FaceModels::load deserializes it).
std::string_view frontal_detector_bytes();

}  // namespace unmask::face::detail
