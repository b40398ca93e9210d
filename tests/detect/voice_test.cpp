#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include "detect/audio_features.h"
#include "detect/registry_table.h"
#include "detect/voice.h"
#include "learn/learn.h"
#include "nn/nn.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

constexpr double kPi = std::numbers::pi;

// Speech-like audio: a 120-200 Hz buzz through two moving resonances, in syllables of 150-300 ms
// separated by short pauses, at `rate_hz`. Its harmonics reach 7.6 kHz (a weak floor above the
// resonances, as in a real voice), so it is wideband speech, not telephone-band.
Audio babble(double seconds, int rate_hz, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Audio a;
  a.sample_rate_hz = rate_hz;
  a.samples.assign(static_cast<size_t>(seconds * rate_hz), 0.0f);
  size_t i = static_cast<size_t>(0.2 * rate_hz);
  while (i < a.samples.size()) {
    const auto len = static_cast<size_t>((0.15 + 0.15 * u(rng)) * rate_hz);
    const double f0 = 120 + 80 * u(rng), f1 = 300 + 600 * u(rng), f2 = 1000 + 1500 * u(rng);
    for (size_t k = 0; k < len && i + k < a.samples.size(); ++k) {
      const double t = static_cast<double>(k) / rate_hz;
      const double env = std::sin(kPi * k / len);
      double v = 0;
      for (int h = 1; h * f0 < 7600 && 2 * h * f0 < rate_hz; ++h) {
        const double f = h * f0;
        const double gain = 1.0 / (1.0 + std::pow((f - f1) / 150, 2)) + 0.5 / (1.0 + std::pow((f - f2) / 250, 2)) + 0.03;
        v += gain * std::sin(2 * kPi * f * t);
      }
      a.samples[i + k] = static_cast<float>(0.1 * env * v);
    }
    i += len + static_cast<size_t>((0.05 + 0.2 * u(rng)) * rate_hz);
  }
  return a;
}

// A voice model file with random weights and identity normalisation, as train_voice writes it.
std::string write_model(const testing::TempDir& dir, const nn::Metadata& overrides = {}, int n_features = kVoiceFeatureCount) {
  auto spec = nn::default_spec("mlp");
  EXPECT_TRUE(spec.ok());
  spec->n_features = n_features;
  spec->widths = {8};
  auto net = nn::Trainable::create(*spec, 5, {});
  EXPECT_TRUE(net.ok());
  auto model = net->freeze();
  EXPECT_TRUE(model.ok());
  std::ostringstream zeros, ones;
  for (int i = 0; i < n_features; ++i) {
    zeros << (i ? " " : "") << 0;
    ones << (i ? " " : "") << 10;
  }
  nn::Metadata meta = {{"features", kVoiceFeatureVersion},
                       {"feature_mean", zeros.str()},
                       {"feature_std", ones.str()},
                       {"calibration", "platt -1 0"},
                       {"file_calibration", "platt -1 0"}};
  for (const auto& [k, v] : overrides) meta[k] = v;
  const std::string path = dir.file("voice.unm");
  EXPECT_TRUE(model->save(path, meta).is_ok());
  return path;
}

TEST(Voice, SilenceGivesNoScoreAndSpeechGivesWindows) {
  testing::TempDir dir;
  auto detector = load_voice_detector(write_model(dir));
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->info().kind, DetectorKind::kAudio);
  EXPECT_EQ((*detector)->info().name, "voice");

  Audio silence;
  silence.sample_rate_hz = 16000;
  silence.samples.assign(5 * 16000, 0.0f);
  auto r = (*detector)->score(silence);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());
  EXPECT_TRUE(r->segments.empty());
  EXPECT_EQ(r->note, "no speech found");

  // Faint steady noise is not speech either.
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 0.001f);
  for (float& s : silence.samples) s = n(rng);
  r = (*detector)->score(silence);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());

  // 7 s of babble at 22.05 kHz (resampled inside): 3 s windows with a 1.5 s hop.
  const Audio speech = babble(7.0, 22050, 2);
  r = (*detector)->score(speech);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->score.has_value());
  EXPECT_GE(r->segments.size(), 3u);
  for (const auto& s : r->segments) {
    EXPECT_GE(s.start_s, 0.0);
    EXPECT_LE(s.end_s, 7.0 + 1e-6);
    EXPECT_GT(s.end_s - s.start_s, 1.0);
    EXPECT_GE(s.score, 0.0);
    EXPECT_LE(s.score, 1.0);
  }
  // The same speech with 2 s of leading silence and 20 dB quieter: windows move, features of the
  // speech do not change much (loudness is normalised, silence is not scored).
  Audio padded = speech;
  for (float& s : padded.samples) s *= 0.1f;
  padded.samples.insert(padded.samples.begin(), 2 * 22050, 0.0f);
  const auto a = voice_windows(speech);
  const auto b = voice_windows(padded);
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_GE(b.front().start_s, 1.0);
  EXPECT_NEAR(a.front().features[0], b[1].features[0], 0.15 * std::abs(a.front().features[0]) + 0.5);
}

TEST(Voice, FileLogitIsTheMeanOfTheTopQuarter) {
  EXPECT_DOUBLE_EQ(voice_file_logit({}), 0.0);
  EXPECT_DOUBLE_EQ(voice_file_logit({-2.0}), -2.0);
  EXPECT_DOUBLE_EQ(voice_file_logit({1, 5, -3, 2, 0, 7, -1, 4}), 6.0);  // top 2 of 8: 7 and 5
}

TEST(Voice, WindowFeaturesHaveTheDocumentedLayout) {
  const auto windows = voice_windows(babble(4.0, 16000, 3));
  ASSERT_FALSE(windows.empty());
  for (const auto& w : windows) {
    ASSERT_EQ(w.features.size(), static_cast<size_t>(kVoiceFeatureCount));
    for (float v : w.features) EXPECT_TRUE(std::isfinite(v));
    for (int i = 60; i < kVoiceFeatureCount; ++i) EXPECT_GE(w.features[i], 0.0f);  // standard deviations
    EXPECT_GE(w.speech_s, 1.0);
  }
  // Under 0.5 s of speech: nothing to score.
  EXPECT_TRUE(voice_windows(babble(0.4, 16000, 4)).empty());
}

