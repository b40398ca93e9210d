// The step every pseudo-fake shares (self-blended faces in synth, lower-face fakes in detect):
// an altered copy blended over the original under a soft mask.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace unmask::synth {

// 8-bit BGR: `source` where `soft` is 1, `target` where it is 0, linear in between. `soft` is one
// float channel in [0, 1] of the images' size; source and target are 8-bit BGR of the same size.
inline cv::Mat blend_under_mask(const cv::Mat& source, const cv::Mat& target, const cv::Mat& soft) {
  cv::Mat src_f, tgt_f, soft3;
  source.convertTo(src_f, CV_32FC3);
  target.convertTo(tgt_f, CV_32FC3);
  cv::cvtColor(soft, soft3, cv::COLOR_GRAY2BGR);
  const cv::Mat blended = soft3.mul(src_f) + (cv::Scalar::all(1.0) - soft3).mul(tgt_f);
  cv::Mat out;
  blended.convertTo(out, CV_8UC3);
  return out;
}

}  // namespace unmask::synth
