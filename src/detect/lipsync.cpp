// Lip-sync signals: mouth opening vs speech loudness, and the audio offset that lines them up.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <cstdio>
#include <string>

#include "detect/audio_features.h"
#include "detect/detect.h"
#include "detect/detector.h"

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

// lipsync_mismatch_score's logistic weights, fitted by bench_lipsync --fit on the real talking
// heads it judges (PC-AVS/VoxCeleb2, LRS2, GRID, MEAD: 27 aligned clips that pass the rules of
// score_lipsync) against the project's versions of them with the audio shifted by +-300/+-500 ms
// and dubbed with espeak-ng (147 that pass). The bias is the fitted one (9.042) minus
// log(147 / 27), so that the score assumes even odds of a mismatch, not the fitting set's 5:1.
// Given the correlation inside the speech, a high whole-clip correlation counts towards a
// mismatch: speech stretches that line up with the mouth while the syllables inside them do not
// are what a dub looks like.
constexpr double kMismatchBias = 7.348;
constexpr double kMismatchCorr = 3.372;
constexpr double kMismatchZ = -3.398;
constexpr double kMismatchSpeech = -12.277;

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
    const double eyes = lm ? eye_corner_px(*lm) : 0.0;
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

namespace {

// Power summed over the bins of [low_hz, high_hz], per 10 ms frame.
void band_power_frames(const FeatureMatrix& power, double low_hz, double high_hz, std::vector<double>& out) {
  const FrameOptions fo;
  const double bin_hz = static_cast<double>(kFeatureRateHz) / fo.n_fft;
  const int k0 = std::max(1, static_cast<int>(std::ceil(low_hz / bin_hz)));
  const int k1 = std::min(power.n_cols - 1, static_cast<int>(std::floor(high_hz / bin_hz)));
  for (int t = 0; t < power.n_rows; ++t) {
    double band = 0.0;
    for (int k = k0; k <= k1; ++k) band += power.at(t, k);
    out.push_back(band);
  }
}

// band_envelope from the band's power per 10 ms frame of a recording of duration_s.
std::vector<double> envelope_from_band(const std::vector<double>& band, double duration_s, double fps) {
  std::vector<double> out;
  if (!(fps > 0)) return out;
  const FrameOptions fo;
  const auto n_frames = static_cast<size_t>(std::floor(duration_s * fps));
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

constexpr double kLipsyncBandLowHz = 1000.0;
constexpr double kLipsyncBandHighHz = 7000.0;

}  // namespace

std::vector<double> band_envelope(const Audio& audio, double fps, double low_hz, double high_hz) {
  if (!(fps > 0) || audio.sample_rate_hz <= 0) return {};
  const Audio a = resample(audio, kFeatureRateHz);
  std::vector<double> band;
  band_power_frames(power_spectrogram(a.samples, kFeatureRateHz), low_hz, high_hz, band);
  return envelope_from_band(band, a.duration_s(), fps);
}

LipsyncAudio lipsync_audio(const Audio& audio) {
  LipsyncAudio out;
  if (audio.sample_rate_hz <= 0) return out;
  const Audio a = resample(audio, kFeatureRateHz);
  auto source = memory_audio_source(a);
  auto streamed = lipsync_audio_stream(*source);
  if (streamed.ok()) out = std::move(*streamed);
  return out;
}

Result<LipsyncAudio> lipsync_audio_stream(AudioSource& source) {
  if (source.sample_rate_hz() != kFeatureRateHz) {
    return Status::usage("lipsync", "the audio must be at " + std::to_string(kFeatureRateHz) + " Hz");
  }
  LipsyncAudio out;
  const FrameOptions fo;
  const VadOptions vo;  // the same 25 ms frames every 10 ms
  auto n = stream_frames(source, fo.frame_len, fo.hop, 6000, nullptr, [&](int64_t, const float* s, int n_frames) {
    band_power_frames(power_spectrogram_frames(s, n_frames, fo), kLipsyncBandLowHz, kLipsyncBandHighHz, out.band_power);
    for (int t = 0; t < n_frames; ++t) out.energy_db.push_back(frame_energy_db(s + static_cast<size_t>(t) * vo.hop, vo.frame_len));
    return Status::ok();
  });
  if (!n.ok()) return n.status();
  out.duration_s = static_cast<double>(*n) / kFeatureRateHz;
  out.beat_strength = lipsync_beat_strength(out);
  return out;
}

namespace {

// How much a track's mouth moves: the RMS of its opening around the 1 s trend, times the square
// root of the frames with the face. nullopt when it has under 2 s of face.
std::optional<double> speaking_value(const std::vector<double>& opening, int n_face, double fps) {
  if (n_face < 2.0 * fps) return std::nullopt;
  const int window = std::max(3, static_cast<int>(std::lround(fps)));
  // Motion of the raw opening around its 1 s trend: a talking mouth moves, a listening one barely.
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
  return n ? std::sqrt(sq / n) * std::sqrt(static_cast<double>(n_face)) : 0.0;
}

template <typename Series, typename Opening, typename CountFace>
size_t pick_speaker(const std::vector<Series>& tracks, double fps, Opening opening_of, CountFace n_face_of) {
  size_t best = tracks.size();
  double best_value = 0;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const auto value = speaking_value(opening_of(tracks[i]), n_face_of(tracks[i]), fps);
    if (!value) continue;
    if (best == tracks.size() || *value > best_value) {
      best = i;
      best_value = *value;
    }
  }
  return best;
}

}  // namespace

