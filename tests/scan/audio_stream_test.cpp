// The audio analysis of scan in bounded memory: the chunked reader (stream_frames over a file),
// prepare_speech's levels measured in passes, and the voice and lip-sync analyses read in pieces
// against the same analyses on the whole recording.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <sstream>

#include "detect/audio_features.h"
#include "detect/detect.h"
#include "detect/voice.h"
#include "media/media.h"
#include "nn/nn.h"
#include "support/fixtures.h"

namespace unmask::detect {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr int kRate = 16000;

// Speech-like syllables (a buzz through two resonances) over a low noise floor and a faint tone,
// with a silent stretch every `gap_every_s` seconds; silence for the last `silent_tail_s`.
Audio speechlike(double seconds, uint32_t seed, double silent_tail_s = 0.0, double gap_every_s = 40.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> noise(0.0, 0.002);
  Audio a;
  a.sample_rate_hz = kRate;
  const auto n = static_cast<size_t>(seconds * kRate);
  const auto speech_end = static_cast<size_t>((seconds - silent_tail_s) * kRate);
  a.samples.resize(n);
  for (size_t i = 0; i < speech_end; ++i) a.samples[i] = static_cast<float>(noise(rng) + 0.01 * std::sin(2 * kPi * 440.0 * i / kRate));
  size_t i = static_cast<size_t>(0.3 * kRate);
  while (i < speech_end) {
    if (std::fmod(static_cast<double>(i) / kRate, gap_every_s) > gap_every_s - 4.0) {  // a 4 s pause
      i += kRate / 2;
      continue;
    }
    const auto len = static_cast<size_t>((0.15 + 0.15 * u(rng)) * kRate);
    const double f0 = 110 + 90 * u(rng), f1 = 300 + 600 * u(rng), f2 = 1000 + 1500 * u(rng);
    const double loud = 0.05 + 0.15 * u(rng);
    for (size_t k = 0; k < len && i + k < speech_end; ++k) {
      const double t = static_cast<double>(k) / kRate;
      double v = 0;
      for (int h = 1; h * f0 < 4000; ++h) {
        const double f = h * f0;
        v += (1.0 / (1.0 + std::pow((f - f1) / 150, 2)) + 0.5 / (1.0 + std::pow((f - f2) / 250, 2))) * std::sin(2 * kPi * f * t);
      }
      a.samples[i + k] += static_cast<float>(loud * std::sin(kPi * k / len) * v);
    }
    i += len + static_cast<size_t>((0.05 + 0.2 * u(rng)) * kRate);
  }
  return a;
}

// A version-2 voice model (the patch CNN) with random weights, as train_voice writes one.
std::shared_ptr<const AudioDetector> cnn_voice_detector(const testing::TempDir& dir) {
  auto spec = nn::default_spec("blend_cnn_tiny");
  EXPECT_TRUE(spec.ok());
  spec->in_channels = 1;
  spec->input_size_px = kVoicePatchFrames;
  spec->widths = {4, 4, 8, 8, 8, 8};
  auto net = nn::Trainable::create(*spec, 7, {});
  EXPECT_TRUE(net.ok());
  auto model = net->freeze();
  EXPECT_TRUE(model.ok());
  std::ostringstream mean, sd;
  for (int i = 0; i < kVoicePatchBands; ++i) {
    mean << (i ? " " : "") << -8;
    sd << (i ? " " : "") << 4;
  }
  const nn::Metadata meta = {{"features", kVoiceCnnFeatureVersion},
                             {"band_mean", mean.str()},
                             {"band_std", sd.str()},
                             {"calibration", "platt 3 0.2"},
                             {"file_calibration", "platt 2 -0.1"}};
  const std::string path = dir.file("voice.unm");
  EXPECT_TRUE(model->save(path, meta).is_ok());
  auto detector = load_voice_detector(path);
  EXPECT_TRUE(detector.ok()) << detector.status().message();
  return detector.ok() ? *detector : nullptr;
}

// The frames stream_frames hands out, rebuilt into one recording, against the samples themselves.
void expect_frames_cover(AudioSource& source, const std::vector<float>& samples, int block_frames) {
  const int frame_len = 400, hop = 160;
  const int64_t expected = samples.size() < static_cast<size_t>(frame_len) ? 0 : 1 + (static_cast<int64_t>(samples.size()) - frame_len) / hop;
  int64_t next = 0;
  int64_t mismatches = 0;
  auto total = stream_frames(source, frame_len, hop, block_frames, nullptr, [&](int64_t first, const float* s, int n) {
    EXPECT_EQ(first, next);
    EXPECT_GE(n, 1);
    EXPECT_LE(n, block_frames);
    const size_t begin = static_cast<size_t>(first) * hop;
    const size_t len = static_cast<size_t>(n - 1) * hop + frame_len;
    for (size_t i = 0; i < len; ++i) mismatches += s[i] != samples[begin + i];
    next += n;
    return Status::ok();
  });
  ASSERT_TRUE(total.ok()) << total.status().message();
  EXPECT_EQ(*total, static_cast<int64_t>(samples.size()));
  EXPECT_EQ(next, expected);
  EXPECT_EQ(mismatches, 0);
}

TEST(AudioStream, ChunkedReaderHandlesShortExactMultipleAndSilentTail) {
  testing::TempDir dir;
  constexpr int kBlock = 50;  // frames per block: 0.5 s, so that a few seconds cross many seams
  struct Case {
    const char* name;
    size_t n_samples;
    double silent_tail_s;
  };
  const std::vector<Case> cases = {
      {"shorter than a frame", 300, 0.0},
      {"shorter than a block", 5000, 0.0},
      {"exactly four blocks of frames", static_cast<size_t>(4 * kBlock - 1) * 160 + 400, 0.0},
      {"exactly twenty reads", static_cast<size_t>(20) * kBlock * 160, 0.0},
      {"silent tail", static_cast<size_t>(6.3 * kRate), 2.0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Audio a = speechlike(static_cast<double>(c.n_samples) / kRate + 1.0, 3, 0.0);
    a.samples.resize(c.n_samples);
    const auto tail = static_cast<size_t>(c.silent_tail_s * kRate);
    std::fill(a.samples.end() - static_cast<long>(std::min(tail, a.samples.size())), a.samples.end(), 0.0f);
    // In memory.
    auto memory = memory_audio_source(a);
    expect_frames_cover(*memory, a.samples, kBlock);
    // From a file: the blocks hold exactly what read_audio decodes, read twice (a rewind).
    const std::string path = dir.file("clip.wav");
    testing::write_wav(path, a);
    auto whole = media::read_audio(path, kRate);
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    EXPECT_EQ(whole->samples.size(), c.n_samples);
    auto file = file_audio_source(path, kRate);
    ASSERT_TRUE(file.ok()) << file.status().message();
    expect_frames_cover(**file, whole->samples, kBlock);
    expect_frames_cover(**file, whole->samples, 7);
  }
  // Transforms apply once to each sample, in order.
  Audio ramp;
  ramp.sample_rate_hz = kRate;
  for (int i = 0; i < 3000; ++i) ramp.samples.push_back(static_cast<float>(i));
  auto source = memory_audio_source(ramp);
  int64_t wrong = 0;
  auto n = stream_frames(*source, 400, 160, 3, [](float* s, size_t k) { for (size_t i = 0; i < k; ++i) s[i] += 0.5f; },
                         [&](int64_t first, const float* s, int frames) {
                           for (int i = 0; i < (frames - 1) * 160 + 400; ++i) wrong += s[i] != static_cast<float>(first * 160 + i) + 0.5f;
                           return Status::ok();
                         });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(stream_frames(*source, 100, 160, 3, nullptr, [](int64_t, const float*, int) { return Status::ok(); }).status().code(),
            StatusCode::kUsage);
  // A file without audio fails when the source is made.
  testing::ClipSpec spec;
  spec.n_frames = 5;
  const std::string silent_clip = dir.file("video_only.mp4");
  testing::write_pattern_clip(silent_clip, spec);
  EXPECT_EQ(file_audio_source(silent_clip, kRate).status().code(), StatusCode::kInput);
}

// prepare_speech as it was written for whole recordings (before the levels were measured in
// passes): the reference the streamed levels must reproduce bit for bit.
Audio reference_prepare_speech(const Audio& audio) {
  Audio out = audio;
  double mean = 0;
  for (float s : out.samples) mean += s;
  mean /= out.samples.size();
  for (float& s : out.samples) s = static_cast<float>(s - mean);
  const VadOptions vo;
  const auto speech = voice_activity(out, vo);
  double e = 0;
  size_t n = 0;
  for (size_t t = 0; t < speech.size(); ++t) {
    if (!speech[t]) continue;
    const size_t a = t * vo.hop;
    for (size_t i = a; i < a + static_cast<size_t>(vo.hop) && i < out.samples.size(); ++i) e += double(out.samples[i]) * out.samples[i];
    n += static_cast<size_t>(vo.hop);
  }
  if (n == 0 || e <= 0) return out;
  const double gain = std::pow(10.0, -26.0 / 20.0) / std::sqrt(e / n);
  for (float& s : out.samples) s = static_cast<float>(std::clamp(s * gain, -1.0, 1.0));
  return out;
}

TEST(AudioStream, SpeechLevelsInPassesAreThoseOfTheWholeRecording) {
  for (const double tail : {0.0, 3.0}) {
    Audio a = speechlike(75.0, 11, tail);  // more than one 60 s block
    for (float& s : a.samples) s += 0.03f;    // a DC offset to remove
    const Audio want = reference_prepare_speech(a);
    EXPECT_EQ(prepare_speech(a).samples, want.samples);
    auto source = memory_audio_source(a);
    auto levels = measure_speech_levels(*source);
    ASSERT_TRUE(levels.ok());
    EXPECT_TRUE(levels->scaled);
    EXPECT_EQ(levels->n_samples, static_cast<int64_t>(a.samples.size()));
    Audio got = a;
    // In pieces of any size: the arithmetic is per sample.
    for (size_t i = 0; i < got.samples.size(); i += 12345) {
      apply_speech_levels(*levels, got.samples.data() + i, std::min<size_t>(12345, got.samples.size() - i));
    }
    EXPECT_EQ(got.samples, want.samples);
  }
  Audio silence;
  silence.samples.assign(kRate, 0.0f);
  auto source = memory_audio_source(silence);
  auto levels = measure_speech_levels(*source);
  ASSERT_TRUE(levels.ok());
  EXPECT_FALSE(levels->scaled);
}

TEST(AudioStream, VoiceScoresReadInPiecesMatchTheWholeFile) {
  testing::TempDir dir;
  auto detector = cnn_voice_detector(dir);
  ASSERT_TRUE(detector);
  // 3 minutes (three 60 s blocks and seams between them) with pauses, a silent tail; a file
  // shorter than a block; one whose speech is too short for a full window (the fallback window).
  struct Case {
    const char* name;
    Audio audio;
  };
  std::vector<Case> cases;
  cases.push_back({"3 minutes, silent tail", speechlike(180.0, 21, 5.0, 37.0)});
  cases.push_back({"20 s", speechlike(20.0, 22)});
  Audio brief = speechlike(4.0, 23);
  std::fill(brief.samples.begin() + static_cast<long>(1.1 * kRate), brief.samples.end(), 0.0f);
  cases.push_back({"0.8 s of speech", brief});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file("speech.wav");
    testing::write_wav(path, c.audio);
    auto whole = media::read_audio(path, kRate);
    ASSERT_TRUE(whole.ok());
    auto want = detector->score(*whole);
    ASSERT_TRUE(want.ok()) << want.status().message();
    auto source = file_audio_source(path, kRate);
    ASSERT_TRUE(source.ok());
    auto got = detector->score_stream(**source);
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_TRUE(want->score.has_value());
    ASSERT_TRUE(got->score.has_value());
    EXPECT_NEAR(*got->score, *want->score, 1e-5);
    ASSERT_EQ(got->segments.size(), want->segments.size());
    double worst = 0;
    for (size_t i = 0; i < want->segments.size(); ++i) {
      EXPECT_DOUBLE_EQ(got->segments[i].start_s, want->segments[i].start_s);
      EXPECT_DOUBLE_EQ(got->segments[i].end_s, want->segments[i].end_s);
      worst = std::max(worst, std::abs(got->segments[i].score - want->segments[i].score));
    }
    EXPECT_LT(worst, 1e-5);
  }
  // 3 minutes give windows all along (not only in the first block), and scores that vary.
  ASSERT_GE(cases.size(), 1u);
  // Silence: no score either way.
  Audio silence;
  silence.samples.assign(static_cast<size_t>(70 * kRate), 0.0f);
  auto source = memory_audio_source(silence);
  auto r = detector->score_stream(*source);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->score.has_value());
  EXPECT_EQ(r->note, "no speech found");
}

