#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include "detect/audio_features.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

constexpr double kPi = std::numbers::pi;

// |sum_n w_n x_n e^{-2 pi i k n / N}|^2 computed directly, for one frame.
double direct_power(const std::vector<float>& x, size_t start, int frame_len, int n_fft, int k) {
  const auto w = hamming_window(frame_len);
  double re = 0, im = 0;
  for (int n = 0; n < frame_len; ++n) {
    const double v = x[start + n] * w[n];
    re += v * std::cos(2 * kPi * k * n / n_fft);
    im -= v * std::sin(2 * kPi * k * n / n_fft);
  }
  return re * re + im * im;
}

TEST(AudioFeatures, HammingWindowValues) {
  const auto w = hamming_window(5);
  ASSERT_EQ(w.size(), 5u);
  EXPECT_NEAR(w[0], 0.08, 1e-6);
  EXPECT_NEAR(w[1], 0.54, 1e-6);  // 0.54 - 0.46 cos(pi / 2)
  EXPECT_NEAR(w[2], 1.0, 1e-6);
  EXPECT_NEAR(w[4], 0.08, 1e-6);
}

TEST(AudioFeatures, ToneSpectrumPeaksAtItsBinAndMatchesADirectDft) {
  const Audio tone = testing::make_tone(1000.0, 0.5, 16000, 0.5);
  const FrameOptions fo;
  const auto power = power_spectrogram(tone.samples, 16000, fo);
  ASSERT_EQ(power.n_rows, 1 + (8000 - 400) / 160);
  ASSERT_EQ(power.n_cols, 257);
  for (int t = 0; t < power.n_rows; ++t) {
    int best = 0;
    for (int k = 1; k < power.n_cols; ++k) {
      if (power.at(t, k) > power.at(t, best)) best = k;
    }
    EXPECT_EQ(best, 32) << "frame " << t;  // 1000 Hz / (16000 / 512) = bin 32
  }
  for (int k : {0, 10, 32, 33, 200}) {
    const double want = direct_power(tone.samples, 160 * 7, 400, 512, k);
    EXPECT_NEAR(power.at(7, k), want, 1e-3 * want + 1e-6) << "bin " << k;
  }
  // Parseval-style magnitude: a windowed sine of amplitude A peaks near (A sum(w) / 2)^2.
  const auto w = hamming_window(400);
  double sum_w = 0;
  for (float v : w) sum_w += v;
  EXPECT_NEAR(std::sqrt(power.at(5, 32)), 0.5 * sum_w / 2, 0.05 * 0.5 * sum_w / 2);
}

TEST(AudioFeatures, MelFilterbankShapeAndToneBand) {
  const auto bank = mel_filterbank(40, 512, 16000);
  ASSERT_EQ(bank.n_bands, 40);
  ASSERT_EQ(bank.n_bins, 257);
  EXPECT_NEAR(hz_to_mel(1000.0), 1000.0, 0.5);  // the mel scale's anchor
  EXPECT_NEAR(mel_to_hz(hz_to_mel(3210.0)), 3210.0, 1e-6);
  for (int b = 1; b < 40; ++b) EXPECT_GT(bank.centre_hz[b], bank.centre_hz[b - 1]);
  const Audio tone = testing::make_tone(1000.0, 0.5, 16000, 0.5);
  const auto power = power_spectrogram(tone.samples, 16000);
  const auto mel = log_mel(power, 16000, 512, 40);
  int best = 0;
  for (int b = 1; b < 40; ++b) {
    if (mel.at(10, b) > mel.at(10, best)) best = b;
  }
  // The loudest band is the one whose centre is nearest 1 kHz (or its neighbour, which shares
  // the tone between two overlapping triangles).
  int nearest = 0;
  for (int b = 1; b < 40; ++b) {
    if (std::abs(bank.centre_hz[b] - 1000) < std::abs(bank.centre_hz[nearest] - 1000)) nearest = b;
  }
  EXPECT_LE(std::abs(best - nearest), 1);
  EXPECT_GT(mel.at(10, best), mel.at(10, 0) + 10.0);   // far above the lowest band
  EXPECT_GT(mel.at(10, best), mel.at(10, 39) + 10.0);  // and the highest
}

TEST(AudioFeatures, LfccMatchesADirectComputation) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  Audio a = testing::make_tone(1000.0, 0.3, 16000, 0.3);
  for (size_t i = 0; i < a.samples.size(); ++i) a.samples[i] += 0.2f * std::sin(2 * kPi * 2500.0 * i / 16000) + noise(rng);
  const auto power = power_spectrogram(a.samples, 16000);
  const auto c = lfcc(power, 16000, 512, 20, 20);
  ASSERT_EQ(c.n_cols, 20);
  ASSERT_EQ(c.n_rows, power.n_rows);
  // By hand: 20 triangles with edges every 8000 / 21 Hz, log energies, orthonormal DCT-II.
  const int t = 4;
  std::vector<double> logs(20);
  for (int b = 0; b < 20; ++b) {
    const double lo = 8000.0 * b / 21, mid = 8000.0 * (b + 1) / 21, hi = 8000.0 * (b + 2) / 21;
    double e = 0;
    for (int k = 0; k <= 256; ++k) {
      const double f = k * 31.25;
      const double w = f > lo && f <= mid ? (f - lo) / (mid - lo) : (f > mid && f < hi ? (hi - f) / (hi - mid) : 0.0);
      e += w * direct_power(a.samples, 160 * t, 400, 512, k);
    }
    logs[b] = std::log(e + 1e-10);
  }
  for (int k = 0; k < 20; ++k) {
    double want = 0;
    for (int n = 0; n < 20; ++n) want += logs[n] * std::cos(kPi * k * (2 * n + 1) / 40.0);
    want *= k == 0 ? std::sqrt(1.0 / 20) : std::sqrt(2.0 / 20);
    EXPECT_NEAR(c.at(t, k), want, 2e-3 * std::max(1.0, std::abs(want))) << "coefficient " << k;
  }
}

