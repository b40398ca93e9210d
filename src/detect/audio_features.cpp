// Audio features: framing, power spectra (OpenCV DFT), filterbanks, cepstra, deltas, VAD.
#include "detect/audio_features.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <opencv2/core.hpp>

#include "media/media.h"

namespace unmask::detect {
namespace {

constexpr double kPi = std::numbers::pi;

FilterBank triangular_bank(const std::vector<double>& edges_hz, int n_fft, int sample_rate_hz) {
  FilterBank bank;
  bank.n_bands = static_cast<int>(edges_hz.size()) - 2;
  bank.n_bins = n_fft / 2 + 1;
  bank.weights.assign(static_cast<size_t>(bank.n_bands) * bank.n_bins, 0.0f);
  const double bin_hz = static_cast<double>(sample_rate_hz) / n_fft;
  for (int b = 0; b < bank.n_bands; ++b) {
    const double lo = edges_hz[b], mid = edges_hz[b + 1], hi = edges_hz[b + 2];
    bank.centre_hz.push_back(mid);
    for (int k = 0; k < bank.n_bins; ++k) {
      const double f = k * bin_hz;
      double w = 0.0;
      if (f > lo && f <= mid) w = (f - lo) / (mid - lo);
      else if (f > mid && f < hi) w = (hi - f) / (hi - mid);
      bank.weights[static_cast<size_t>(b) * bank.n_bins + k] = static_cast<float>(w);
    }
  }
  return bank;
}

}  // namespace

std::vector<float> hamming_window(int n) {
  std::vector<float> w(static_cast<size_t>(std::max(0, n)));
  if (n == 1) w[0] = 1.0f;
  for (int i = 0; n > 1 && i < n; ++i) w[i] = static_cast<float>(0.54 - 0.46 * std::cos(2.0 * kPi * i / (n - 1)));
  return w;
}

FeatureMatrix power_spectrogram(const std::vector<float>& samples, int /*sample_rate_hz*/, const FrameOptions& o) {
  const int n_samples = static_cast<int>(samples.size());
  if (o.frame_len <= 0 || o.hop <= 0 || o.n_fft < o.frame_len || n_samples < o.frame_len) return {};
  return power_spectrogram_frames(samples.data(), 1 + (n_samples - o.frame_len) / o.hop, o);
}

FeatureMatrix power_spectrogram_frames(const float* samples, int n_frames, const FrameOptions& o) {
  FeatureMatrix out;
  if (o.frame_len <= 0 || o.hop <= 0 || o.n_fft < o.frame_len || n_frames <= 0) return out;
  const auto window = hamming_window(o.frame_len);
  out.n_rows = n_frames;
  out.n_cols = o.n_fft / 2 + 1;
  out.values.resize(static_cast<size_t>(out.n_rows) * out.n_cols);
  // A block of frames at a time: the complex spectrum of a whole 10-minute file would take
  // ~370 MB at once (the scan's memory bound is per file, whatever its length). Each row's DFT is
  // independent, so the result is the same as one call over all rows.
  constexpr int kBlockFrames = 2048;
  cv::Mat frames, spectrum;
  for (int first = 0; first < n_frames; first += kBlockFrames) {
    const int n = std::min(kBlockFrames, n_frames - first);
    frames.create(n, o.n_fft, CV_32F);
    frames.setTo(cv::Scalar(0));
    for (int t = 0; t < n; ++t) {
      float* row = frames.ptr<float>(t);
      const float* src = samples + static_cast<size_t>(first + t) * o.hop;
      for (int i = 0; i < o.frame_len; ++i) row[i] = src[i] * window[i];
    }
    cv::dft(frames, spectrum, cv::DFT_ROWS | cv::DFT_COMPLEX_OUTPUT);
    for (int t = 0; t < n; ++t) {
      const auto* c = spectrum.ptr<cv::Vec2f>(t);
      for (int k = 0; k < out.n_cols; ++k) out.at(first + t, k) = c[k][0] * c[k][0] + c[k][1] * c[k][1];
    }
  }
  return out;
}

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

FilterBank mel_filterbank(int n_bands, int n_fft, int sample_rate_hz, double f_min_hz, double f_max_hz) {
  if (f_max_hz < 0) f_max_hz = sample_rate_hz / 2.0;
  const double lo = hz_to_mel(f_min_hz), hi = hz_to_mel(f_max_hz);
  std::vector<double> edges;
  for (int i = 0; i < n_bands + 2; ++i) edges.push_back(mel_to_hz(lo + (hi - lo) * i / (n_bands + 1)));
  return triangular_bank(edges, n_fft, sample_rate_hz);
}

FilterBank linear_filterbank(int n_bands, int n_fft, int sample_rate_hz, double f_min_hz, double f_max_hz) {
  if (f_max_hz < 0) f_max_hz = sample_rate_hz / 2.0;
  std::vector<double> edges;
  for (int i = 0; i < n_bands + 2; ++i) edges.push_back(f_min_hz + (f_max_hz - f_min_hz) * i / (n_bands + 1));
  return triangular_bank(edges, n_fft, sample_rate_hz);
}

FeatureMatrix log_filterbank(const FeatureMatrix& power, const FilterBank& bank) {
  FeatureMatrix out;
  if (power.n_cols != bank.n_bins) return out;
  out.n_rows = power.n_rows;
  out.n_cols = bank.n_bands;
  out.values.resize(static_cast<size_t>(out.n_rows) * out.n_cols);
  for (int t = 0; t < power.n_rows; ++t) {
    const float* p = power.values.data() + static_cast<size_t>(t) * power.n_cols;
    for (int b = 0; b < bank.n_bands; ++b) {
      const float* w = bank.weights.data() + static_cast<size_t>(b) * bank.n_bins;
      double e = 0;
      for (int k = 0; k < bank.n_bins; ++k) e += double(w[k]) * p[k];
      out.at(t, b) = static_cast<float>(std::log(e + 1e-10));
    }
  }
  return out;
}

FeatureMatrix log_mel(const FeatureMatrix& power, int sample_rate_hz, int n_fft, int n_bands) {
  return log_filterbank(power, mel_filterbank(n_bands, n_fft, sample_rate_hz));
}

FeatureMatrix dct_rows(const FeatureMatrix& x, int n_coeffs) {
  FeatureMatrix out;
  const int n = x.n_cols;
  n_coeffs = std::min(n_coeffs, n);
  out.n_rows = x.n_rows;
  out.n_cols = n_coeffs;
  out.values.resize(static_cast<size_t>(out.n_rows) * n_coeffs);
  std::vector<double> basis(static_cast<size_t>(n_coeffs) * n);
  for (int k = 0; k < n_coeffs; ++k) {
    const double s = k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n);
    for (int i = 0; i < n; ++i) basis[static_cast<size_t>(k) * n + i] = s * std::cos(kPi * k * (2 * i + 1) / (2.0 * n));
  }
  for (int t = 0; t < x.n_rows; ++t) {
    for (int k = 0; k < n_coeffs; ++k) {
      double c = 0;
      for (int i = 0; i < n; ++i) c += basis[static_cast<size_t>(k) * n + i] * x.at(t, i);
      out.at(t, k) = static_cast<float>(c);
    }
  }
  return out;
}