TEST(AudioStream, VoiceWindowsSpanTheWholeLongRecording) {
  // The streamed windows of a 3-minute recording reach its end and their patches vary: the
  // analysis did not stop at the first block.
  const Audio a = speechlike(180.0, 31, 0.0, 1000.0);
  auto source = memory_audio_source(a);
  size_t n_patches = 0;
  std::vector<float> firsts;
  auto windows = voice_patch_logits_stream(*source, [&](const std::vector<std::vector<float>>& p) -> Result<std::vector<float>> {
    std::vector<float> out;
    for (const auto& patch : p) {
      out.push_back(patch[0]);
      firsts.push_back(patch[0]);
    }
    n_patches += p.size();
    return out;
  });
  ASSERT_TRUE(windows.ok());
  const auto whole = voice_patches(a);
  ASSERT_EQ(windows->size(), whole.windows.size());
  EXPECT_GT(whole.windows.back().end_s, 175.0);
  EXPECT_EQ(n_patches, whole.patches.size());  // each patch scored once, seams included
  for (size_t w = 0; w < whole.windows.size(); ++w) {
    double sum = 0;
    for (int k : whole.window_patches[w]) sum += whole.patches[static_cast<size_t>(k)][0];
    EXPECT_NEAR((*windows)[w].logit, sum / whole.window_patches[w].size(), 1e-6);
  }
}

