// Alignment: a least-squares similarity from five landmarks to a canonical template.
#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

#include "face/models_impl.h"

namespace unmask::face {

namespace {

// The ArcFace 5-point template (112 x 112 crop), normalised to [0, 1]: left eye, right eye, nose
// tip, left and right mouth corners. Widely used, so aligned crops match common detector inputs.
constexpr std::array<Point2, 5> kTemplate = {{{38.2946 / 112, 51.6963 / 112},
                                              {73.5318 / 112, 51.5014 / 112},
                                              {56.0252 / 112, 71.7366 / 112},
                                              {41.5493 / 112, 92.3655 / 112},
                                              {70.7299 / 112, 92.2041 / 112}}};

}  // namespace

Point2 landmark_mean(const Landmarks& l, int first, int last) {
  Point2 m;
  for (int i = first; i <= last; ++i) {
    m.x += l[i].x;
    m.y += l[i].y;
  }
  const double n = last - first + 1;
  return {m.x / n, m.y / n};
}

double eye_aspect_ratio(const Landmarks& l, int p) {
  auto dist = [](const Point2& a, const Point2& b) { return std::hypot(a.x - b.x, a.y - b.y); };
  const double width = dist(l[p], l[p + 3]);
  if (width <= 1e-9) return std::numeric_limits<double>::quiet_NaN();
  return (dist(l[p + 1], l[p + 5]) + dist(l[p + 2], l[p + 4])) / (2.0 * width);
}

std::array<Point2, 5> five_points(const Landmarks& l) {
  return {landmark_mean(l, 36, 41), landmark_mean(l, 42, 47), l[30], l[48], l[54]};
}

Affine2 Affine2::inverse() const {
  const double det = m[0] * m[4] - m[1] * m[3];
  const double a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
  return {{a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])}};
}

Box Affine2::apply(const Box& box) const {
  const Point2 corners[4] = {apply(Point2{box.x, box.y}), apply(Point2{box.x + box.w, box.y}),
                             apply(Point2{box.x, box.y + box.h}),
                             apply(Point2{box.x + box.w, box.y + box.h})};
  double x0 = corners[0].x, x1 = x0, y0 = corners[0].y, y1 = y0;
  for (const Point2& c : corners) {
    x0 = std::min(x0, c.x);
    x1 = std::max(x1, c.x);
    y0 = std::min(y0, c.y);
    y1 = std::max(y1, c.y);
  }
  return {x0, y0, x1 - x0, y1 - y0};
}

Affine2 alignment_transform(const Landmarks& landmarks, const AlignOptions& options) {
  const auto src = five_points(landmarks);
  const double size = options.size_px;
  const double span = 1.0 + 2.0 * options.margin;
  std::array<Point2, 5> dst;
  for (int i = 0; i < 5; ++i) {
    dst[i] = {size * (kTemplate[i].x + options.margin) / span,
              size * (kTemplate[i].y + options.margin) / span};
  }
  // Umeyama for 2-D similarity: minimise sum |s R p + t - q|^2 over s R = [a -b; b a].
  Point2 ms, md;
  for (int i = 0; i < 5; ++i) {
    ms.x += src[i].x / 5;
    ms.y += src[i].y / 5;
    md.x += dst[i].x / 5;
    md.y += dst[i].y / 5;
  }
  double num_a = 0, num_b = 0, den = 0;
  for (int i = 0; i < 5; ++i) {
    const double px = src[i].x - ms.x, py = src[i].y - ms.y;
    const double qx = dst[i].x - md.x, qy = dst[i].y - md.y;
    num_a += px * qx + py * qy;
    num_b += px * qy - py * qx;
    den += px * px + py * py;
  }
  if (den <= 1e-12) {
    // Degenerate landmarks (all at one point): centre the crop on them at unit scale.
    return {{1, 0, md.x - ms.x, 0, 1, md.y - ms.y}};
  }
  const double a = num_a / den, b = num_b / den;
  return {{a, -b, md.x - (a * ms.x - b * ms.y), b, a, md.y - (b * ms.x + a * ms.y)}};
}

Result<AlignedFace> align_face(const Image& image, const Landmarks& landmarks,
                               const AlignOptions& options) {
  if (image.empty()) return Status::input("face alignment", "empty image");
  if (options.size_px <= 0 || options.margin < 0) {
    return Status::usage("face alignment", "size_px must be > 0 and margin >= 0");
  }
  AlignedFace out;
  out.frame_to_crop = alignment_transform(landmarks, options);
  out.crop_to_frame = out.frame_to_crop.inverse();
  for (int i = 0; i < kNumLandmarks; ++i) out.landmarks[i] = out.frame_to_crop.apply(landmarks[i]);
  try {
    const auto& m = out.frame_to_crop.m;
    cv::Mat affine = (cv::Mat_<double>(2, 3) << m[0], m[1], m[2], m[3], m[4], m[5]);
    cv::Mat crop;
    cv::warpAffine(as_mat(image), crop, affine, cv::Size(options.size_px, options.size_px),
                   cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    out.crop = to_image(crop);
  } catch (const cv::Exception& e) {
    return Status::internal("face alignment", e.what());
  }
  return out;
}

Image unwarp_to_frame(const Image& crop_space, const Affine2& crop_to_frame, int width_px,
                      int height_px) {
  if (crop_space.empty() || width_px <= 0 || height_px <= 0) return Image();
  const auto& m = crop_to_frame.m;
  cv::Mat affine = (cv::Mat_<double>(2, 3) << m[0], m[1], m[2], m[3], m[4], m[5]);
  cv::Mat out;
  cv::warpAffine(as_mat(crop_space), out, affine, cv::Size(width_px, height_px), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return to_image(out);
}

}  // namespace unmask::face
