// Lip-sync signals: mouth opening vs speech loudness, and the audio offset that lines them up.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "detect/detect.h"

namespace unmask::detect {
namespace {

double dist(const face::Point2& a, const face::Point2& b) { return std::hypot(a.x - b.x, a.y - b.y); }

// Removes the slow trend (centred moving average over `window` frames) and scales to unit
// variance, ignoring NaN frames. A series without variation comes back empty.
std::vector<double> high_pass_z(const std::vector<double>& x, int window) {
  const int n = static_cast<int>(x.size());
  std::vector<double> out(x.size(), std::nan(""));
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    double sum = 0;
    int count = 0;
    for (int k = std::max(0, i - window / 2); k <= std::min(n - 1, i + window / 2); ++k) {
      if (std::isfinite(x[k])) { sum += x[k]; ++count; }
    }
    out[i] = x[i] - sum / count;
  }
  double mean = 0, sq = 0;
  int count = 0;
  for (double v : out) {
    if (std::isfinite(v)) { mean += v; sq += v * v; ++count; }
  }
  if (count < 2) return {};
  mean /= count;
  const double var = sq / count - mean * mean;
  if (!(var > 1e-12)) return {};
  const double sd = std::sqrt(var);
  for (double& v : out) {
    if (std::isfinite(v)) v = (v - mean) / sd;
  }
  return out;
}

// Correlation of a[t] with b[t + lag] over the pairs where both are finite.
std::pair<double, int> correlation_at(const std::vector<double>& a, const std::vector<double>& b, int lag) {
  double ab = 0, aa = 0, bb = 0;
  int n = 0;
  for (int t = 0; t < static_cast<int>(a.size()); ++t) {
    const int u = t + lag;
    if (u < 0 || u >= static_cast<int>(b.size())) continue;
    if (!std::isfinite(a[t]) || !std::isfinite(b[u])) continue;
    ab += a[t] * b[u];
    aa += a[t] * a[t];
    bb += b[u] * b[u];
    ++n;
  }
  if (n == 0 || aa <= 0 || bb <= 0) return {0.0, 0};
  return {ab / std::sqrt(aa * bb), n};
}

}  // namespace

std::vector<double> mouth_opening(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame) {
  std::vector<double> out;
  out.reserve(landmarks_per_frame.size());
  for (const auto& lm : landmarks_per_frame) {
    if (!lm) {
      out.push_back(std::nan(""));
      continue;
    }
    const auto& p = *lm;
    const double eyes = dist(p[36], p[45]);
    const double lips = (dist(p[61], p[67]) + dist(p[62], p[66]) + dist(p[63], p[65])) / 3.0;
    out.push_back(eyes > 1e-6 ? lips / eyes : std::nan(""));
  }
  return out;
}

std::vector<double> speech_envelope(const Audio& audio, double fps) {
  std::vector<double> out;
  if (!(fps > 0) || audio.sample_rate_hz <= 0) return out;
  const auto n_frames = static_cast<size_t>(std::floor(audio.duration_s() * fps));
  const double half_window_s = 1.0 / fps;  // two frame periods wide: smooths the frame grid
  for (size_t i = 0; i < n_frames; ++i) {
    const double t = i / fps;
    const auto a = static_cast<size_t>(std::max(0.0, (t - half_window_s) * audio.sample_rate_hz));
    const auto b = std::min(audio.samples.size(), static_cast<size_t>((t + half_window_s) * audio.sample_rate_hz));
    double e = 0;
    for (size_t k = a; k < b; ++k) e += double(audio.samples[k]) * audio.samples[k];
    const double rms = b > a ? std::sqrt(e / (b - a)) : 0.0;
    out.push_back(std::max(-80.0, 20.0 * std::log10(rms + 1e-9)));
  }
  return out;
}

Result<AvOffset> estimate_av_offset(const std::vector<double>& mouth, const std::vector<double>& envelope, double fps,
                                    double max_offset_s) {
  if (!(fps > 0)) return Status::usage("lipsync", "frame rate must be positive");
  const int window = std::max(3, static_cast<int>(std::lround(fps)));  // 1 s trend removal
  const auto m = high_pass_z(mouth, window);
  const auto e = high_pass_z(envelope, window);
  if (m.empty()) return Status::input("lipsync", "the mouth does not move");
  if (e.empty()) return Status::input("lipsync", "the audio has no varying speech");
  const int max_lag = static_cast<int>(std::lround(max_offset_s * fps));
  const int min_pairs = static_cast<int>(2.0 * fps);
  std::vector<double> corr;
  AvOffset best;
  best.correlation = -2.0;
  best.aligned_correlation = -1.0;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    const auto [c, n] = correlation_at(m, e, lag);
    if (n < min_pairs) continue;
    corr.push_back(c);
    if (std::abs(lag * 1000.0 / fps) <= 80.0) best.aligned_correlation = std::max(best.aligned_correlation, c);
    if (c > best.correlation) {
      best.correlation = c;
      best.offset_ms = static_cast<int>(std::lround(lag * 1000.0 / fps));
      best.n_frames_used = n;
    }
  }
  if (corr.size() < 3) return Status::input("lipsync", "fewer than 2 s with both a face and audio");
  std::vector<double> sorted = corr;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  // How far the peak stands above the typical lag, relative to the spread of the correlations.
  double spread = 0;
  for (double c : corr) spread += (c - median) * (c - median);
  spread = std::sqrt(spread / corr.size()) + 1e-9;
  const double z = (best.correlation - median) / spread;
  best.confidence = std::clamp((z - 1.5) / 3.0, 0.0, 1.0) * std::clamp(best.correlation / 0.3, 0.0, 1.0);
  return best;
}

double lipsync_mismatch_score(const AvOffset& o) {
  const double off = std::clamp((std::abs(o.offset_ms) - 120.0) / 180.0, 0.0, 1.0) * o.confidence;
  const double weak = std::clamp((0.35 - o.aligned_correlation) / 0.3, 0.0, 1.0);
  return std::clamp(std::max(off, weak), 0.0, 1.0);
}

}  // namespace unmask::detect