TEST(Voice, MissingOrCorruptModelIsAModelError) {
  testing::TempDir dir;
  EXPECT_EQ(load_voice_detector(dir.file("absent.unm")).status().code(), StatusCode::kModel);
  const std::string good = write_model(dir);
  auto bytes = read_file(good);
  ASSERT_TRUE(bytes.ok());
  std::string corrupt = *bytes;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  ASSERT_TRUE(write_file_atomic(dir.file("corrupt.unm"), corrupt).is_ok());
  EXPECT_EQ(load_voice_detector(dir.file("corrupt.unm")).status().code(), StatusCode::kModel);
  ASSERT_TRUE(write_file_atomic(dir.file("short.unm"), bytes->substr(0, bytes->size() / 3)).is_ok());
  EXPECT_EQ(load_voice_detector(dir.file("short.unm")).status().code(), StatusCode::kModel);
  // A valid network file that is not a voice model: other features, no calibration.
  EXPECT_EQ(load_voice_detector(write_model(dir, {{"features", "spectral-v1"}})).status().code(), StatusCode::kModel);
  EXPECT_EQ(load_voice_detector(write_model(dir, {{"calibration", "none"}})).status().code(), StatusCode::kModel);
  EXPECT_EQ(load_voice_detector(write_model(dir, {{"file_calibration", ""}})).status().code(), StatusCode::kModel);
  EXPECT_EQ(load_voice_detector(write_model(dir, {{"feature_std", "1 2 3"}})).status().code(), StatusCode::kModel);
  EXPECT_EQ(load_voice_detector(write_model(dir, {}, 12)).status().code(), StatusCode::kModel);
  // Through the registry: the set loader names the file.
  DetectorSet set;
  const auto st = load_voice(dir.file("nowhere"), set);
  EXPECT_EQ(st.code(), StatusCode::kModel);
  EXPECT_NE(st.message().find("voice.unm"), std::string::npos);
}

TEST(Voice, GriffinLimResynthesisKeepsLengthAndPitch) {
  const Audio tone = testing::make_tone(440.0, 1.0, 16000, 0.4);
  const Audio out = griffin_lim_resynthesis(tone, 80, 16, 3);
  ASSERT_EQ(out.samples.size(), tone.samples.size());
  EXPECT_EQ(out.sample_rate_hz, 16000);
  EXPECT_NEAR(testing::dominant_frequency_hz(out, 100, 4000), 440.0, 15.0);
  double e = 0;
  for (size_t i = 2000; i < 14000; ++i) e += out.samples[i] * out.samples[i];
  const double rms = std::sqrt(e / 12000);
  EXPECT_GT(rms, 0.1);
  EXPECT_LT(rms, 0.5);
  // Deterministic in the seed.
  EXPECT_EQ(griffin_lim_resynthesis(tone, 80, 4, 9).samples, griffin_lim_resynthesis(tone, 80, 4, 9).samples);
}

TEST(Voice, MelVocoderAtOtherRatesAndWithDonorPhaseKeepsLengthAndPitch) {
  // Tacotron2-style settings at 22.05 kHz: 1024-point DFT, hop 256, mel bands up to 8 kHz.
  const Audio tone = testing::make_tone(440.0, 1.0, 22050, 0.4);
  VocoderOptions o;
  o.n_fft = 1024;
  o.hop = 256;
  o.f_max_hz = 8000;
  o.n_iterations = 4;
  const Audio out = mel_vocoder_resynthesis(tone, o);
  ASSERT_EQ(out.samples.size(), tone.samples.size());
  EXPECT_NEAR(testing::dominant_frequency_hz(out, 100, 4000), 440.0, 15.0);
  // The defaults are griffin_lim_resynthesis.
  const Audio speech = babble(3.0, 16000, 4);
  EXPECT_EQ(mel_vocoder_resynthesis(speech, VocoderOptions{}).samples, griffin_lim_resynthesis(speech).samples);
  // The phase of another stretch of the utterance, no iterations: same length and loudness range,
  // not the random-phase result.
  VocoderOptions donor;
  donor.donor_phase_shift_s = 1.0;
  donor.n_iterations = 0;
  VocoderOptions random = donor;
  random.donor_phase_shift_s = 0.0;
  const Audio a = mel_vocoder_resynthesis(speech, donor), b = mel_vocoder_resynthesis(speech, random);
  ASSERT_EQ(a.samples.size(), speech.samples.size());
  EXPECT_NE(a.samples, b.samples);
  auto rms = [](const Audio& x) {
    double e = 0;
    for (float v : x.samples) e += double(v) * v;
    return std::sqrt(e / x.samples.size());
  };
  EXPECT_GT(rms(a), 0.2 * rms(speech));
  EXPECT_LT(rms(a), 2.0 * rms(speech));
  // Options it cannot honour leave the clip as it is.
  VocoderOptions bad;
  bad.n_fft = 511;
  EXPECT_EQ(mel_vocoder_resynthesis(speech, bad).samples, speech.samples);
}

