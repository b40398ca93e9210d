// LandmarkSwapper: piecewise-affine warp of a source face onto target landmarks (Delaunay
// triangles of the 68 points), colour transfer, an eroded and feathered hull mask, and a Poisson
// or alpha blend. The classic graphics face swap, as FaceForensics++'s "FaceSwap" method.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "synth/face_paste.h"
#include "synth/piecewise_affine.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

using detail::delaunay;
using detail::to_points;
using detail::warp_triangle;

cv::Mat view(Image& img) { return cv::Mat(img.height_px(), img.width_px(), CV_8UC(img.channels()), img.data()); }
cv::Mat view(const Image& img) {
  return cv::Mat(img.height_px(), img.width_px(), CV_8UC(img.channels()), const_cast<uint8_t*>(img.data()));
}

// Shape distance between two landmark sets after removing translation and scale.
double shape_distance(const face::Landmarks& a, const face::Landmarks& b) {
  auto normalise = [](const face::Landmarks& l) {
    double cx = 0, cy = 0;
    for (const auto& p : l) { cx += p.x; cy += p.y; }
    cx /= l.size(); cy /= l.size();
    double s = 0;
    for (const auto& p : l) s += (p.x - cx) * (p.x - cx) + (p.y - cy) * (p.y - cy);
    s = std::sqrt(s / l.size()) + 1e-9;
    std::vector<cv::Point2d> out;
    for (const auto& p : l) out.emplace_back((p.x - cx) / s, (p.y - cy) / s);
    return out;
  };
  const auto na = normalise(a), nb = normalise(b);
  double d = 0;
  for (size_t i = 0; i < na.size(); ++i) d += cv::norm(na[i] - nb[i]);
  return d / na.size();
}

}  // namespace

Result<LandmarkSwapper> LandmarkSwapper::create(std::vector<SourceFace> faces, SwapOptions options) {
  if (faces.empty()) return Status::input("swap source", "no source face");
  for (const auto& f : faces) {
    if (f.image.empty() || f.image.channels() != 3) return Status::input("swap source", "source face image must be BGR");
  }
  LandmarkSwapper swapper;
  swapper.triangles_ = delaunay(to_points(faces.front().landmarks));
  if (swapper.triangles_.size() < 50) return Status::input("swap source", "landmarks are degenerate");
  swapper.faces_ = std::move(faces);
  swapper.options_ = std::move(options);
  return swapper;
}

size_t LandmarkSwapper::closest_pose(const face::Landmarks& landmarks) const {
  size_t best = 0;
  double best_d = 1e18;
  for (size_t i = 0; i < faces_.size(); ++i) {
    const double d = shape_distance(faces_[i].landmarks, landmarks);
    if (d < best_d) { best_d = d; best = i; }
  }
  return best;
}

Result<Image> LandmarkSwapper::swap(Image& target, const face::Landmarks& target_landmarks) const {
  if (target.empty() || target.channels() != 3) return Status::input("swap target", "frame must be BGR");
  const SourceFace& src = faces_[closest_pose(target_landmarks)];
  cv::Mat dst = view(target);
  const cv::Mat source = view(src.image);

  // Piecewise-affine warp of the source face onto the target landmarks, then the paste every swap
  // shares (mask, colour transfer, blend).
  cv::Mat warped = dst.clone();
  for (const auto& t : triangles_) {
    std::array<cv::Point2f, 3> s, d;
    for (int k = 0; k < 3; ++k) {
      s[k] = cv::Point2f(static_cast<float>(src.landmarks[t[k]].x), static_cast<float>(src.landmarks[t[k]].y));
      d[k] = cv::Point2f(static_cast<float>(target_landmarks[t[k]].x), static_cast<float>(target_landmarks[t[k]].y));
    }
    warp_triangle(source, warped, s, d);
  }

  return detail::paste_rendered_face(dst, warped, target_landmarks, options_);
}

}  // namespace unmask::synth
