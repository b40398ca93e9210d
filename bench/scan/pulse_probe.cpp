// pulse_probe: measures the remote-photoplethysmography (rPPG) cue on the manifest videos before it
// is wired into a detector. A camera filming skin records the pulse as a faint, periodic change of
// skin colour (0.7-4 Hz); a face rendered by a generator from one photo (audio-driven talking
// heads), or re-rendered frame by frame, has no blood flow to record.
//
// Per video, on the largest face of the longest run of consecutive frames that keep one track:
//   - mean R, G, B per frame over three skin regions from the landmarks (left cheek, right cheek,
//     forehead band above the brows) and over a background patch beside the face at cheek height;
//   - the pulse signal of the skin (the regions pooled) and of the background by POS (Wang et al.
//     2017: chrominance projection over 1.6 s windows, overlap-added);
//   - Welch power spectrum over 4 s segments (2 s hop, Hann, zero-padded).
// Cues (the direction that means "fake" was fixed before any run, in docs/detectors.md):
//   pulse_snr        dB: power within 0.3 Hz of the strongest 0.7-4 Hz peak and of its harmonic,
//                    over the rest of the band (low = fake)
//   pulse_contrast   pulse_snr of the skin minus that of the background patch (low = fake): a
//                    compression or lighting flicker reaches both, blood flow only the skin
//   cheek_coherence  correlation of the two cheeks' band-passed (0.7-4 Hz) POS signals (low = fake)
// A run shorter than 4 s gives no cues (empty fields).
//
// Usage: pulse_probe --data DIR [--max-frames N] > pulse.csv
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "face/face.h"
#include "learn/learn.h"
#include "probe_setup.h"

