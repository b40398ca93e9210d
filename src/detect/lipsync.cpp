// Lip-sync signals: mouth opening vs speech loudness, and the audio offset that lines them up.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "detect/audio_features.h"
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

// lipsync_mismatch_score's logistic weights, fitted by bench_lipsync --fit on 30 real talking
// heads (PC-AVS/VoxCeleb2, LRS2, GRID, MEAD) against their audio shifted by +-300/+-500 ms and
// dubbed (152 mismatched versions, 30 aligned). The bias is the fitted one (9.321) minus
// log(152 / 30), so that the score assumes even odds of a mismatch, not the fitting set's 5:1.
// Given the correlation inside the speech, a high whole-clip correlation counts towards a
// mismatch: speech stretches that line up with the mouth while the syllables inside them do not
// are what a dub looks like.
constexpr double kMismatchBias = 7.698;
constexpr double kMismatchCorr = 3.808;
constexpr double kMismatchZ = -3.761;
constexpr double kMismatchSpeech = -12.193;

}  // namespace

namespace {

// One value per frame from its landmarks, NaN where the face is missing or degenerate. `measure`
// gets the landmarks and the eye-corner distance (36-45) it normalises by.
template <typename Measure>
std::vector<double> per_frame(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame,
                              Measure measure) {
  std::vector<double> out;
  out.reserve(landmarks_per_frame.size());
  for (const auto& lm : landmarks_per_frame) {
    const double eyes = lm ? dist((*lm)[36], (*lm)[45]) : 0.0;
    out.push_back(lm && eyes > 1e-6 ? measure(*lm, eyes) : std::nan(""));
  }
  return out;
}

}  // namespace

std::vector<double> mouth_opening(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame) {
  return per_frame(landmarks_per_frame, [](const face::Landmarks& p, double eyes) {
    return (dist(p[61], p[67]) + dist(p[62], p[66]) + dist(p[63], p[65])) / 3.0 / eyes;
  });
}

std::vector<double> mouth_area(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame) {
  return per_frame(landmarks_per_frame, [](const face::Landmarks& p, double eyes) {
    double twice = 0;  // shoelace formula over the inner-lip polygon 60-67
    for (int i = 60; i <= 67; ++i) {
      const auto& a = p[i];
      const auto& b = p[i == 67 ? 60 : i + 1];
      twice += a.x * b.y - b.x * a.y;
    }
    return std::abs(twice) / 2.0 / (eyes * eyes);
  });
}

std::vector<double> band_envelope(const Audio& audio, double fps, double low_hz, double high_hz) {
  std::vector<double> out;
  if (!(fps > 0) || audio.sample_rate_hz <= 0) return out;
  const Audio a = resample(audio, kFeatureRateHz);
  const FrameOptions fo;
  const auto power = power_spectrogram(a.samples, kFeatureRateHz, fo);
  const double bin_hz = static_cast<double>(kFeatureRateHz) / fo.n_fft;
  const int k0 = std::max(1, static_cast<int>(std::ceil(low_hz / bin_hz)));
  const int k1 = std::min(power.n_cols - 1, static_cast<int>(std::floor(high_hz / bin_hz)));
  std::vector<double> band(static_cast<size_t>(power.n_rows), 0.0);
  for (int t = 0; t < power.n_rows; ++t) {
    for (int k = k0; k <= k1; ++k) band[t] += power.at(t, k);
  }
  const auto n_frames = static_cast<size_t>(std::floor(a.duration_s() * fps));
  const double hop_s = static_cast<double>(fo.hop) / kFeatureRateHz;
  const double centre_s = 0.5 * fo.frame_len / kFeatureRateHz;
  for (size_t i = 0; i < n_frames; ++i) {
    const double t = i / fps;
    // 10 ms frames whose centres fall within one frame period of t.
    const long lo = std::max(0L, static_cast<long>(std::ceil((t - 1.0 / fps - centre_s) / hop_s)));
    const long hi = std::min(static_cast<long>(band.size()) - 1, static_cast<long>(std::floor((t + 1.0 / fps - centre_s) / hop_s)));
    double e = 0;
    long count = 0;
    for (long k = lo; k <= hi; ++k) { e += band[static_cast<size_t>(k)]; ++count; }
    // Scaled so a sine of amplitude 0.5 in the band reads roughly 0 dB (only differences matter).
    const double mean = count ? e / count / (fo.frame_len * fo.frame_len * 0.54 * 0.54 / 4.0) : 0.0;
    out.push_back(std::max(-100.0, 10.0 * std::log10(mean + 1e-12)));
  }
  return out;
}

