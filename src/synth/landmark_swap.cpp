// LandmarkSwapper: piecewise-affine warp of a source face onto target landmarks (Delaunay
// triangles of the 68 points), colour transfer, an eroded and feathered hull mask, and a Poisson
// or alpha blend. The classic graphics face swap, as FaceForensics++'s "FaceSwap" method.
#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

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

// Reinhard colour transfer in Lab: the warped face takes the mean and spread of the target face.
void reinhard(cv::Mat& warped_bgr, const cv::Mat& target_bgr, const cv::Mat& mask) {
  cv::Mat a, b;
  cv::cvtColor(warped_bgr, a, cv::COLOR_BGR2Lab);
  cv::cvtColor(target_bgr, b, cv::COLOR_BGR2Lab);
  cv::Scalar mean_a, std_a, mean_b, std_b;
  cv::meanStdDev(a, mean_a, std_a, mask);
  cv::meanStdDev(b, mean_b, std_b, mask);
  cv::Mat af;
  a.convertTo(af, CV_32FC3);
  std::vector<cv::Mat> ch;
  cv::split(af, ch);
  for (int c = 0; c < 3; ++c) {
    const double gain = std_a[c] > 1e-3 ? std::clamp(std_b[c] / std_a[c], 0.5, 2.0) : 1.0;
    ch[c] = (ch[c] - mean_a[c]) * gain + mean_b[c];
  }
  cv::merge(ch, af);
  af.convertTo(a, CV_8UC3);
  cv::cvtColor(a, warped_bgr, cv::COLOR_Lab2BGR);
}

// Per-channel histogram matching of the warped face to the target face (inside the mask).
void histogram_match(cv::Mat& warped_bgr, const cv::Mat& target_bgr, const cv::Mat& mask) {
  for (int c = 0; c < 3; ++c) {
    std::array<double, 256> hs{}, ht{};
    for (int y = 0; y < mask.rows; ++y) {
      for (int x = 0; x < mask.cols; ++x) {
        if (!mask.at<uint8_t>(y, x)) continue;
        hs[warped_bgr.at<cv::Vec3b>(y, x)[c]] += 1;
        ht[target_bgr.at<cv::Vec3b>(y, x)[c]] += 1;
      }
    }
    for (int i = 1; i < 256; ++i) { hs[i] += hs[i - 1]; ht[i] += ht[i - 1]; }
    if (hs[255] <= 0 || ht[255] <= 0) return;
    std::array<uint8_t, 256> lut{};
    int j = 0;
    for (int i = 0; i < 256; ++i) {
      const double q = hs[i] / hs[255];
      while (j < 255 && ht[j] / ht[255] < q) ++j;
      lut[i] = static_cast<uint8_t>(j);
    }
    for (int y = 0; y < mask.rows; ++y) {
      for (int x = 0; x < mask.cols; ++x) {
        auto& px = warped_bgr.at<cv::Vec3b>(y, x);
        px[c] = lut[px[c]];
      }
    }
  }
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

  // 1. Piecewise-affine warp of the source face onto the target landmarks.
  cv::Mat warped = dst.clone();
  for (const auto& t : triangles_) {
    std::array<cv::Point2f, 3> s, d;
    for (int k = 0; k < 3; ++k) {
      s[k] = cv::Point2f(static_cast<float>(src.landmarks[t[k]].x), static_cast<float>(src.landmarks[t[k]].y));
      d[k] = cv::Point2f(static_cast<float>(target_landmarks[t[k]].x), static_cast<float>(target_landmarks[t[k]].y));
    }
    warp_triangle(source, warped, s, d);
  }

  // 2. Mask: hull of jaw and brows, eroded so the seam sits inside the face, then feathered.
  std::vector<cv::Point> outline;
  for (int i = 0; i <= 26; ++i) outline.emplace_back(cvRound(target_landmarks[i].x), cvRound(target_landmarks[i].y));
  std::vector<cv::Point> hull;
  cv::convexHull(outline, hull);
  cv::Mat mask = cv::Mat::zeros(dst.size(), CV_8U);
  cv::fillConvexPoly(mask, hull, cv::Scalar(255));
  const cv::Rect face_rect = cv::boundingRect(hull) & cv::Rect(0, 0, dst.cols, dst.rows);
  if (face_rect.width < 8 || face_rect.height < 8) return Status::input("swap target", "face is too small or outside the frame");
  const int erode_px = std::max(1, static_cast<int>(0.04 * face_rect.width));
  cv::erode(mask, mask, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * erode_px + 1, 2 * erode_px + 1)));

  // A generator's resolution: the warped face down to face_px across and back up.
  if (options_.face_px > 0 && face_rect.width > options_.face_px) {
    const double f = static_cast<double>(options_.face_px) / face_rect.width;
    cv::Mat small, region = warped(face_rect);
    cv::resize(region, small, cv::Size(), f, f, cv::INTER_AREA);
    cv::resize(small, region, region.size(), 0, 0, cv::INTER_LINEAR);
  }

  // 3. Colour transfer inside the mask.
  if (options_.histogram_match) histogram_match(warped, dst, mask);
  else reinhard(warped, dst, mask);

  // 4. Blend. Poisson needs the mask's box strictly inside the frame; otherwise alpha.
  cv::Mat feather;
  const double sigma = std::max(1.0, 0.05 * face_rect.width);
  cv::GaussianBlur(mask, feather, cv::Size(0, 0), sigma);
  const cv::Rect inner = cv::boundingRect(mask);
  const bool poisson_ok = options_.poisson && inner.area() > 0 && inner.x > 1 && inner.y > 1 &&
                          inner.x + inner.width < dst.cols - 1 && inner.y + inner.height < dst.rows - 1;
  if (poisson_ok) {
    try {
      cv::Mat cloned;
      const cv::Point centre(inner.x + inner.width / 2, inner.y + inner.height / 2);
      cv::seamlessClone(warped, dst, mask, centre, cloned, cv::NORMAL_CLONE);
      warped = cloned;
    } catch (const cv::Exception&) {
      // Fall through to the alpha blend with the colour-matched warp.
    }
  }
  cv::Mat alpha, a3, wf, df;
  feather.convertTo(alpha, CV_32F, 1.0 / 255.0);
  cv::cvtColor(alpha, a3, cv::COLOR_GRAY2BGR);
  warped.convertTo(wf, CV_32FC3);
  dst.convertTo(df, CV_32FC3);
  cv::Mat out = a3.mul(wf) + (cv::Scalar::all(1.0) - a3).mul(df);
  out.convertTo(dst, CV_8UC3);

  Image mask_out(dst.cols, dst.rows, 1);
  feather.copyTo(view(mask_out));
  return mask_out;
}

}  // namespace unmask::synth