namespace {

using namespace unmask;

constexpr double kBandLowHz = 0.7, kBandHighHz = 4.0;
constexpr double kSegmentS = 4.0;
constexpr double kPeakHalfWidthHz = 0.3;

struct Rgb { double r = 0, g = 0, b = 0; };
using Series = std::vector<Rgb>;

// Mean colour of the frame inside a convex polygon; nullopt when it covers under 20 pixels.
std::optional<Rgb> polygon_mean(const cv::Mat& frame, const std::vector<cv::Point>& poly) {
  const cv::Rect bounds = cv::boundingRect(poly) & cv::Rect(0, 0, frame.cols, frame.rows);
  if (bounds.area() < 20) return std::nullopt;
  cv::Mat mask(bounds.size(), CV_8U, cv::Scalar(0));
  std::vector<cv::Point> local;
  for (const auto& p : poly) local.emplace_back(p - bounds.tl());
  cv::fillConvexPoly(mask, local, cv::Scalar(255));
  if (cv::countNonZero(mask) < 20) return std::nullopt;
  const cv::Scalar m = cv::mean(frame(bounds), mask);  // BGR
  return Rgb{m[2], m[1], m[0]};
}

// The hull of the given landmarks shrunk by `shrink` towards its centroid (keeps off edges).
std::vector<cv::Point> region(const face::Landmarks& l, std::initializer_list<int> ids, double shrink, double dy = 0) {
  double cx = 0, cy = 0;
  for (int i : ids) { cx += l[i].x; cy += l[i].y; }
  cx /= ids.size(); cy /= ids.size();
  std::vector<cv::Point> pts, hull;
  for (int i : ids) {
    pts.emplace_back(static_cast<int>(std::lround(cx + (l[i].x - cx) * (1 - shrink))),
                     static_cast<int>(std::lround(cy + (l[i].y - cy) * (1 - shrink) + dy)));
  }
  cv::convexHull(pts, hull);
  return hull;
}

struct FrameColours { std::optional<Rgb> left, right, forehead, background; };

FrameColours colours_of(const cv::Mat& frame, const face::Landmarks& l) {
  FrameColours c;
  c.left = polygon_mean(frame, region(l, {1, 2, 3, 4, 48, 31, 40, 41}, 0.2));
  c.right = polygon_mean(frame, region(l, {15, 14, 13, 12, 54, 35, 47, 46}, 0.2));
  // Forehead: the brow line moved up by 0.35 of the brow-to-nose-tip height, as a band.
  const double up = 0.35 * (l[33].y - (l[19].y + l[24].y) / 2);
  std::vector<cv::Point> band;
  for (int i : {18, 19, 20, 23, 24, 25}) band.emplace_back(static_cast<int>(l[i].x), static_cast<int>(l[i].y - 0.25 * up));
  for (int i : {25, 24, 23, 20, 19, 18}) band.emplace_back(static_cast<int>(l[i].x), static_cast<int>(l[i].y - up));
  std::vector<cv::Point> hull;
  cv::convexHull(band, hull);
  c.forehead = polygon_mean(frame, hull);
  // Background: a patch of the cheek region's size, one face width beside the face, on the side
  // with more room.
  const double face_w = l[16].x - l[0].x;
  const double shift = (l[0].x > frame.cols - l[16].x) ? -1.1 * face_w : 1.1 * face_w;
  auto bg = region(l, {1, 2, 3, 4, 48, 31, 40, 41}, 0.2);
  for (auto& p : bg) p.x += static_cast<int>(shift);
  c.background = polygon_mean(frame, bg);
  return c;
}

Rgb pooled(const FrameColours& c) {
  Rgb s;
  s.r = (c.left->r + c.right->r + c.forehead->r) / 3;
  s.g = (c.left->g + c.right->g + c.forehead->g) / 3;
  s.b = (c.left->b + c.right->b + c.forehead->b) / 3;
  return s;
}

// POS pulse signal (Wang, den Brinker, Stuijk, de Haan 2017), window 1.6 s, overlap-added.
std::vector<double> pos_signal(const Series& c, double fps) {
  const size_t n = c.size(), l = static_cast<size_t>(std::ceil(1.6 * fps));
  std::vector<double> h(n, 0.0);
  if (n < l || l < 2) return h;
  std::vector<double> s1(l), s2(l);
  for (size_t t = 0; t + l <= n; ++t) {
    double mr = 0, mg = 0, mb = 0;
    for (size_t k = t; k < t + l; ++k) { mr += c[k].r; mg += c[k].g; mb += c[k].b; }
    mr = std::max(mr / l, 1e-6); mg = std::max(mg / l, 1e-6); mb = std::max(mb / l, 1e-6);
    for (size_t k = 0; k < l; ++k) {
      const double r = c[t + k].r / mr, g = c[t + k].g / mg, b = c[t + k].b / mb;
      s1[k] = g - b;
      s2[k] = g + b - 2 * r;
    }
    auto sd = [](const std::vector<double>& v) {
      double m = 0, s = 0;
      for (double x : v) m += x;
      m /= v.size();
      for (double x : v) s += (x - m) * (x - m);
      return std::sqrt(s / v.size());
    };
    const double alpha = sd(s1) / std::max(sd(s2), 1e-12);
    double mean = 0;
    for (size_t k = 0; k < l; ++k) mean += s1[k] + alpha * s2[k];
    mean /= l;
    for (size_t k = 0; k < l; ++k) h[t + k] += s1[k] + alpha * s2[k] - mean;
  }
  return h;
}

// Welch power spectrum: 4 s segments, 2 s hop, linear trend removed, Hann, zero-padded to 2048.
// Returns power per bin and the bin width in Hz; empty when the signal is shorter than a segment.
std::vector<double> welch(const std::vector<double>& x, double fps, double* bin_hz) {
  const int seg = static_cast<int>(std::lround(kSegmentS * fps)), hop = std::max(1, seg / 2), nfft = 2048;
  *bin_hz = fps / nfft;
  std::vector<double> power(nfft / 2 + 1, 0.0);
  if (static_cast<int>(x.size()) < seg || seg < 8) return {};
  int segments = 0;
  for (int start = 0; start + seg <= static_cast<int>(x.size()); start += hop, ++segments) {
    // Least-squares line over the segment, removed.
    double st = 0, sx = 0, stt = 0, stx = 0;
    for (int k = 0; k < seg; ++k) { st += k; sx += x[start + k]; stt += double(k) * k; stx += k * x[start + k]; }
    const double slope = (seg * stx - st * sx) / (seg * stt - st * st), icpt = (sx - slope * st) / seg;
    cv::Mat buf(1, nfft, CV_64F, cv::Scalar(0));
    for (int k = 0; k < seg; ++k) {
      const double w = 0.5 - 0.5 * std::cos(2 * M_PI * k / (seg - 1));
      buf.at<double>(0, k) = w * (x[start + k] - icpt - slope * k);
    }
    cv::Mat spec;
    cv::dft(buf, spec, cv::DFT_COMPLEX_OUTPUT);
    for (int b = 0; b <= nfft / 2; ++b) {
      const cv::Vec2d z = spec.at<cv::Vec2d>(0, b);
      power[b] += z[0] * z[0] + z[1] * z[1];
    }
  }
  return power;
}

// dB of the power near the strongest 0.7-4 Hz peak and its harmonic over the rest of that band.
double pulse_snr(const std::vector<double>& x, double fps) {
  double bin = 0;
  const auto p = welch(x, fps, &bin);
  if (p.empty()) return NAN;
  const int lo = static_cast<int>(std::ceil(kBandLowHz / bin)), hi = static_cast<int>(std::floor(kBandHighHz / bin));
  int peak = lo;
  for (int b = lo; b <= hi; ++b) if (p[b] > p[peak]) peak = b;
  const double f0 = peak * bin;
  double signal = 0, noise = 0;
  for (int b = lo; b <= hi; ++b) {
    const double f = b * bin;
    (std::abs(f - f0) <= kPeakHalfWidthHz || std::abs(f - 2 * f0) <= kPeakHalfWidthHz ? signal : noise) += p[b];
  }
  return 10 * std::log10((signal + 1e-30) / (noise + 1e-30));
}

// The signal with everything outside 0.7-4 Hz removed (DFT mask).
std::vector<double> band_pass(const std::vector<double>& x, double fps) {
  const int n = static_cast<int>(x.size());
  cv::Mat buf(1, n, CV_64F);
  for (int k = 0; k < n; ++k) buf.at<double>(0, k) = x[k];
  cv::Mat spec, out;
  cv::dft(buf, spec, cv::DFT_COMPLEX_OUTPUT);
  for (int b = 0; b < n; ++b) {
    const double f = std::min(b, n - b) * fps / n;
    if (f < kBandLowHz || f > kBandHighHz) spec.at<cv::Vec2d>(0, b) = cv::Vec2d(0, 0);
  }
  cv::dft(spec, out, cv::DFT_INVERSE | cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
  return std::vector<double>(out.ptr<double>(0), out.ptr<double>(0) + n);
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t k = 0; k < a.size(); ++k) { ma += a[k]; mb += b[k]; }
  ma /= a.size(); mb /= b.size();
  double sab = 0, saa = 0, sbb = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    sab += (a[k] - ma) * (b[k] - mb); saa += (a[k] - ma) * (a[k] - ma); sbb += (b[k] - mb) * (b[k] - mb);
  }
  return sab / std::sqrt(std::max(saa * sbb, 1e-300));
}

}  // namespace

