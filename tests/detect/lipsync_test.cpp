#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "detect/detect.h"

namespace unmask::detect {
namespace {

constexpr double kFps = 25.0;

// Syllable-like activity: smooth bumps at random times (3-6 per second), 0..1.
std::vector<double> syllables(int n_frames, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> x(static_cast<size_t>(n_frames), 0.0);
  for (int t = 0; t < n_frames;) {
    const int width = 3 + static_cast<int>(u(rng) * 5);
    const double height = 0.4 + 0.6 * u(rng);
    for (int k = 0; k < width && t + k < n_frames; ++k) x[static_cast<size_t>(t + k)] += height * std::sin(M_PI * (k + 0.5) / width);
    t += width + static_cast<int>(u(rng) * 6);
  }
  return x;
}

// Envelope in dB of the same activity, delayed by `lag` frames, with noise.
std::vector<double> envelope_of(const std::vector<double>& act, int lag, double noise_db, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0, noise_db);
  std::vector<double> e(act.size());
  for (size_t t = 0; t < act.size(); ++t) {
    const int src = static_cast<int>(t) - lag;
    const double a = (src >= 0 && src < static_cast<int>(act.size())) ? act[static_cast<size_t>(src)] : 0.0;
    e[t] = 20 * std::log10(0.01 + a) + n(rng);
  }
  return e;
}

TEST(AvOffset, RecoversAKnownShift) {
  const auto act = syllables(250, 1);  // 10 s
  std::vector<double> mouth(act.size());
  std::mt19937 rng(2);
  std::normal_distribution<double> jitter(0, 0.02);
  for (size_t t = 0; t < act.size(); ++t) mouth[t] = 0.05 + 0.3 * act[t] + jitter(rng);
  for (int lag : {0, 8, -5, 13}) {
    auto o = estimate_av_offset(mouth, envelope_of(act, lag, 2.0, 3), kFps);
    ASSERT_TRUE(o.ok()) << o.status().message();
    EXPECT_NEAR(o->offset_ms, lag * 40, 40) << "lag " << lag;
    EXPECT_GT(o->correlation, 0.5);
    EXPECT_GT(o->confidence, 0.5);
  }
}

TEST(AvOffset, ShiftedAudioScoresHigherThanAligned) {
  const auto act = syllables(250, 4);
  std::vector<double> mouth(act.begin(), act.end());
  auto aligned = estimate_av_offset(mouth, envelope_of(act, 0, 2.0, 5), kFps);
  auto shifted = estimate_av_offset(mouth, envelope_of(act, 13, 2.0, 5), kFps);  // 520 ms
  auto other = estimate_av_offset(mouth, envelope_of(syllables(250, 99), 0, 2.0, 5), kFps);  // other speech
  ASSERT_TRUE(aligned.ok() && shifted.ok() && other.ok());
  EXPECT_LT(lipsync_mismatch_score(*aligned), 0.2);
  EXPECT_GT(lipsync_mismatch_score(*shifted), 0.7);
  EXPECT_GT(lipsync_mismatch_score(*other), 0.5);
}

TEST(AvOffset, NothingToJudgeIsAnInputErrorNotAGuess) {
  const std::vector<double> still(250, 0.1);
  const auto act = syllables(250, 6);
  EXPECT_EQ(estimate_av_offset(still, envelope_of(act, 0, 1.0, 7), kFps).status().code(), StatusCode::kInput);
  const std::vector<double> silence(250, -80.0);
  EXPECT_EQ(estimate_av_offset(act, silence, kFps).status().code(), StatusCode::kInput);
  const auto short_act = syllables(30, 8);  // 1.2 s
  EXPECT_EQ(estimate_av_offset(short_act, envelope_of(short_act, 0, 1.0, 9), kFps).status().code(), StatusCode::kInput);
}

TEST(Signals, MouthOpeningIsScaleFreeAndEnvelopeTracksLoudness) {
  face::Landmarks lm{};
  lm[36] = {100, 100};
  lm[45] = {160, 100};
  lm[61] = {120, 150}; lm[67] = {120, 162};
  lm[62] = {130, 150}; lm[66] = {130, 162};
  lm[63] = {140, 150}; lm[65] = {140, 162};
  face::Landmarks big = lm;
  for (auto& p : big) { p.x *= 2; p.y *= 2; }
  const auto open = mouth_opening({lm, big, std::nullopt});
  ASSERT_EQ(open.size(), 3u);
  EXPECT_NEAR(open[0], 12.0 / 60.0, 1e-9);
  EXPECT_NEAR(open[1], open[0], 1e-9);
  EXPECT_TRUE(std::isnan(open[2]));

  Audio a;
  a.sample_rate_hz = 16000;
  a.samples.assign(16000, 0.0f);
  for (size_t i = 8000; i < 16000; ++i) a.samples[i] = 0.5f * static_cast<float>(std::sin(i * 0.3));
  const auto env = speech_envelope(a, kFps);
  ASSERT_EQ(env.size(), 25u);
  EXPECT_LE(env[2], -79.0);
  EXPECT_NEAR(env[20], 20 * std::log10(0.5 / std::sqrt(2.0)), 0.5);
}

}  // namespace
}  // namespace unmask::detect