TEST(Voice, LpcResynthesisKeepsPitchAndFormantAndSilence) {
  // A 150 Hz buzz through one resonance at 800 Hz.
  constexpr int kRate = 16000;
  Audio buzz;
  buzz.sample_rate_hz = kRate;
  buzz.samples.resize(kRate);
  for (int i = 0; i < kRate; ++i) {
    double v = 0;
    for (int h = 1; h * 150 < 4000; ++h) v += std::sin(2 * kPi * h * 150 * i / kRate) / (1.0 + std::pow((h * 150 - 800) / 120.0, 2));
    buzz.samples[i] = static_cast<float>(0.2 * v);
  }
  const Audio out = lpc_resynthesis(buzz, 18, 0.05, 3);
  ASSERT_EQ(out.samples.size(), buzz.samples.size());
  EXPECT_EQ(out.sample_rate_hz, kRate);
  for (float v : out.samples) ASSERT_TRUE(std::isfinite(v));
  EXPECT_NEAR(testing::dominant_frequency_hz(out, 300, 4000), 800.0, 100.0);
  // The pulse train repeats at the buzz's period (16000 / 150 = 107 samples).
  int best_lag = 0;
  double best = -1e300;
  for (int lag = 40; lag <= 266; ++lag) {
    double c = 0;
    for (int i = 2000; i + lag < 14000; ++i) c += double(out.samples[i]) * out.samples[i + lag];
    if (c > best) { best = c; best_lag = lag; }
  }
  EXPECT_NEAR(best_lag, 107, 3);
  EXPECT_EQ(lpc_resynthesis(buzz, 18, 0.05, 3).samples, out.samples);  // deterministic in the seed
  Audio silence = buzz;
  std::fill(silence.samples.begin(), silence.samples.end(), 0.0f);
  const Audio quiet = lpc_resynthesis(silence);
  float peak = 0;
  for (float v : quiet.samples) peak = std::max(peak, std::abs(v));
  EXPECT_LT(peak, 1e-3f);
}

// A version-2 voice model file (the patch CNN) with random weights and identity band normalisation.
std::string write_cnn_model(const testing::TempDir& dir, const nn::Metadata& overrides = {}, uint64_t seed = 5,
                            const std::string& name = "voice_cnn.unm") {
  auto spec = nn::default_spec("blend_cnn_tiny");
  EXPECT_TRUE(spec.ok());
  spec->in_channels = 1;
  spec->input_size_px = kVoicePatchFrames;
  spec->widths = {4, 4, 8, 8, 8, 8};
  auto net = nn::Trainable::create(*spec, seed, {});
  EXPECT_TRUE(net.ok());
  auto model = net->freeze();
  EXPECT_TRUE(model.ok());
  std::ostringstream zeros, ones;
  for (int i = 0; i < kVoicePatchBands; ++i) {
    zeros << (i ? " " : "") << 0;
    ones << (i ? " " : "") << 5;
  }
  nn::Metadata meta = {{"features", kVoiceCnnFeatureVersion},
                       {"band_mean", zeros.str()},
                       {"band_std", ones.str()},
                       {"calibration", "platt 1 0"},
                       {"file_calibration", "platt 1 0"}};
  for (const auto& [k, v] : overrides) meta[k] = v;
  const std::string path = dir.file(name);
  EXPECT_TRUE(model->save(path, meta).is_ok());
  return path;
}

TEST(Voice, PatchesCoverTheSpeechAndWindowsShareThem) {
  const Audio speech = babble(7.0, 16000, 5);
  const auto vp = voice_patches(speech);
  ASSERT_FALSE(vp.windows.empty());
  ASSERT_EQ(vp.windows.size(), vp.window_patches.size());
  EXPECT_EQ(vp.windows.size(), voice_windows(speech).size());  // the same windows as version 1
  std::vector<int> uses(vp.patches.size(), 0);
  for (size_t w = 0; w < vp.windows.size(); ++w) {
    ASSERT_FALSE(vp.window_patches[w].empty());
    for (int k : vp.window_patches[w]) {
      ASSERT_GE(k, 0);
      ASSERT_LT(k, static_cast<int>(vp.patches.size()));
      ++uses[static_cast<size_t>(k)];
    }
  }
  // Windows overlap by half: some patches serve two windows, none is computed twice.
  EXPECT_GT(*std::max_element(uses.begin(), uses.end()), 1);
  EXPECT_EQ(std::count(uses.begin(), uses.end(), 0), 0);
  // 7 s at a 0.3 s patch grid: at most one patch per grid point.
  EXPECT_LE(vp.patches.size(), 700u / 30u + 1);
  for (const auto& p : vp.patches) {
    ASSERT_EQ(p.size(), static_cast<size_t>(kVoicePatchBands * kVoicePatchFrames));
    for (float v : p) ASSERT_TRUE(std::isfinite(v));
  }
  // The babble's energy sits below 4 kHz: low bands carry more than the top ones on average.
  double low = 0, high = 0;
  for (const auto& p : vp.patches) {
    for (int t = 0; t < kVoicePatchFrames; ++t) {
      low += p[static_cast<size_t>(5) * kVoicePatchFrames + t];
      high += p[static_cast<size_t>(60) * kVoicePatchFrames + t];
    }
  }
  EXPECT_GT(low, high);
  // A coarser grid gives fewer patches; a grid that does not divide the 150-frame hop gives none.
  EXPECT_LT(voice_patches(speech, 50).patches.size(), vp.patches.size());
  EXPECT_TRUE(voice_patches(speech, 40).windows.empty());
  // Silence and under 0.5 s of speech: nothing.
  Audio silence;
  silence.sample_rate_hz = 16000;
  silence.samples.assign(3 * 16000, 0.0f);
  EXPECT_TRUE(voice_patches(silence).windows.empty());
  EXPECT_TRUE(voice_patches(babble(0.4, 16000, 4)).windows.empty());
}

