// cue_probe: measures candidate per-video cues on the manifest videos before any is wired into a
// detector, so a cue is kept only when it separates real from fake on sources it was not made for.
// Per processed frame, on the largest face:
//   mouth_ratio  log((|Laplacian| in the mouth box + 1) / (|Laplacian| in the eye box + 1)) of a
//                128 px aligned crop: a re-synthesised mouth is softer than the eyes
//   hf_change    mean |high-pass(crop_t) - high-pass(crop_t-1)| / mean |high-pass(crop_t)| in the
//                upper face: fresh sensor noise every frame vs a frozen, warped texture
//   bg_static    fraction of background pixels (outside 1.6x the face box) exactly equal to the
//                previous frame: a still photo animated around the face
//   bg_change    mean |frame_t - frame_t-1| over the background
//   noise_ratio  log(mean |high-pass| inside the face / in a ring around it) on the frame
// Per video: medians over frames (and the standard deviation of mouth_ratio).
//
// Usage: cue_probe --data DIR [--max-frames N] > cues.csv
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "face/face.h"
#include "learn/learn.h"
#include "probe_setup.h"

namespace {

using namespace unmask;

cv::Mat gray_of(const Image& im) {
  cv::Mat m(im.height_px(), im.width_px(), CV_8UC(im.channels()), const_cast<uint8_t*>(im.data()));
  cv::Mat g;
  if (im.channels() == 3) cv::cvtColor(m, g, cv::COLOR_BGR2GRAY);
  else g = m.clone();
  cv::Mat f;
  g.convertTo(f, CV_32F);
  return f;
}

cv::Mat high_pass(const cv::Mat& f) {
  cv::Mat b;
  cv::GaussianBlur(f, b, cv::Size(0, 0), 1.0);
  return f - b;
}

cv::Rect box_of(const face::Landmarks& l, int from, int to, double grow, int w, int h) {
  double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
  for (int i = from; i <= to; ++i) {
    x0 = std::min(x0, l[i].x); y0 = std::min(y0, l[i].y);
    x1 = std::max(x1, l[i].x); y1 = std::max(y1, l[i].y);
  }
  const double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, bw = (x1 - x0) * grow, bh = (y1 - y0) * grow;
  cv::Rect r(static_cast<int>(cx - bw / 2), static_cast<int>(cy - bh / 2), std::max(2, static_cast<int>(bw)), std::max(2, static_cast<int>(bh)));
  return r & cv::Rect(0, 0, w, h);
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}
double stdev(const std::vector<double>& v) {
  if (v.size() < 2) return NAN;
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= v.size();
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

}  // namespace

int main(int argc, char** argv) {
  bench::ProbeSetup setup;
  if (auto exit_code = bench::probe_setup(argc, argv, "cue_probe", 250, setup)) return *exit_code;
  std::printf("path,source,label,n,mouth_ratio,mouth_ratio_std,hf_change,bg_static,bg_change,noise_ratio\n");
  for (const auto& item : setup.videos) {
    std::vector<double> mouth, hf, bg_static, bg_change, noise;
    cv::Mat prev_frame, prev_crop_hp;
    int64_t prev_index = -10;
    face::TrackFileOptions o;
    o.max_frames = setup.max_frames;
    auto r = face::track_file(item.path, setup.models, o, [&](face::FrameFaces& f) -> Status {
      if (f.faces.empty() || f.image.empty()) {
        prev_index = -10;
        return Status::ok();
      }
      const face::Face* best = &f.faces[0];
      for (const auto& x : f.faces) if (x.box.w * x.box.h > best->box.w * best->box.h) best = &x;
      auto al = face::align_face(f.image, best->landmarks, {.size_px = 128, .margin = 0.25});
      if (!al.ok()) return Status::ok();
      const cv::Mat crop = gray_of(al->crop);
      cv::Mat lap;
      cv::Laplacian(crop, lap, CV_32F);
      lap = cv::abs(lap);
      const cv::Rect mb = box_of(al->landmarks, 48, 67, 1.2, 128, 128);
      const cv::Rect eb = box_of(al->landmarks, 36, 47, 1.2, 128, 128);
      if (mb.area() > 4 && eb.area() > 4) {
        mouth.push_back(std::log((cv::mean(lap(mb))[0] + 1) / (cv::mean(lap(eb))[0] + 1)));
      }
      const cv::Mat hp = high_pass(crop);
      const cv::Rect upper = box_of(al->landmarks, 17, 35, 1.0, 128, 128);
      const cv::Mat frame = gray_of(f.image);
      const bool consecutive = f.index == prev_index + 1;
      if (consecutive && !prev_crop_hp.empty() && upper.area() > 4) {
        const double change = cv::mean(cv::abs(hp(upper) - prev_crop_hp(upper)))[0];
        const double level = cv::mean(cv::abs(hp(upper)))[0] + 1e-3;
        hf.push_back(change / level);
      }
      const int W = frame.cols, H = frame.rows;
      const Box& b = best->box;
      const cv::Rect grown = cv::Rect(static_cast<int>(b.x - 0.3 * b.w), static_cast<int>(b.y - 0.3 * b.h),
                                      static_cast<int>(1.6 * b.w), static_cast<int>(1.6 * b.h)) & cv::Rect(0, 0, W, H);
      if (consecutive && !prev_frame.empty() && prev_frame.size() == frame.size()) {
        cv::Mat mask(H, W, CV_8U, cv::Scalar(255));
        mask(grown).setTo(0);
        const double n_bg = cv::countNonZero(mask);
        if (n_bg > 0.1 * W * H) {
          cv::Mat d = cv::abs(frame - prev_frame);
          cv::Mat same = (d < 0.5) & mask;
          bg_static.push_back(cv::countNonZero(same) / n_bg);
          bg_change.push_back(cv::mean(d, mask)[0]);
        }
      }
      // Noise inside the face vs a ring around it, on the frame.
      const cv::Rect inner = box_of(best->landmarks, 0, 67, 0.7, W, H);
      const cv::Rect ring_out = cv::Rect(static_cast<int>(b.x - 0.4 * b.w), static_cast<int>(b.y - 0.4 * b.h),
                                         static_cast<int>(1.8 * b.w), static_cast<int>(1.8 * b.h)) & cv::Rect(0, 0, W, H);
      if (inner.area() > 16 && ring_out.area() > inner.area()) {
        const cv::Mat fhp = cv::abs(high_pass(frame(ring_out)));
        cv::Mat ring_mask(ring_out.height, ring_out.width, CV_8U, cv::Scalar(255));
        ring_mask((grown & ring_out) - ring_out.tl()).setTo(0);
        const cv::Rect in_local = inner - ring_out.tl();
        const double in_level = cv::mean(fhp(in_local & cv::Rect(0, 0, fhp.cols, fhp.rows)))[0];
        if (cv::countNonZero(ring_mask) > 16) {
          noise.push_back(std::log((in_level + 0.05) / (cv::mean(fhp, ring_mask)[0] + 0.05)));
        }
      }
      prev_frame = frame;
      prev_crop_hp = hp;
      prev_index = f.index;
      return Status::ok();
    });
    if (!r.ok()) {
      std::fprintf(stderr, "failed %s: %s\n", item.path.c_str(), r.status().message().c_str());
      continue;
    }
    std::printf("\"%s\",%s,%d,%zu,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", item.path.c_str(), item.columns.at("source_repo").c_str(), item.label,
                mouth.size(), median(mouth), stdev(mouth), median(hf), median(bg_static), median(bg_change), median(noise));
    std::fflush(stdout);
  }
  return 0;
}
