#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "mark/mark.h"
#include "media/media.h"
#include "support/fixtures.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

// Speech-like audio: amplitude-modulated noise bursts in the given spans, quiet noise elsewhere.
Audio bursts(const std::vector<TimeSpan>& spans, double duration_s, int rate_hz) {
  Audio a;
  a.sample_rate_hz = rate_hz;
  a.samples.resize(static_cast<size_t>(duration_s * rate_hz));
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.f, 1.f);
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const double t = static_cast<double>(i) / rate_hz;
    double amp = 0.002;
    for (const auto& s : spans) {
      if (t >= s.start_s && t < s.end_s) amp = 0.2 * (0.6 + 0.4 * std::sin(2 * M_PI * 4 * t));
    }
    a.samples[i] = static_cast<float>(amp * noise(rng));
  }
  return a;
}

double rms(const Audio& a, double from_s, double to_s) {
  const size_t i0 = static_cast<size_t>(from_s * a.sample_rate_hz);
  const size_t i1 = std::min(a.samples.size(), static_cast<size_t>(to_s * a.sample_rate_hz));
  double e = 0;
  for (size_t i = i0; i < i1; ++i) e += double(a.samples[i]) * a.samples[i];
  return std::sqrt(e / std::max<size_t>(1, i1 - i0));
}

TEST(Speech, SynthesisesWordsWithEspeak) {
  auto speech = synthesize_speech("hello world, this is a test");
  ASSERT_TRUE(speech.ok()) << speech.status().message();
  EXPECT_EQ(speech->sample_rate_hz, 22050);
  EXPECT_GT(speech->duration_s(), 0.8);
  EXPECT_LT(speech->duration_s(), 4.0);
  EXPECT_GT(rms(*speech, 0, speech->duration_s()), 0.02);
  SpeechOptions fast;
  fast.rate_wpm = 350;
  auto quicker = synthesize_speech("hello world, this is a test", fast);
  ASSERT_TRUE(quicker.ok());
  EXPECT_LT(quicker->duration_s(), speech->duration_s() * 0.8);
}

TEST(Speech, RejectsUnknownVoiceAndEmptyText) {
  SpeechOptions bad;
  bad.voice = "no-such-voice";
  EXPECT_EQ(synthesize_speech("hello", bad).status().code(), StatusCode::kUsage);
  EXPECT_EQ(synthesize_speech("   ").status().code(), StatusCode::kUsage);
}

TEST(Speech, FindsSpeechSegmentsAndNothingInSilence) {
  const std::vector<TimeSpan> truth = {{0.5, 1.5}, {2.0, 3.2}};
  auto spans = find_speech_segments(bursts(truth, 4.0, 16000));
  ASSERT_EQ(spans.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(spans[i].start_s, truth[i].start_s, 0.1);
    EXPECT_NEAR(spans[i].end_s, truth[i].end_s, 0.1);
  }
  Audio silence;
  silence.samples.assign(16000, 0.0f);
  EXPECT_TRUE(find_speech_segments(silence).empty());
  EXPECT_TRUE(find_speech_segments(testing::make_tone(200, 2.0, 16000, 0.3)).empty()) << "a steady hum is not speech";
}

TEST(Dub, PutsSpeechWhereTheOriginalSpokeAndMarksTheOutput) {
  testing::TempDir dir;
  const std::string clip = dir.file("talk.mp4");
  const std::vector<TimeSpan> truth = {{0.4, 1.4}, {2.0, 3.0}};
  {
    media::VideoWriterOptions options;
    options.pcm_audio = bursts(truth, 3.6, 16000);
    auto writer = media::VideoWriter::open(clip, 160, 120, 25, options);
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 90; ++i) ASSERT_TRUE((*writer)->write(testing::make_pattern_frame(160, 120, i)).is_ok());
    ASSERT_TRUE((*writer)->close().is_ok());
  }
  const std::string out = dir.file("dubbed.mp4");
  auto summary = dub_file(clip, "one two three four five six seven eight", out);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->n_frames, 90);
  ASSERT_EQ(summary->original_speech.size(), 2u);
  ASSERT_EQ(summary->placed_speech.size(), 2u);
  EXPECT_NEAR(summary->placed_speech[0].start_s, 0.4, 0.1);
  EXPECT_NEAR(summary->placed_speech[1].start_s, 2.0, 0.1);

  auto audio = media::read_audio(out, 16000);
  ASSERT_TRUE(audio.ok()) << audio.status().message();
  const double inside = rms(*audio, 0.45, 1.3), gap = rms(*audio, 0.0, 0.35);
  EXPECT_GT(inside, 0.01);
  EXPECT_GT(inside, 10 * gap) << "speech where the original spoke, silence before";
  auto probe = media::probe(out);
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->video->n_frames, 90);
  auto v = mark::verify_file(out);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->found);
  EXPECT_TRUE(v->payload.synthetic);
}

TEST(Dub, NeedsAVideo) {
  testing::TempDir dir;
  const std::string wav = dir.file("voice.wav");
  testing::write_wav(wav, testing::make_tone(300, 1.0, 16000));
  EXPECT_EQ(dub_file(wav, "hello", dir.file("o.mp4")).status().code(), StatusCode::kInput);
  EXPECT_EQ(dub_file(dir.file("missing.mp4"), "hello", dir.file("o.mp4")).status().code(), StatusCode::kInput);
}

}  // namespace
}  // namespace unmask::synth