TEST(Voice, CnnModelScoresSpeechAndNotSilence) {
  testing::TempDir dir;
  auto detector = load_voice_detector(write_cnn_model(dir));
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->info().version, "2");
  Audio silence;
  silence.sample_rate_hz = 16000;
  silence.samples.assign(4 * 16000, 0.0f);
  auto r = (*detector)->score(silence);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());
  EXPECT_EQ(r->note, "no speech found");
  const Audio speech = babble(7.0, 22050, 2);
  r = (*detector)->score(speech);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->score.has_value());
  EXPECT_EQ(r->segments.size(), voice_patches(speech).windows.size());
  for (const auto& s : r->segments) {
    EXPECT_GE(s.score, 0.0);
    EXPECT_LE(s.score, 1.0);
  }
  // Deterministic.
  auto again = (*detector)->score(speech);
  ASSERT_TRUE(again.ok());
  EXPECT_DOUBLE_EQ(*again->score, *r->score);
  // Broken version-2 files are model errors.
  EXPECT_EQ(load_voice_detector(write_cnn_model(dir, {{"band_std", "1 2"}})).status().code(), StatusCode::kModel);
  EXPECT_EQ(load_voice_detector(write_cnn_model(dir, {{"calibration", ""}})).status().code(), StatusCode::kModel);
  // Version-2 features on the MLP, or version-1 features on the CNN: not a voice model.
  EXPECT_EQ(load_voice_detector(write_model(dir, {{"features", kVoiceCnnFeatureVersion}})).status().code(), StatusCode::kModel);
  EXPECT_EQ(load_voice_detector(write_cnn_model(dir, {{"features", kVoiceFeatureVersion}})).status().code(), StatusCode::kModel);
}

std::string file_bytes(const std::string& path) {
  auto b = read_file(path);
  EXPECT_TRUE(b.ok());
  return b.ok() ? *b : std::string();
}

TEST(VoiceEnsemble, WindowLogitsAreTheMeanOfTheMembers) {
  testing::TempDir dir;
  // Two tiny networks with different weights and different band standardisations.
  std::ostringstream means;
  for (int i = 0; i < kVoicePatchBands; ++i) means << (i ? " " : "") << -3 + 0.05 * i;
  const std::string a = write_cnn_model(dir, {}, 5, "a.unm");
  const std::string b = write_cnn_model(dir, {{"band_mean", means.str()}}, 11, "b.unm");
  const std::string ens = dir.file("ens.unm");
  ASSERT_TRUE(write_voice_ensemble(ens, {file_bytes(a), file_bytes(b)},
                                   {{"calibration", "platt -2 0.5"}, {"file_calibration", "platt -1.5 -0.25"}, {"seeds", "5 11"}})
                  .is_ok());
  auto da = load_voice_detector(a), db = load_voice_detector(b), de = load_voice_detector(ens);
  ASSERT_TRUE(da.ok() && db.ok());
  ASSERT_TRUE(de.ok()) << de.status().message();
  EXPECT_EQ((*de)->info().version, "2x2");
  EXPECT_EQ((*de)->info().model_sha256.size(), 64u);
  EXPECT_NE((*de)->info().model_sha256, (*da)->info().model_sha256);
  const Audio speech = babble(8.0, 16000, 9);
  auto la = voice_window_logits(**da, speech), lb = voice_window_logits(**db, speech), le = voice_window_logits(**de, speech);
  ASSERT_TRUE(la.ok() && lb.ok() && le.ok());
  ASSERT_GE(le->logits.size(), 3u);
  ASSERT_EQ(la->logits.size(), le->logits.size());
  ASSERT_EQ(lb->logits.size(), le->logits.size());
  double max_gap = 0;
  for (size_t w = 0; w < le->logits.size(); ++w) {
    EXPECT_NEAR(le->logits[w], 0.5 * (la->logits[w] + lb->logits[w]), 1e-5);
    max_gap = std::max(max_gap, std::abs(la->logits[w] - lb->logits[w]));
  }
  EXPECT_GT(max_gap, 1e-3);  // the members differ, so the mean is not just one of them
  // File score: the ensemble's own file scaling of the top-quarter statistic of the mean logits.
  auto r = (*de)->score(speech);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->score.has_value());
  const double stat = voice_file_logit(le->logits);
  EXPECT_NEAR(*r->score, 1.0 / (1.0 + std::exp(-1.5 * stat - 0.25)), 1e-9);
  ASSERT_EQ(r->segments.size(), le->logits.size());
  EXPECT_NEAR(r->segments[0].score, 1.0 / (1.0 + std::exp(-2.0 * le->logits[0] + 0.5)), 1e-9);
  // Streaming gives the same as the whole recording.
  auto source = memory_audio_source(speech);
  auto streamed = (*de)->score_stream(*source);
  ASSERT_TRUE(streamed.ok()) << streamed.status().message();
  ASSERT_TRUE(streamed->score.has_value());
  EXPECT_NEAR(*streamed->score, *r->score, 1e-6);
}

TEST(VoiceEnsemble, OneMemberScoresExactlyAsTheModel) {
  testing::TempDir dir;
  const std::string a = write_cnn_model(dir, {{"calibration", "platt -1.25 0.5"}, {"file_calibration", "platt -0.75 0.1"}}, 7, "a.unm");
  const std::string ens = dir.file("one.unm");
  ASSERT_TRUE(write_voice_ensemble(ens, {file_bytes(a)}, {{"calibration", "platt -1.25 0.5"}, {"file_calibration", "platt -0.75 0.1"}}).is_ok());
  auto single = load_voice_detector(a), one = load_voice_detector(ens);
  ASSERT_TRUE(single.ok() && one.ok());
  EXPECT_EQ((*one)->info().version, "2x1");
  const Audio speech = babble(6.0, 22050, 3);
  auto rs = (*single)->score(speech), ro = (*one)->score(speech);
  ASSERT_TRUE(rs.ok() && ro.ok());
  ASSERT_TRUE(rs->score.has_value() && ro->score.has_value());
  EXPECT_EQ(*ro->score, *rs->score);
  ASSERT_EQ(ro->segments.size(), rs->segments.size());
  for (size_t i = 0; i < rs->segments.size(); ++i) EXPECT_EQ(ro->segments[i].score, rs->segments[i].score);
  // Silence: no score, as the single model.
  Audio silence;
  silence.sample_rate_hz = 16000;
  silence.samples.assign(3 * 16000, 0.0f);
  auto rz = (*one)->score(silence);
  ASSERT_TRUE(rz.ok());
  EXPECT_FALSE(rz->score.has_value());
}