size_t speaking_track(const std::vector<std::vector<std::optional<face::Landmarks>>>& tracks, double fps) {
  using Series = std::vector<std::optional<face::Landmarks>>;
  return pick_speaker(
      tracks, fps, [](const Series& s) { return mouth_opening(s); },
      [](const Series& s) { return static_cast<int>(std::count_if(s.begin(), s.end(), [](const auto& lm) { return lm.has_value(); })); });
}

size_t speaking_track_by_opening(const std::vector<std::vector<double>>& openings, double fps) {
  using Series = std::vector<double>;
  return pick_speaker(
      openings, fps, [](const Series& s) -> const Series& { return s; },
      [](const Series& s) { return static_cast<int>(std::count_if(s.begin(), s.end(), [](double v) { return std::isfinite(v); })); });
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
  return score_lipsync(landmarks_per_frame, fps, lipsync_audio(audio));
}

Result<LipsyncEstimate> score_lipsync(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame, double fps,
                                      const LipsyncAudio& audio) {
  if (!(fps > 0)) return Status::usage("lipsync", "frame rate must be positive");
  if (auto small = lipsync_face_too_small(median_eye_corner_px(landmarks_per_frame))) return std::move(*small);
  return score_lipsync(mouth_opening(landmarks_per_frame), fps, audio);
}

double eye_corner_px(const face::Landmarks& l) { return dist(l[36], l[45]); }

double median_eye_corner_px(std::vector<float> per_frame_px) {
  if (per_frame_px.empty()) return 0.0;
  const auto mid = per_frame_px.begin() + static_cast<std::ptrdiff_t>(per_frame_px.size() / 2);
  std::nth_element(per_frame_px.begin(), mid, per_frame_px.end());
  return *mid;
}

double median_eye_corner_px(const std::vector<std::optional<face::Landmarks>>& landmarks_per_frame) {
  std::vector<float> px;
  px.reserve(landmarks_per_frame.size());
  for (const auto& lm : landmarks_per_frame) {
    if (lm) px.push_back(static_cast<float>(eye_corner_px(*lm)));
  }
  return median_eye_corner_px(std::move(px));
}