int main(int argc, char** argv) {
  bench::ProbeSetup setup;
  if (auto exit_code = bench::probe_setup(argc, argv, "pulse_probe", 450, setup)) return *exit_code;
  std::printf("path,source,label,run_s,fps,pulse_snr,pulse_contrast,cheek_coherence,pulse_hz\n");
  for (const auto& item : setup.videos) {
    // The longest run of frames whose largest face keeps one track id and has every region measured.
    auto r = bench::longest_face_run<FrameColours>(item.path, setup, [](const face::FrameFaces& f, const face::Face& best) {
      std::optional<FrameColours> c;
      if (!f.image.empty() && f.image.channels() == 3) {
        const cv::Mat frame(f.image.height_px(), f.image.width_px(), CV_8UC3, const_cast<uint8_t*>(f.image.data()));
        c = colours_of(frame, best.landmarks);
        if (!c->left || !c->right || !c->forehead || !c->background) c.reset();
      }
      return c;
    });
    if (!r.ok()) {
      std::fprintf(stderr, "failed %s: %s\n", item.path.c_str(), r.status().message().c_str());
      continue;
    }
    const auto& run = r->values;
    const double fps = r->fps;
    const double run_s = run.size() / fps;
    std::string cues = ",,,";
    if (run_s >= kSegmentS) {
      Series skin, background, left, right;
      for (const auto& c : run) {
        skin.push_back(pooled(c));
        background.push_back(*c.background);
        left.push_back(*c.left);
        right.push_back(*c.right);
      }
      const auto h_skin = pos_signal(skin, fps);
      const double snr = pulse_snr(h_skin, fps);
      const double contrast = snr - pulse_snr(pos_signal(background, fps), fps);
      const double coherence = correlation(band_pass(pos_signal(left, fps), fps), band_pass(pos_signal(right, fps), fps));
      double bin = 0;
      const auto p = welch(h_skin, fps, &bin);
      int peak = static_cast<int>(std::ceil(kBandLowHz / bin));
      for (int b = peak; b * bin <= kBandHighHz; ++b) if (p[b] > p[peak]) peak = b;
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.3f,%.3f,%.4f,%.2f", snr, contrast, coherence, peak * bin);
      cues = buf;
    }
    std::printf("\"%s\",%s,%d,%.2f,%.2f,%s\n", item.path.c_str(), item.columns.at("source_repo").c_str(), item.label, run_s, fps,
                cues.c_str());
    std::fflush(stdout);
  }
  return 0;
}