TEST(VoiceEnsemble, CorruptOrWrongMembersAreModelErrors) {
  testing::TempDir dir;
  const std::string a = write_cnn_model(dir, {}, 5, "a.unm");
  const std::string b = write_cnn_model(dir, {}, 6, "b.unm");
  const std::map<std::string, std::string> cal = {{"calibration", "platt -1 0"}, {"file_calibration", "platt -1 0"}};
  const std::string path = dir.file("ens.unm");
  // A member with a flipped byte in its weights (the ensemble's own checksum is valid).
  std::string bad = file_bytes(b);
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
  ASSERT_TRUE(write_voice_ensemble(path, {file_bytes(a), bad}, cal).is_ok());
  auto r = load_voice_detector(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kModel);
  EXPECT_NE(r.status().message().find("member 2 of 2"), std::string::npos) << r.status().message();
  // A truncated member.
  ASSERT_TRUE(write_voice_ensemble(path, {file_bytes(a).substr(0, 1000), file_bytes(b)}, cal).is_ok());
  r = load_voice_detector(path);
  EXPECT_EQ(r.status().code(), StatusCode::kModel);
  EXPECT_NE(r.status().message().find("member 1 of 2"), std::string::npos) << r.status().message();
  // A version-1 (MLP) member.
  ASSERT_TRUE(write_voice_ensemble(path, {file_bytes(a), file_bytes(write_model(dir))}, cal).is_ok());
  EXPECT_EQ(load_voice_detector(path).status().code(), StatusCode::kModel);
  // A member without its band standardisation.
  ASSERT_TRUE(write_voice_ensemble(path, {file_bytes(write_cnn_model(dir, {{"band_mean", ""}}, 5, "c.unm"))}, cal).is_ok());
  EXPECT_EQ(load_voice_detector(path).status().code(), StatusCode::kModel);
  // A good ensemble, then its bytes damaged: checksum, truncation.
  ASSERT_TRUE(write_voice_ensemble(path, {file_bytes(a), file_bytes(b)}, cal).is_ok());
  ASSERT_TRUE(load_voice_detector(path).ok());
  std::string good = file_bytes(path);
  std::string flipped = good;
  flipped[good.size() / 3] = static_cast<char>(flipped[good.size() / 3] ^ 1);
  ASSERT_TRUE(write_file_atomic(path, flipped).is_ok());
  r = load_voice_detector(path);
  EXPECT_EQ(r.status().code(), StatusCode::kModel);
  EXPECT_NE(r.status().message().find("ens.unm"), std::string::npos);
  ASSERT_TRUE(write_file_atomic(path, good.substr(0, good.size() - 100)).is_ok());
  EXPECT_EQ(load_voice_detector(path).status().code(), StatusCode::kModel);
  // Missing calibration in the ensemble header.
  std::string no_cal = std::string(kVoiceEnsembleMagic) + "file_calibration platt -1 0\nmember " + std::to_string(file_bytes(a).size()) +
                       "\n" + file_bytes(a);
  no_cal += "sha256 " + sha256_hex(no_cal) + "\n";
  ASSERT_TRUE(write_file_atomic(path, no_cal).is_ok());
  EXPECT_EQ(load_voice_detector(path).status().code(), StatusCode::kModel);
  // The writer refuses no member and missing scalings.
  EXPECT_EQ(write_voice_ensemble(path, {}, cal).code(), StatusCode::kUsage);
  EXPECT_EQ(write_voice_ensemble(path, {file_bytes(a)}, {{"calibration", "platt -1 0"}}).code(), StatusCode::kUsage);
  // The old single-network file still loads.
  EXPECT_TRUE(load_voice_detector(a).ok());
}