FeatureMatrix lfcc(const FeatureMatrix& power, int sample_rate_hz, int n_fft, int n_filters, int n_coeffs) {
  return dct_rows(log_filterbank(power, linear_filterbank(n_filters, n_fft, sample_rate_hz)), n_coeffs);
}

FeatureMatrix deltas(const FeatureMatrix& x, int width) {
  FeatureMatrix out;
  out.n_rows = x.n_rows;
  out.n_cols = x.n_cols;
  out.values.assign(x.values.size(), 0.0f);
  double norm = 0;
  for (int k = 1; k <= width; ++k) norm += 2.0 * k * k;
  if (x.n_rows == 0 || norm == 0) return out;
  for (int t = 0; t < x.n_rows; ++t) {
    for (int c = 0; c < x.n_cols; ++c) {
      double d = 0;
      for (int k = 1; k <= width; ++k) {
        const int a = std::min(x.n_rows - 1, t + k), b = std::max(0, t - k);
        d += k * (double(x.at(a, c)) - x.at(b, c));
      }
      out.at(t, c) = static_cast<float>(d / norm);
    }
  }
  return out;
}

FeatureMatrix with_deltas(const FeatureMatrix& x, int width) {
  const FeatureMatrix d1 = deltas(x, width);
  const FeatureMatrix d2 = deltas(d1, width);
  FeatureMatrix out;
  out.n_rows = x.n_rows;
  out.n_cols = 3 * x.n_cols;
  out.values.resize(static_cast<size_t>(out.n_rows) * out.n_cols);
  for (int t = 0; t < x.n_rows; ++t) {
    for (int c = 0; c < x.n_cols; ++c) {
      out.at(t, c) = x.at(t, c);
      out.at(t, x.n_cols + c) = d1.at(t, c);
      out.at(t, 2 * x.n_cols + c) = d2.at(t, c);
    }
  }
  return out;
}