TEST(AudioStream, LipsyncSoundReadInPiecesMatchesTheWholeFile) {
  const Audio a = speechlike(130.0, 41, 4.0);
  auto source = memory_audio_source(a);
  auto streamed = lipsync_audio_stream(*source);
  ASSERT_TRUE(streamed.ok());
  // The band power and frame energies straight from the whole recording.
  const auto power = power_spectrogram(a.samples, kRate);
  ASSERT_EQ(streamed->band_power.size(), static_cast<size_t>(power.n_rows));
  ASSERT_EQ(streamed->energy_db.size(), static_cast<size_t>(power.n_rows));
  for (int t = 0; t < power.n_rows; ++t) {
    double band = 0;
    for (int k = 32; k <= 224; ++k) band += power.at(t, k);  // 1-7 kHz at 31.25 Hz a bin
    ASSERT_EQ(streamed->band_power[t], band) << t;
    ASSERT_EQ(streamed->energy_db[t], frame_energy_db(a.samples.data() + static_cast<size_t>(t) * 160, 400)) << t;
  }
  EXPECT_EQ(voice_activity_from_energies(streamed->energy_db), voice_activity(a));
  EXPECT_DOUBLE_EQ(streamed->duration_s, 130.0);
  // score_lipsync on the streamed sound: the same as on the audio (a mouth following the loudness).
  const double fps = 25.0;
  const auto env = band_envelope(a, fps);
  std::vector<std::optional<face::Landmarks>> lms(env.size());
  for (size_t i = 0; i < env.size(); ++i) {
    face::Landmarks p{};
    for (int k = 0; k < 68; ++k) p[k] = {100.0 + k, 100.0};
    p[36] = {80, 100};
    p[45] = {140, 100};
    const double open = std::clamp((env[i] + 60.0) / 60.0, 0.0, 1.0) * 10.0;
    for (int k = 61; k <= 63; ++k) p[k] = {110.0 + k - 61, 150.0};
    for (int k = 65; k <= 67; ++k) p[k] = {112.0 - (k - 65), 150.0 + open};
    lms[i] = p;
  }
  auto want = score_lipsync(lms, fps, a);
  auto got = score_lipsync(lms, fps, *streamed);
  ASSERT_TRUE(want.ok());
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(want->score.has_value(), got->score.has_value());
  if (want->score) {
    EXPECT_DOUBLE_EQ(*got->score, *want->score);
    EXPECT_EQ(got->offset.offset_ms, want->offset.offset_ms);
  }
  // What scan keeps per frame of a track, the mouth opening, gives the same as the landmarks.
  auto by_opening = score_lipsync(mouth_opening(lms), fps, *streamed);
  ASSERT_TRUE(by_opening.ok());
  ASSERT_EQ(by_opening->score.has_value(), want->score.has_value());
  if (want->score) {
    EXPECT_DOUBLE_EQ(*by_opening->score, *want->score);
  }
  auto still = lms;
  for (auto& lm : still) lm = lms[0];
  still[5] = std::nullopt;
  for (const auto& pair : {std::vector{still, lms}, std::vector{lms, still}}) {
    const size_t want_speaker = speaking_track(pair, fps);
    EXPECT_EQ(speaking_track_by_opening({mouth_opening(pair[0]), mouth_opening(pair[1])}, fps), want_speaker);
  }
  EXPECT_EQ(speaking_track(std::vector{still, lms}, fps), 1u);
  // Another rate is refused (the sound is analysed at 16 kHz).
  Audio other = a;
  other.sample_rate_hz = 22050;
  auto wrong = memory_audio_source(other);
  EXPECT_EQ(lipsync_audio_stream(*wrong).status().code(), StatusCode::kUsage);
}

}  // namespace
}  // namespace unmask::detect