// Five members (the shipped ensemble grew from three to five): the packer fits the scalings on
// exactly the manifest rows some member's seed held out, each scored by the mean of the members
// that held it out, and the packed file scores windows by the mean of all five.
TEST(VoiceEnsemble, PackingFiveMembersFitsOnTheRowsTheirSeedsHeldOut) {
  testing::TempDir dir;
  constexpr int kMembers = 5, kRows = 16;
  std::vector<std::string> members;
  for (int m = 0; m < kMembers; ++m) {
    std::ostringstream means;
    for (int i = 0; i < kVoicePatchBands; ++i) means << (i ? " " : "") << -0.5 * m + 0.02 * i;
    members.push_back(write_cnn_model(dir, {{"seed", std::to_string(m + 1)}, {"band_mean", means.str()}}, 20 + m,
                                      "m" + std::to_string(m + 1) + ".unm"));
  }
  std::vector<std::string> wavs;
  for (int r = 0; r < kRows; ++r) {
    wavs.push_back(dir.file("row" + std::to_string(r) + ".wav"));
    testing::write_wav(wavs.back(), babble(3.5 + 0.25 * (r % 3), 16000, 100 + r));
  }
  auto write_manifest = [&](const std::vector<int>& labels) {
    std::string csv = "path,kind,label\n";
    for (int r = 0; r < kRows; ++r) csv += wavs[r] + ",audio," + (labels[r] ? "fake" : "real") + "\n";
    const std::string path = dir.file("train.csv");
    EXPECT_TRUE(write_file_atomic(path, csv).is_ok());
    return path;
  };
  // The groups do not depend on the labels: read them once, then label the held-out rows
  // alternately so both classes are among them.
  auto groups = voice_manifest_groups(write_manifest(std::vector<int>(kRows, 0)));
  ASSERT_TRUE(groups.ok()) << groups.status().message();
  ASSERT_EQ(groups->rows.size(), static_cast<size_t>(kRows));
  std::vector<std::set<int>> held;
  for (int m = 0; m < kMembers; ++m) held.push_back(voice_validation_groups(m + 1, groups->n_groups));
  std::vector<int> labels(kRows, 0), fitted_rows;
  for (int r = 0; r < kRows; ++r) {
    for (const auto& h : held) {
      if (h.count(groups->rows[r].group)) {
        labels[r] = static_cast<int>(fitted_rows.size() % 2);
        fitted_rows.push_back(r);
        break;
      }
    }
  }
  ASSERT_GE(fitted_rows.size(), 2u);
  ASSERT_LT(fitted_rows.size(), static_cast<size_t>(kRows));  // some rows every member trained on
  const std::string manifest = write_manifest(labels);

  // The expected fit, computed here from the members one by one.
  std::vector<std::shared_ptr<const AudioDetector>> dets;
  for (const auto& path : members) {
    auto d = load_voice_detector(path);
    ASSERT_TRUE(d.ok()) << d.status().message();
    dets.push_back(*d);
  }
  std::vector<double> stats, windows;
  std::vector<int> stat_labels, window_labels;
  bool some_row_partly_held = false;
  for (int r : fitted_rows) {
    std::vector<double> sum;
    int n = 0;
    for (int m = 0; m < kMembers; ++m) {
      if (!held[m].count(groups->rows[r].group)) continue;
      auto l = voice_window_logits(*dets[m], groups->rows[r].audio);
      ASSERT_TRUE(l.ok());
      ASSERT_FALSE(l->logits.empty());
      if (sum.empty()) sum.assign(l->logits.size(), 0.0);
      for (size_t w = 0; w < sum.size(); ++w) sum[w] += l->logits[w];
      ++n;
    }
    some_row_partly_held = some_row_partly_held || n < kMembers;
    for (double& v : sum) v /= n;
    stats.push_back(voice_file_logit(sum));
    stat_labels.push_back(labels[r]);
    for (double v : sum) {
      windows.push_back(v);
      window_labels.push_back(labels[r]);
    }
  }
  EXPECT_TRUE(some_row_partly_held);
  learn::PlattScaling file_platt, window_platt;
  ASSERT_TRUE(file_platt.fit(stats, stat_labels).is_ok());
  ASSERT_TRUE(window_platt.fit(windows, window_labels).is_ok());

  const std::string out = dir.file("five.unm");
  auto fit = pack_voice_ensemble(out, members, manifest, "test");
  ASSERT_TRUE(fit.ok()) << fit.status().message();
  EXPECT_EQ(fit->n_files, static_cast<int>(fitted_rows.size()));
  EXPECT_EQ(fit->n_windows, static_cast<int>(windows.size()));
  EXPECT_EQ(fit->member_report.size(), static_cast<size_t>(kMembers));
  EXPECT_EQ(fit->file_calibration, file_platt.serialize());
  EXPECT_EQ(fit->calibration, window_platt.serialize());

  auto ens = load_voice_detector(out);
  ASSERT_TRUE(ens.ok()) << ens.status().message();
  EXPECT_EQ((*ens)->info().version, "2x5");
  const Audio speech = babble(8.0, 22050, 31);
  auto le = voice_window_logits(**ens, speech);
  ASSERT_TRUE(le.ok());
  ASSERT_GE(le->logits.size(), 3u);
  std::vector<double> mean(le->logits.size(), 0.0);
  for (const auto& d : dets) {
    auto l = voice_window_logits(*d, speech);
    ASSERT_TRUE(l.ok());
    ASSERT_EQ(l->logits.size(), mean.size());
    for (size_t w = 0; w < mean.size(); ++w) mean[w] += l->logits[w] / kMembers;
  }
  for (size_t w = 0; w < mean.size(); ++w) EXPECT_NEAR(le->logits[w], mean[w], 1e-5);
  // The card lists the five members, in order, with their seeds.
  auto card = read_file(dir.file("five.card.json"));
  ASSERT_TRUE(card.ok());
  size_t pos = 0;
  for (int m = 1; m <= kMembers; ++m) {
    pos = card->find("\"seed\": " + std::to_string(m), pos);
    EXPECT_NE(pos, std::string::npos) << "seed " << m;
  }
  EXPECT_NE(card->find("\"version\": \"2x5\""), std::string::npos);
}

TEST(VoiceEnsemble, ValidationGroupsAreSeededFifteenPercent) {
  const auto g1 = voice_validation_groups(1, 300), g1b = voice_validation_groups(1, 300), g2 = voice_validation_groups(2, 300);
  EXPECT_EQ(g1, g1b);
  EXPECT_EQ(g1.size(), 45u);
  EXPECT_EQ(g2.size(), 45u);
  EXPECT_NE(g1, g2);
  for (int g : g1) {
    EXPECT_GE(g, 0);
    EXPECT_LT(g, 300);
  }
  EXPECT_EQ(voice_validation_groups(3, 4).size(), 1u);
  EXPECT_TRUE(voice_validation_groups(3, 0).empty());
}

// The bands and frames a mask covers: those whose every value equals the band's fill.
std::pair<std::vector<int>, std::vector<int>> masked_bands_and_frames(const std::vector<float>& patch,
                                                                     const std::vector<float>& fill) {
  std::vector<int> bands, frames;
  for (int b = 0; b < kVoicePatchBands; ++b) {
    bool all = true;
    for (int t = 0; t < kVoicePatchFrames; ++t) all = all && patch[static_cast<size_t>(b) * kVoicePatchFrames + t] == fill[b];
    if (all) bands.push_back(b);
  }
  for (int t = 0; t < kVoicePatchFrames; ++t) {
    bool all = true;
    for (int b = 0; b < kVoicePatchBands; ++b) all = all && patch[static_cast<size_t>(b) * kVoicePatchFrames + t] == fill[b];
    if (all) frames.push_back(t);
  }
  return {bands, frames};
}

// Every band and frame is covered by at most two stretches of at most `width` (so at most two runs
// of adjacent indices, 2 * width in all), and at least one.
void expect_stretches(const std::vector<int>& idx, int width, const std::string& what) {
  ASSERT_FALSE(idx.empty()) << what;
  EXPECT_LE(static_cast<int>(idx.size()), 2 * width) << what;
  int runs = 1;
  for (size_t i = 1; i < idx.size(); ++i) runs += idx[i] != idx[i - 1] + 1;
  EXPECT_LE(runs, 2) << what;
}