double frame_energy_db(const float* s, int frame_len) {
  double e = 0;
  for (int i = 0; i < frame_len; ++i) e += double(s[i]) * s[i];
  return 10.0 * std::log10(e / frame_len + 1e-12);
}

std::vector<bool> voice_activity(const Audio& audio, const VadOptions& o) {
  const int n_samples = static_cast<int>(audio.samples.size());
  if (o.frame_len <= 0 || o.hop <= 0 || n_samples < o.frame_len) return {};
  const int n_frames = 1 + (n_samples - o.frame_len) / o.hop;
  std::vector<double> energy_db(static_cast<size_t>(n_frames));
  for (int t = 0; t < n_frames; ++t) {
    energy_db[t] = frame_energy_db(audio.samples.data() + static_cast<size_t>(t) * o.hop, o.frame_len);
  }
  return voice_activity_from_energies(energy_db, o);
}

std::vector<bool> voice_activity_from_energies(const std::vector<double>& energy_db, const VadOptions& o) {
  const int n_frames = static_cast<int>(energy_db.size());
  if (n_frames == 0) return {};
  std::vector<bool> speech(static_cast<size_t>(n_frames), false);
  std::vector<double> sorted = energy_db;
  std::sort(sorted.begin(), sorted.end());
  const double floor_db = sorted[sorted.size() / 10];
  const double peak_db = sorted[std::min(sorted.size() - 1, sorted.size() * 98 / 100)];
  if (peak_db < o.silence_dbfs) return speech;
  const double threshold = std::max(floor_db + o.margin_db, peak_db - o.range_db);
  int hold = 0;
  for (int t = 0; t < n_frames; ++t) {
    if (energy_db[t] > threshold) {
      speech[t] = true;
      hold = o.hangover_frames;
    } else if (hold > 0) {
      speech[t] = true;
      --hold;
    }
  }
  // Drop short runs (clicks), hangover included.
  for (int t = 0; t < n_frames;) {
    if (!speech[t]) { ++t; continue; }
    int end = t;
    while (end < n_frames && speech[end]) ++end;
    if (end - t < o.min_run_frames) std::fill(speech.begin() + t, speech.begin() + end, false);
    t = end;
  }
  return speech;
}

