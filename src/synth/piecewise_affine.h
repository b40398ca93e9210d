// Piecewise-affine warping shared by the landmark swap and the still animator: Delaunay
// triangles of a point set and the affine warp of one triangle of an image onto another.
#pragma once

#include <array>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "face/face.h"

namespace unmask::synth::detail {

inline std::vector<cv::Point2f> to_points(const face::Landmarks& lm) {
  std::vector<cv::Point2f> pts;
  pts.reserve(lm.size());
  for (const auto& p : lm) pts.emplace_back(static_cast<float>(p.x), static_cast<float>(p.y));
  return pts;
}

// Delaunay triangles of the points, as index triples.
inline std::vector<std::array<int, 3>> delaunay(const std::vector<cv::Point2f>& pts) {
  cv::Rect2f bounds = cv::boundingRect(pts);
  cv::Subdiv2D subdiv(cv::Rect(static_cast<int>(bounds.x) - 10, static_cast<int>(bounds.y) - 10,
                               static_cast<int>(bounds.width) + 21, static_cast<int>(bounds.height) + 21));
  for (const auto& p : pts) subdiv.insert(p);
  std::vector<cv::Vec6f> list;
  subdiv.getTriangleList(list);
  std::vector<std::array<int, 3>> triangles;
  for (const auto& t : list) {
    std::array<int, 3> idx{-1, -1, -1};
    for (int k = 0; k < 3; ++k) {
      const cv::Point2f v(t[2 * k], t[2 * k + 1]);
      for (size_t i = 0; i < pts.size(); ++i) {
        if (std::abs(pts[i].x - v.x) < 0.5f && std::abs(pts[i].y - v.y) < 0.5f) {
          idx[k] = static_cast<int>(i);
          break;
        }
      }
    }
    if (idx[0] >= 0 && idx[1] >= 0 && idx[2] >= 0) triangles.push_back(idx);
  }
  return triangles;
}

// Warps triangle `s` of src onto triangle `d` of dst (float BGR), writing only inside d.
inline void warp_triangle(const cv::Mat& src, cv::Mat& dst, const std::array<cv::Point2f, 3>& s,
                   const std::array<cv::Point2f, 3>& d) {
  const cv::Rect r1 = cv::boundingRect(std::vector<cv::Point2f>(s.begin(), s.end())) & cv::Rect(0, 0, src.cols, src.rows);
  const cv::Rect r2 = cv::boundingRect(std::vector<cv::Point2f>(d.begin(), d.end())) & cv::Rect(0, 0, dst.cols, dst.rows);
  if (r1.area() <= 0 || r2.area() <= 0) return;
  std::array<cv::Point2f, 3> s_local, d_local;
  std::vector<cv::Point> d_poly;
  for (int k = 0; k < 3; ++k) {
    s_local[k] = s[k] - cv::Point2f(static_cast<float>(r1.x), static_cast<float>(r1.y));
    d_local[k] = d[k] - cv::Point2f(static_cast<float>(r2.x), static_cast<float>(r2.y));
    d_poly.emplace_back(cvRound(d_local[k].x), cvRound(d_local[k].y));
  }
  const cv::Mat m = cv::getAffineTransform(s_local.data(), d_local.data());
  cv::Mat patch;
  cv::warpAffine(src(r1), patch, m, r2.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
  cv::Mat tri_mask = cv::Mat::zeros(r2.size(), CV_8U);
  cv::fillConvexPoly(tri_mask, d_poly, cv::Scalar(255), cv::LINE_AA);
  patch.copyTo(dst(r2), tri_mask);
}

}  // namespace unmask::synth::detail