TEST(VoiceMasking, MaskedBandsAndFramesSitAtTheBandMeanAndTheRestIsUntouched) {
  std::mt19937 rng(11);
  std::normal_distribution<float> n(0, 1);
  std::vector<float> fill(kVoicePatchBands), patch(static_cast<size_t>(kVoicePatchBands) * kVoicePatchFrames);
  for (int b = 0; b < kVoicePatchBands; ++b) fill[b] = -3.0f + 0.1f * b;  // a distinct mean per band
  for (auto& v : patch) v = n(rng) + 10.0f;                                // never equal to a fill
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    std::vector<float> masked = patch;
    voice_mask_patch(masked, fill, seed);
    const auto [bands, frames] = masked_bands_and_frames(masked, fill);
    expect_stretches(bands, 8, "bands, seed " + std::to_string(seed));
    expect_stretches(frames, 8, "frames, seed " + std::to_string(seed));
    // Outside the masked bands and frames every value is the original.
    for (int b = 0; b < kVoicePatchBands; ++b) {
      if (std::find(bands.begin(), bands.end(), b) != bands.end()) continue;
      for (int t = 0; t < kVoicePatchFrames; ++t) {
        if (std::find(frames.begin(), frames.end(), t) != frames.end()) continue;
        const size_t k = static_cast<size_t>(b) * kVoicePatchFrames + t;
        ASSERT_EQ(masked[k], patch[k]) << "band " << b << " frame " << t << " seed " << seed;
      }
    }
  }
}

TEST(VoiceMasking, TheMaskIsAFunctionOfTheSeed) {
  std::vector<float> fill(kVoicePatchBands, 0.0f), patch(static_cast<size_t>(kVoicePatchBands) * kVoicePatchFrames, 1.0f);
  std::set<std::pair<std::vector<int>, std::vector<int>>> distinct;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<float> a = patch, b = patch;
    voice_mask_patch(a, fill, seed);
    voice_mask_patch(b, fill, seed);
    EXPECT_EQ(a, b) << "seed " << seed;
    distinct.insert(masked_bands_and_frames(a, fill));
  }
  EXPECT_GE(distinct.size(), 15u);  // 20 seeds: (nearly) all masks differ
  // With no masks asked for, nothing changes.
  std::vector<float> c = patch;
  voice_mask_patch(c, fill, 3, VoiceMaskOptions{0, 8, 0, 8});
  EXPECT_EQ(c, patch);
}

// A toy set of standardised patches: synthetic ones carry a +1.5 ridge over bands 20-43 (wider
// than any two masks), real ones a -1.5 ridge, both over noise.
learn::InMemoryDataset ridge_patches(int n, uint32_t seed) {
  learn::InMemoryDataset set({1, kVoicePatchBands, kVoicePatchFrames});
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0, 1);
  for (int i = 0; i < n; ++i) {
    const int label = i % 2;
    std::vector<float> p(static_cast<size_t>(kVoicePatchBands) * kVoicePatchFrames);
    for (int b = 0; b < kVoicePatchBands; ++b) {
      for (int t = 0; t < kVoicePatchFrames; ++t) {
        p[static_cast<size_t>(b) * kVoicePatchFrames + t] = noise(rng) + ((b >= 20 && b < 44) ? (label ? 1.5f : -1.5f) : 0.0f);
      }
    }
    EXPECT_TRUE(set.add(std::move(p), static_cast<float>(label)).is_ok());
  }
  return set;
}

TEST(VoiceMasking, MaskedDatasetMasksEachDrawAndTrainingOnItStillLearns) {
  const learn::InMemoryDataset base = ridge_patches(96, 4);
  const VoiceMaskedDataset masked(base);
  ASSERT_EQ(masked.size(), base.size());
  const std::vector<float> zeros(kVoicePatchBands, 0.0f);
  auto plain = base.get(5, 0);
  auto a = masked.get(5, 77), b = masked.get(5, 77), c = masked.get(5, 78);
  ASSERT_TRUE(plain.ok() && a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->input, b->input);  // reproducible in (index, seed)
  EXPECT_NE(a->input, c->input);  // another draw, another mask
  EXPECT_EQ(a->label, plain->label);
  const auto [bands, frames] = masked_bands_and_frames(a->input, zeros);
  expect_stretches(bands, 8, "bands");
  expect_stretches(frames, 8, "frames");
  int changed = 0;
  for (size_t k = 0; k < a->input.size(); ++k) changed += a->input[k] != plain->input[k];
  EXPECT_GE(changed, kVoicePatchFrames + kVoicePatchBands - 1);  // at least one band and one frame

  auto spec = nn::default_spec("blend_cnn_tiny");
  ASSERT_TRUE(spec.ok());
  spec->in_channels = 1;
  spec->input_size_px = kVoicePatchFrames;
  spec->boundary_head = false;
  spec->widths = {4, 4, 8, 8, 8, 8};
  learn::TrainConfig cfg;
  cfg.epochs = 5;
  cfg.batch_size = 16;
  cfg.seed = 2;
  cfg.optimizer.learning_rate = 3e-3;
  const learn::InMemoryDataset val = ridge_patches(32, 9);
  auto result = learn::train_binary(*spec, masked, &val, cfg);
  ASSERT_TRUE(result.ok()) << result.status().message();
  ASSERT_EQ(result->history.size(), 5u);
  EXPECT_LT(result->history.back().train_loss, 0.8 * result->history.front().train_loss);
  EXPECT_GT(result->history.back().val_auc, 0.9);
}