Audio resample(const Audio& audio, int sample_rate_hz) {
  if (audio.sample_rate_hz == sample_rate_hz || audio.sample_rate_hz <= 0 || sample_rate_hz <= 0) return audio;
  Audio out;
  out.sample_rate_hz = sample_rate_hz;
  const double ratio = static_cast<double>(sample_rate_hz) / audio.sample_rate_hz;
  const double cutoff = std::min(1.0, ratio);  // of the input Nyquist
  constexpr int kZeros = 16;
  const double half_width = kZeros / cutoff;  // input samples on each side
  const auto n_out = static_cast<size_t>(std::floor(audio.samples.size() * ratio));
  out.samples.resize(n_out);
  const long n_in = static_cast<long>(audio.samples.size());
  for (size_t j = 0; j < n_out; ++j) {
    const double x = j / ratio;
    const long lo = std::max(0L, static_cast<long>(std::ceil(x - half_width)));
    const long hi = std::min(n_in - 1, static_cast<long>(std::floor(x + half_width)));
    double acc = 0;
    for (long i = lo; i <= hi; ++i) {
      const double d = (x - i) * cutoff;
      const double sinc = std::abs(d) < 1e-9 ? 1.0 : std::sin(kPi * d) / (kPi * d);
      const double w = 0.5 + 0.5 * std::cos(kPi * (x - i) / half_width);  // Hann taper
      acc += audio.samples[static_cast<size_t>(i)] * sinc * w;
    }
    out.samples[j] = static_cast<float>(acc * cutoff);
  }
  return out;
}

Audio prepare_speech(const Audio& audio, double target_dbfs) {
  Audio out = resample(audio, kFeatureRateHz);
  if (out.samples.empty()) return out;
  auto source = memory_audio_source(out);
  auto levels = measure_speech_levels(*source, target_dbfs);
  if (levels.ok()) apply_speech_levels(*levels, out.samples.data(), out.samples.size());
  return out;
}

namespace {

class MemoryAudioSource final : public AudioSource {
 public:
  explicit MemoryAudioSource(const Audio& audio) : audio_(audio) {}
  int sample_rate_hz() const override { return audio_.sample_rate_hz; }
  Status rewind() override {
    pos_ = 0;
    return Status::ok();
  }
  Result<size_t> read(std::vector<float>& out, size_t max_samples) override {
    const size_t n = std::min(max_samples, audio_.samples.size() - pos_);
    out.insert(out.end(), audio_.samples.begin() + static_cast<long>(pos_), audio_.samples.begin() + static_cast<long>(pos_ + n));
    pos_ += n;
    return n;
  }

 private:
  const Audio& audio_;
  size_t pos_ = 0;
};

class FileAudioSource final : public AudioSource {
 public:
  FileAudioSource(std::string path, int rate_hz) : path_(std::move(path)), rate_hz_(rate_hz) {}
  int sample_rate_hz() const override { return rate_hz_; }
  Status rewind() override {
    reader_.reset();
    auto reader = media::AudioReader::open(path_, rate_hz_);
    if (!reader.ok()) return reader.status();
    reader_ = std::move(*reader);
    return Status::ok();
  }
  Result<size_t> read(std::vector<float>& out, size_t max_samples) override {
    if (!reader_) UNMASK_RETURN_IF_ERROR(rewind());
    return reader_->read(out, max_samples);
  }

 private:
  std::string path_;
  int rate_hz_;
  std::unique_ptr<media::AudioReader> reader_;
};

}  // namespace

std::unique_ptr<AudioSource> memory_audio_source(const Audio& audio) { return std::make_unique<MemoryAudioSource>(audio); }

Result<std::unique_ptr<AudioSource>> file_audio_source(const std::string& path, int sample_rate_hz) {
  auto source = std::make_unique<FileAudioSource>(path, sample_rate_hz);
  UNMASK_RETURN_IF_ERROR(source->rewind());  // opens it: a file without audio fails here
  return std::unique_ptr<AudioSource>(std::move(source));
}

