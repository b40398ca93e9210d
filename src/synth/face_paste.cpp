// paste_rendered_face: the steps every face swap ends with (face_paste.h).
#include "synth/face_paste.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

namespace unmask::synth::detail {
namespace {

cv::Mat view(Image& img) { return cv::Mat(img.height_px(), img.width_px(), CV_8UC(img.channels()), img.data()); }

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

}  // namespace

Result<Image> paste_rendered_face(cv::Mat& dst, cv::Mat warped, const face::Landmarks& target_landmarks,
                                  const SwapOptions& options) {
  // Mask: hull of jaw and brows, eroded so the seam sits inside the face, then feathered.
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
  if (options.face_px > 0 && face_rect.width > options.face_px) {
    const double f = static_cast<double>(options.face_px) / face_rect.width;
    cv::Mat small, region = warped(face_rect);
    cv::resize(region, small, cv::Size(), f, f, cv::INTER_AREA);
    cv::resize(small, region, region.size(), 0, 0, cv::INTER_LINEAR);
  }

  // Colour transfer inside the mask.
  if (options.histogram_match) histogram_match(warped, dst, mask);
  else reinhard(warped, dst, mask);

  // Blend. Poisson needs the mask's box strictly inside the frame; otherwise alpha.
  cv::Mat feather;
  const double sigma = std::max(1.0, 0.05 * face_rect.width);
  cv::GaussianBlur(mask, feather, cv::Size(0, 0), sigma);
  const cv::Rect inner = cv::boundingRect(mask);
  const bool poisson_ok = options.poisson && inner.area() > 0 && inner.x > 1 && inner.y > 1 &&
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

}  // namespace unmask::synth::detail