// Options the trainer cannot honour are refused before any data is read.
TEST(VoiceTraining, RefusesABadMixupAlphaAndMixupOnTheMlp) {
  TrainRequest req;
  req.manifest_path = "/nonexistent/manifest.csv";
  req.out_path = "/nonexistent/voice.unm";
  for (double alpha : {-0.5, std::nan("")}) {
    VoiceTrainOptions options;
    options.mixup_alpha = alpha;
    EXPECT_EQ(train_voice_model(req, "cnn", options).status().code(), StatusCode::kUsage) << alpha;
  }
  VoiceTrainOptions options;
  options.mixup_alpha = 0.4;
  EXPECT_EQ(train_voice_model(req, "mlp", options).status().code(), StatusCode::kUsage);
}

TEST(Voice, LossyCodecRoundTripKeepsTheSoundInPlace) {
  const Audio tone = testing::make_tone(440.0, 1.5, 16000, 0.4);
  for (const auto& [encoder, rate, bitrate] : {std::tuple{"libmp3lame", 22050, 32000}, std::tuple{"aac", 16000, 48000}}) {
    const Audio out = lossy_codec_round_trip(tone, encoder, rate, bitrate);
    ASSERT_EQ(out.samples.size(), tone.samples.size()) << encoder;
    EXPECT_EQ(out.sample_rate_hz, 16000);
    EXPECT_NE(out.samples, tone.samples) << encoder << " changed nothing";
    EXPECT_NEAR(testing::dominant_frequency_hz(out, 100, 4000), 440.0, 15.0) << encoder;
    // Lined up with the input (priming delay removed): high correlation at lag 0, away from the edges.
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 4000; i < 20000; ++i) {
      ab += double(tone.samples[i]) * out.samples[i];
      aa += double(tone.samples[i]) * tone.samples[i];
      bb += double(out.samples[i]) * out.samples[i];
    }
    EXPECT_GT(ab / std::sqrt(aa * bb), 0.9) << encoder;
  }
  // An encoder FFmpeg does not have: the input unchanged.
  EXPECT_EQ(lossy_codec_round_trip(tone, "no-such-codec", 16000, 32000).samples, tone.samples);
}

TEST(Voice, TelephoneRoundTripKeepsTheSpeechBandAndDropsWhatIsAbove) {
  auto energy = [](const Audio& a) {
    double e = 0;
    for (size_t i = 2000; i + 2000 < a.samples.size(); ++i) e += double(a.samples[i]) * a.samples[i];
    return e;
  };
  // 500 Hz is inside the telephone band: kept in place, with the mu-law's quantisation noise only.
  const Audio low = testing::make_tone(500.0, 1.0, 16000, 0.4);
  const Audio low_out = telephone_round_trip(low);
  ASSERT_EQ(low_out.samples.size(), low.samples.size());
  EXPECT_EQ(low_out.sample_rate_hz, 16000);
  EXPECT_NE(low_out.samples, low.samples);
  Audio error = low;
  for (size_t i = 0; i < error.samples.size(); ++i) error.samples[i] = low_out.samples[i] - low.samples[i];
  EXPECT_GT(10.0 * std::log10(energy(low) / energy(error)), 25.0) << "SNR of the 500 Hz tone through the line";
  // 6 kHz is above the 4 kHz Nyquist limit of an 8 kHz line: gone.
  const Audio high = testing::make_tone(6000.0, 1.0, 16000, 0.4);
  EXPECT_LT(energy(telephone_round_trip(high)), 0.01 * energy(high));
  // Companding: a quiet tone keeps about the same relative error as a loud one (8-bit linear would not).
  const Audio quiet = testing::make_tone(500.0, 1.0, 16000, 0.01);
  const Audio quiet_out = telephone_round_trip(quiet);
  Audio quiet_error = quiet;
  for (size_t i = 0; i < quiet.samples.size(); ++i) quiet_error.samples[i] = quiet_out.samples[i] - quiet.samples[i];
  EXPECT_GT(10.0 * std::log10(energy(quiet) / energy(quiet_error)), 20.0);
  EXPECT_TRUE(telephone_round_trip(Audio{{}, 16000}).samples.empty());
}

TEST(Voice, TelephoneBandSpeechIsNotJudged) {
  // The band measure: wideband babble lies well above the threshold, its phone-line copy far
  // below, silence has no speech to measure.
  const Audio speech = resample(babble(7.0, 22050, 2), kFeatureRateHz);
  const Audio phone = telephone_round_trip(speech);
  auto band_of = [](const Audio& a) {
    auto source = memory_audio_source(a);
    auto band = speech_band_ratio(*source);
    EXPECT_TRUE(band.ok());
    return band.ok() ? *band : SpeechBand{};
  };
  const SpeechBand wide = band_of(speech), narrow = band_of(phone);
  EXPECT_GT(wide.voiced_s, 3.0);
  EXPECT_GT(wide.above_telephone_db, kTelephoneBandDb + 5.0);
  EXPECT_GT(narrow.voiced_s, 3.0);
  EXPECT_LT(narrow.above_telephone_db, kTelephoneBandDb - 5.0);
  Audio silence{std::vector<float>(16000, 0.0f), 16000};
  EXPECT_EQ(band_of(silence).voiced_s, 0.0);

  // The detector judges the wideband speech and refuses its phone-line copy, whole or streamed,
  // saying why and that there was speech (lip-sync still runs on it).
  testing::TempDir dir;
  auto detector = load_voice_detector(write_cnn_model(dir));
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  auto judged = (*detector)->score(speech);
  ASSERT_TRUE(judged.ok());
  EXPECT_TRUE(judged->score.has_value());
  EXPECT_TRUE(judged->speech_found);
  auto refused = (*detector)->score(phone);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->score.has_value());
  EXPECT_TRUE(refused->speech_found);
  EXPECT_NE(refused->note.find("telephone-band"), std::string::npos) << refused->note;
  auto source = memory_audio_source(phone);
  auto streamed = (*detector)->score_stream(*source);
  ASSERT_TRUE(streamed.ok());
  EXPECT_FALSE(streamed->score.has_value());
  EXPECT_EQ(streamed->note, refused->note);
}

}  // namespace
}  // namespace unmask::detect