std::optional<LipsyncEstimate> lipsync_face_too_small(double eye_corner_px) {
  if (!(eye_corner_px > 0) || eye_corner_px >= kLipsyncMinEyeCornerPx) return std::nullopt;
  LipsyncEstimate est;
  char note[160];
  std::snprintf(note, sizeof note, "the face is too small to read the lips (eye corners %.0f px apart; judged from %.0f px)",
                eye_corner_px, kLipsyncMinEyeCornerPx);
  est.note = note;
  return est;
}

namespace {

// RMS of x around its centred `window`-frame trend, both over the frames where `keep` is set and x
// is finite only (the trend of a speech stretch is not pulled by the silence around it); 0 when
// fewer than 2 such frames.
double rms_around_trend(const std::vector<double>& x, const std::vector<bool>& keep, int window) {
  const int n = static_cast<int>(std::min(x.size(), keep.size()));
  auto kept = [&](int t) { return keep[static_cast<size_t>(t)] && std::isfinite(x[static_cast<size_t>(t)]); };
  double sq = 0;
  int count = 0;
  for (int t = 0; t < n; ++t) {
    if (!kept(t)) continue;
    double sum = 0;
    int c = 0;
    for (int k = std::max(0, t - window / 2); k <= std::min(n - 1, t + window / 2); ++k) {
      if (kept(k)) { sum += x[static_cast<size_t>(k)]; ++c; }
    }
    const double d = x[static_cast<size_t>(t)] - sum / c;
    sq += d * d;
    ++count;
  }
  return count >= 2 ? std::sqrt(sq / count) : 0.0;
}

std::string one_decimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

// Set from bench_lipsync's aligned real talking heads (docs/lipsync.md, "When lip-sync judges"):
// half the lowest mouth motion and speech modulation among those with 1.5 s of speech or more.
// (A third rule, refusing recordings of 8 s or more whose voice-active share was above 0.90 as
// "not pausing like speech", was dropped: fluent read speech goes above it, docs/lipsync.md.)
const double kLipsyncMinMouthMotion = 0.0048;   // lowest 0.0097 (VoxCeleb2 Input_00098)
const double kLipsyncMinSpeechModulation = 2.1;  // lowest 4.22 dB (VoxCeleb2 Pose_Source_517600055)
// Rule 8, the highest beat strength among the same clips (0.336, LRS2 00004) plus 0.05, as the
// dropped pause rule was set.
const double kLipsyncMaxBeatStrength = 0.386;

Result<LipsyncEstimate> score_lipsync(const std::vector<double>& mouth, double fps, const LipsyncAudio& audio) {
  if (!(fps > 0)) return Status::usage("lipsync", "frame rate must be positive");
  LipsyncEstimate est;
  auto envelope = envelope_from_band(audio.band_power, audio.duration_s, fps);
  envelope.resize(mouth.size(), std::nan(""));  // audio shorter than the video: no pairs there
  // Voice activity per video frame (the 10 ms VAD frame nearest each frame's time).
  const auto vad = voice_activity_from_energies(audio.energy_db);
  std::vector<bool> speech(mouth.size(), false), speech_with_face(mouth.size(), false);
  int n_speech_face = 0;
  for (size_t i = 0; i < speech.size(); ++i) {
    const long k = std::lround((i / fps - 0.0125) / 0.01);
    speech[i] = k >= 0 && k < static_cast<long>(vad.size()) && vad[static_cast<size_t>(k)];
    speech_with_face[i] = speech[i] && std::isfinite(mouth[i]) && std::isfinite(envelope[i]);
    n_speech_face += speech_with_face[i];
  }
  // The evidence the rules look at.
  est.speech_s = n_speech_face / fps;
  est.mouth_motion = rms_around_trend(mouth, speech_with_face, std::max(3, static_cast<int>(std::lround(0.6 * fps))));
  est.speech_modulation = rms_around_trend(envelope, speech, std::max(3, static_cast<int>(std::lround(fps))));
  est.voice_fraction = vad.empty() ? 0.0 : static_cast<double>(std::count(vad.begin(), vad.end(), true)) / vad.size();
  est.beat_strength = audio.beat_strength;
  auto offset = estimate_av_offset(mouth, envelope, fps);
  if (!offset.ok()) {
    est.note = offset.status().message();
    return est;
  }
  est.offset = *offset;
  est.offset.speech_correlation = speech_correlation(mouth, envelope, speech, fps);
  // Nothing to judge is not evidence either way (docs/lipsync.md, "When lip-sync judges").
  if (est.speech_s < kLipsyncMinSpeechSeconds) {
    est.note = "under " + one_decimal(kLipsyncMinSpeechSeconds) + " s of speech with the face in view (" + one_decimal(est.speech_s) + " s)";
    return est;
  }
  if (est.mouth_motion < kLipsyncMinMouthMotion) {
    est.note = "the mouth barely moves while the voice speaks";
    return est;
  }
  if (est.speech_modulation < kLipsyncMinSpeechModulation) {
    est.note = "the sound does not vary like speech";
    return est;
  }
  if (est.beat_strength > kLipsyncMaxBeatStrength) {
    est.note = "the sound has a steady beat, as music has";
    return est;
  }
  est.score = lipsync_mismatch_score(est.offset);
  return est;
}

double lipsync_beat_strength(const LipsyncAudio& audio) {
  constexpr int kTrendFrames = 101;              // 1 s of 10 ms frames, centred
  constexpr int kMinLag = 30, kMaxLag = 120;     // 0.3-1.2 s
  const int n = static_cast<int>(audio.band_power.size());
  if (n < 2 * kMaxLag) return 0.0;
  std::vector<double> db(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) db[static_cast<size_t>(t)] = 10.0 * std::log10(audio.band_power[static_cast<size_t>(t)] + 1e-10);
  std::vector<double> prefix(static_cast<size_t>(n) + 1, 0.0);
  for (int t = 0; t < n; ++t) prefix[static_cast<size_t>(t) + 1] = prefix[static_cast<size_t>(t)] + db[static_cast<size_t>(t)];
  std::vector<double> x(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) {
    const int a = std::max(0, t - kTrendFrames / 2), b = std::min(n, t + kTrendFrames / 2 + 1);
    x[static_cast<size_t>(t)] = db[static_cast<size_t>(t)] - (prefix[static_cast<size_t>(b)] - prefix[static_cast<size_t>(a)]) / (b - a);
  }
  double best = 0.0;
  for (int lag = kMinLag; lag <= kMaxLag; ++lag) {
    double xy = 0, xx = 0, yy = 0;
    for (int t = 0; t + lag < n; ++t) {
      const double u = x[static_cast<size_t>(t)], v = x[static_cast<size_t>(t + lag)];
      xy += u * v;
      xx += u * u;
      yy += v * v;
    }
    if (xx > 0 && yy > 0) best = std::max(best, xy / std::sqrt(xx * yy));
  }
  return best;
}

bool better_lipsync_match(const LipsyncEstimate& a, const LipsyncEstimate& b) {
  if (a.score && b.score) return *a.score < *b.score;
  if (a.score.has_value() != b.score.has_value()) return a.score.has_value();
  return a.speech_s > b.speech_s;
}

Result<TrackLipsync> score_lipsync_tracks(const std::vector<std::vector<double>>& mouth_openings, double fps,
                                          const LipsyncAudio& audio) {
  if (!(fps > 0)) return Status::usage("lipsync", "frame rate must be positive");
  TrackLipsync best;
  best.estimate.note = "no face track";
  for (size_t i = 0; i < mouth_openings.size(); ++i) {
    auto est = score_lipsync(mouth_openings[i], fps, audio);
    if (!est.ok()) return est.status();
    if (i == 0 || better_lipsync_match(*est, best.estimate)) best = {std::move(*est), i};
  }
  return best;
}

}  // namespace unmask::detect