Result<int64_t> stream_frames(AudioSource& source, int frame_len, int hop, int block_frames, const SampleTransform& transform,
                              const FrameBlockFn& on_block) {
  if (frame_len <= 0 || hop <= 0 || hop > frame_len || block_frames <= 0) {
    return Status::usage("audio frames", "need 0 < hop <= frame length and a positive block");
  }
  UNMASK_RETURN_IF_ERROR(source.rewind());
  const size_t span = static_cast<size_t>(block_frames - 1) * hop + frame_len;  // samples of a full block
  const size_t chunk = static_cast<size_t>(block_frames) * hop;
  std::vector<float> buf;  // the samples from frame `first` on
  buf.reserve(span + chunk);
  int64_t first = 0, total = 0;
  bool at_end = false;
  while (true) {
    while (!at_end && buf.size() < span) {
      const size_t old = buf.size();
      auto n = source.read(buf, chunk);
      if (!n.ok()) return n.status();
      if (*n == 0) {
        at_end = true;
      } else {
        if (transform) transform(buf.data() + old, *n);
        total += static_cast<int64_t>(*n);
      }
    }
    if (buf.size() < static_cast<size_t>(frame_len)) break;
    const int n_frames = static_cast<int>(std::min<size_t>(block_frames, 1 + (buf.size() - frame_len) / hop));
    UNMASK_RETURN_IF_ERROR(on_block(first, buf.data(), n_frames));
    first += n_frames;
    buf.erase(buf.begin(), buf.begin() + static_cast<long>(static_cast<size_t>(n_frames) * hop));
  }
  return total;
}

Result<SpeechLevels> measure_speech_levels(AudioSource& source, double target_dbfs) {
  SpeechLevels levels;
  // 1. The mean, summed in order as prepare_speech always did.
  UNMASK_RETURN_IF_ERROR(source.rewind());
  {
    double sum = 0;
    std::vector<float> buf;
    while (true) {
      buf.clear();
      auto n = source.read(buf, size_t{1} << 16);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      for (float s : buf) sum += s;
      levels.n_samples += static_cast<int64_t>(*n);
    }
    if (levels.n_samples == 0) return levels;
    levels.mean = sum / static_cast<double>(levels.n_samples);
  }
  const double mean = levels.mean;
  auto centre = [mean](float* s, size_t n) {
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<float>(s[i] - mean);
  };
  // 2. Voice activity of the centred recording.
  const VadOptions vo;
  std::vector<double> energy_db;
  auto frames = stream_frames(source, vo.frame_len, vo.hop, kStreamBlockFrames, centre,
                              [&](int64_t, const float* s, int n) {
                                for (int t = 0; t < n; ++t) energy_db.push_back(frame_energy_db(s + static_cast<size_t>(t) * vo.hop, vo.frame_len));
                                return Status::ok();
                              });
  if (!frames.ok()) return frames.status();
  const std::vector<bool> speech = voice_activity_from_energies(energy_db, vo);
  energy_db = {};
  // 3. The RMS over the active frames' hops, each hop's samples once, accumulated in order.
  double e = 0;
  size_t n_active = 0;
  auto rms = stream_frames(source, vo.frame_len, vo.hop, kStreamBlockFrames, centre,
                           [&](int64_t first, const float* s, int n) {
                             for (int t = 0; t < n; ++t) {
                               if (!speech[static_cast<size_t>(first + t)]) continue;
                               const float* hop = s + static_cast<size_t>(t) * vo.hop;
                               for (int i = 0; i < vo.hop; ++i) e += double(hop[i]) * hop[i];
                               n_active += static_cast<size_t>(vo.hop);
                             }
                             return Status::ok();
                           });
  if (!rms.ok()) return rms.status();
  if (n_active == 0 || e <= 0) return levels;
  levels.gain = std::pow(10.0, target_dbfs / 20.0) / std::sqrt(e / n_active);
  levels.scaled = true;
  return levels;
}

void apply_speech_levels(const SpeechLevels& levels, float* samples, size_t n) {
  for (size_t i = 0; i < n; ++i) samples[i] = static_cast<float>(samples[i] - levels.mean);
  if (!levels.scaled) return;
  for (size_t i = 0; i < n; ++i) samples[i] = static_cast<float>(std::clamp(samples[i] * levels.gain, -1.0, 1.0));
}

}  // namespace unmask::detect