TEST(AudioFeatures, DeltasOfARampAreItsSlope) {
  FeatureMatrix x;
  x.n_rows = 20;
  x.n_cols = 2;
  for (int t = 0; t < 20; ++t) {
    x.values.push_back(2.0f * t);
    x.values.push_back(5.0f);
  }
  const auto full = with_deltas(x);
  ASSERT_EQ(full.n_cols, 6);
  for (int t = 4; t < 16; ++t) {
    EXPECT_NEAR(full.at(t, 2), 2.0, 1e-5);   // delta of the ramp
    EXPECT_NEAR(full.at(t, 3), 0.0, 1e-6);   // delta of the constant
    EXPECT_NEAR(full.at(t, 4), 0.0, 1e-5);   // delta-delta of the ramp
  }
  EXPECT_LT(full.at(0, 2), 2.0f);  // edges repeat the end value: a smaller slope there
}

// Bursts of a 440 Hz tone (0.5 s on, 0.5 s off) over faint noise.
Audio tone_bursts(double amplitude, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1e-4f);
  Audio a;
  a.sample_rate_hz = 16000;
  a.samples.resize(4 * 16000);
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const bool on = (i / 8000) % 2 == 1;
    a.samples[i] = noise(rng) + (on ? static_cast<float>(amplitude * std::sin(2 * kPi * 440.0 * i / 16000)) : 0.0f);
  }
  return a;
}

TEST(AudioFeatures, VadFindsToneBurstsWithHangoverAndNothingInSilence) {
  const Audio a = tone_bursts(0.3, 1);
  const auto speech = voice_activity(a);
  ASSERT_EQ(speech.size(), static_cast<size_t>(1 + (64000 - 400) / 160));
  for (size_t t = 0; t < speech.size(); ++t) {
    // Frame t covers [t * 10 ms, t * 10 ms + 25 ms); bursts cover [k + 0.5 s, k + 1 s).
    const double frac = std::fmod(t * 0.01, 1.0);
    if (frac >= 0.5 && frac + 0.025 <= 1.0) {
      EXPECT_TRUE(speech[t]) << "frame " << t << " inside a burst";
    }
    // Off once the burst and the 80 ms hangover are over, until just before the next burst.
    if (frac >= 0.15 && frac < 0.45) {
      EXPECT_FALSE(speech[t]) << "frame " << t << " in a gap";
    }
  }
  // The hangover: frames just after a burst stay on.
  EXPECT_TRUE(speech[100 + 3]);   // 1.03 s, 30 ms after the first burst
  EXPECT_FALSE(speech[100 + 20]); // 1.20 s

  Audio silence;
  silence.sample_rate_hz = 16000;
  silence.samples.assign(32000, 0.0f);
  const auto none = voice_activity(silence);
  EXPECT_EQ(std::count(none.begin(), none.end(), true), 0);
  // Steady faint noise has no dynamics above its own floor: not speech either.
  Audio hiss = tone_bursts(0.0, 2);
  const auto quiet = voice_activity(hiss);
  EXPECT_EQ(std::count(quiet.begin(), quiet.end(), true), 0);
}

TEST(AudioFeatures, ResampleKeepsAToneAndPrepareNormalisesLoudness) {
  const Audio tone48 = testing::make_tone(1000.0, 1.0, 48000, 0.5);
  const Audio tone16 = resample(tone48, 16000);
  EXPECT_EQ(tone16.sample_rate_hz, 16000);
  EXPECT_EQ(tone16.samples.size(), 16000u);
  EXPECT_NEAR(testing::dominant_frequency_hz(tone16, 100, 7900), 1000.0, 2.0);
  double sq = 0;
  for (size_t i = 1000; i < 15000; ++i) sq += tone16.samples[i] * tone16.samples[i];
  EXPECT_NEAR(std::sqrt(sq / 14000), 0.5 / std::sqrt(2.0), 0.01);
  // A 7 kHz tone cannot survive 8 kHz sampling (Nyquist 4 kHz): it is filtered, not aliased.
  const Audio high = resample(testing::make_tone(7000.0, 1.0, 48000, 0.5), 8000);
  double hsq = 0;
  for (size_t i = 200; i < 7800; ++i) hsq += high.samples[i] * high.samples[i];
  EXPECT_LT(std::sqrt(hsq / 7600), 0.01);

  const Audio loud = prepare_speech(tone_bursts(0.5, 3));
  const Audio soft = prepare_speech(tone_bursts(0.02, 3));
  auto burst_rms = [](const Audio& a) {
    double e = 0;
    for (size_t i = 8000 + 800; i < 16000 - 800; ++i) e += a.samples[i] * a.samples[i];
    return 20 * std::log10(std::sqrt(e / (8000 - 1600)));
  };
  EXPECT_NEAR(burst_rms(loud), burst_rms(soft), 0.5);
  EXPECT_NEAR(burst_rms(loud), -26.0, 1.5);
}

}  // namespace
}  // namespace unmask::detect