size_t speaking_track(const std::vector<std::vector<std::optional<face::Landmarks>>>& tracks, double fps) {
  size_t best = tracks.size();
  double best_value = 0;
  const int window = std::max(3, static_cast<int>(std::lround(fps)));
  for (size_t i = 0; i < tracks.size(); ++i) {
    int n_face = 0;
    for (const auto& lm : tracks[i]) n_face += lm.has_value();
    if (n_face < 2.0 * fps) continue;
    // Motion of the raw opening around its 1 s trend: a talking mouth moves, a listening one barely.
    const auto opening = mouth_opening(tracks[i]);
    double sq = 0;
    int n = 0;
    const int len = static_cast<int>(opening.size());
    for (int t = 0; t < len; ++t) {
      if (!std::isfinite(opening[t])) continue;
      double sum = 0;
      int c = 0;
      for (int k = std::max(0, t - window / 2); k <= std::min(len - 1, t + window / 2); ++k) {
        if (std::isfinite(opening[k])) { sum += opening[k]; ++c; }
      }
      const double d = opening[t] - sum / c;
      sq += d * d;
      ++n;
    }
    const double value = n ? std::sqrt(sq / n) * std::sqrt(static_cast<double>(n_face)) : 0.0;
    if (best == tracks.size() || value > best_value) {
      best = i;
      best_value = value;
    }
  }
  return best;
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
  // Every lag is measured on the same mouth frames (those whose partner exists at every lag), so
  // that far lags, with fewer pairs, do not win by noise. Short clips get a shorter lag range
  // rather than too few frames: at least 2 s of frames stay in the overlap.
  const int n = static_cast<int>(std::min(m.size(), e.size()));
  const int min_pairs = static_cast<int>(2.0 * fps);
  const int max_lag = std::min(static_cast<int>(std::lround(max_offset_s * fps)), (n - min_pairs) / 2);
  if (max_lag < 2) return Status::input("lipsync", "fewer than 2 s with both a face and audio");
  std::vector<double> mc(m.begin(), m.begin() + n);
  for (int t = 0; t < n; ++t) {
    if (t < max_lag || t >= n - max_lag) mc[t] = std::nan("");
  }
  std::vector<double> corr;
  AvOffset best;
  best.correlation = -2.0;
  best.aligned_correlation = -1.0;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    const auto [c, pairs] = correlation_at(mc, e, lag);
    if (pairs < min_pairs) continue;
    corr.push_back(c);
    if (std::abs(lag * 1000.0 / fps) <= 80.0) best.aligned_correlation = std::max(best.aligned_correlation, c);
    if (c > best.correlation) {
      best.correlation = c;
      best.offset_ms = static_cast<int>(std::lround(lag * 1000.0 / fps));
      best.n_frames_used = pairs;
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
  best.aligned_z = (best.aligned_correlation - median) / spread;
  return best;
}

double speech_correlation(const std::vector<double>& mouth, const std::vector<double>& envelope,
                          const std::vector<bool>& speech, double fps, double trend_s) {
  if (!(fps > 0)) return 0.0;
  const int n = static_cast<int>(std::min({mouth.size(), envelope.size(), speech.size()}));
  std::vector<double> m(static_cast<size_t>(n), std::nan("")), e(static_cast<size_t>(n), std::nan(""));
  int n_speech = 0;
  for (int t = 0; t < n; ++t) {
    if (!speech[t]) continue;
    m[t] = mouth[t];
    e[t] = envelope[t];
    n_speech += std::isfinite(mouth[t]) && std::isfinite(envelope[t]);
  }
  if (n_speech < fps) return 0.0;
  const int window = std::max(3, static_cast<int>(std::lround(trend_s * fps)));
  const auto mz = high_pass_z(m, window);
  const auto ez = high_pass_z(e, window);
  if (mz.empty() || ez.empty()) return 0.0;
  const int max_lag = static_cast<int>(std::floor(0.080 * fps + 1e-9));
  double best = -1.0;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    const auto [c, pairs] = correlation_at(mz, ez, lag);
    if (pairs >= fps) best = std::max(best, c);
  }
  return best > -1.0 ? best : 0.0;
}

double lipsync_mismatch_score(const AvOffset& o) {
  // Logistic regression on (aligned_correlation, aligned_z), fitted by bench_lipsync --fit.
  const double x = kMismatchBias + kMismatchCorr * o.aligned_correlation + kMismatchZ * std::clamp(o.aligned_z, -5.0, 5.0) +
                   kMismatchSpeech * o.speech_correlation;
  return 1.0 / (1.0 + std::exp(-x));
}

Result<LipsyncEstimate> score_lipsync(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame, double fps,
                                      const Audio& audio) {
  if (!(fps > 0)) return Status::usage("lipsync", "frame rate must be positive");
  LipsyncEstimate est;
  const auto mouth = mouth_opening(landmarks_per_frame);
  auto envelope = band_envelope(audio, fps);
  envelope.resize(mouth.size(), std::nan(""));  // audio shorter than the video: no pairs there
  auto offset = estimate_av_offset(mouth, envelope, fps);
  if (!offset.ok()) {
    est.note = offset.status().message();
    return est;
  }
  est.offset = *offset;
  // Voice activity per video frame (the 10 ms VAD frame nearest each frame's time).
  const Audio a16 = resample(audio, kFeatureRateHz);
  const auto vad = voice_activity(a16);
  std::vector<bool> speech(mouth.size(), false);
  for (size_t i = 0; i < speech.size(); ++i) {
    const long k = std::lround((i / fps - 0.0125) / 0.01);
    speech[i] = k >= 0 && k < static_cast<long>(vad.size()) && vad[static_cast<size_t>(k)];
  }
  est.offset.speech_correlation = speech_correlation(mouth, envelope, speech, fps);
  est.score = lipsync_mismatch_score(est.offset);
  return est;
}

}  // namespace unmask::detect
