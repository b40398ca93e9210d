#include <gtest/gtest.h>

#include "media/ffmpeg_util.h"
#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::media {
namespace {

using testing::ClipSpec;
using testing::TempDir;

// A clip of n_frames at 25 fps with a 440 Hz tone recorded at audio_rate_hz; returns its path.
std::string write_tone_clip(const TempDir& dir, int n_frames, int audio_rate_hz) {
  const std::string path = dir.file("tone.mp4");
  ClipSpec spec;
  spec.n_frames = n_frames; spec.fps = 25; spec.tone_hz = 440; spec.audio_rate_hz = audio_rate_hz;
  testing::write_pattern_clip(path, spec);
  return path;
}

TEST(AudioReader, ResamplesAToneAndKeepsItsFrequency) {
  TempDir dir;
  const std::string path = write_tone_clip(dir, 50, 44100);
  auto audio = read_audio(path, 16000);
  ASSERT_TRUE(audio.ok()) << audio.status().message();
  EXPECT_EQ(audio->sample_rate_hz, 16000);
  EXPECT_NEAR(audio->duration_s(), 2.0, 0.08);  // AAC adds a little priming/padding
  EXPECT_NEAR(testing::dominant_frequency_hz(*audio, 200, 2000), 440.0, 2.0);
}

TEST(AudioReader, OpensAVideosSoundWithoutLookingIntoItsVideo) {
  TempDir dir;
  const std::string path = write_tone_clip(dir, 25, 48000);
  auto full = detail::open_input(path);
  auto audio_only = detail::open_input(path, detail::StreamsWanted::audio);
  ASSERT_TRUE(full.ok() && audio_only.ok());
  const int a = av_find_best_stream(full->get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  const int v = av_find_best_stream(full->get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  ASSERT_GE(a, 0);
  ASSERT_GE(v, 0);
  // The audio stream is described exactly as by a full open; the video stream is discarded.
  const AVCodecParameters* want = (*full)->streams[a]->codecpar;
  const AVCodecParameters* got = (*audio_only)->streams[a]->codecpar;
  EXPECT_EQ(got->codec_id, want->codec_id);
  EXPECT_EQ(got->format, want->format);
  EXPECT_EQ(got->sample_rate, want->sample_rate);
  EXPECT_EQ(got->ch_layout.nb_channels, want->ch_layout.nb_channels);
  EXPECT_EQ(got->frame_size, want->frame_size);
  EXPECT_EQ((*audio_only)->streams[v]->discard, AVDISCARD_ALL);
  EXPECT_NE((*full)->streams[v]->discard, AVDISCARD_ALL);

  auto reader = AudioReader::open(path, 16000);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  ASSERT_TRUE((*reader)->info().audio.has_value());
  EXPECT_EQ((*reader)->info().audio->sample_rate_hz, 48000);
  EXPECT_FALSE((*reader)->info().video.has_value());
  auto probed = probe(path);
  ASSERT_TRUE(probed.ok());
  EXPECT_TRUE(probed->video.has_value());  // probe still describes both
}

TEST(AudioReader, ReadsWavAndDownmixes) {
  TempDir dir;
  const std::string path = dir.file("tone.wav");
  testing::write_wav(path, testing::make_tone(1000, 0.5, 48000));
  auto audio = read_audio(path, 16000);
  ASSERT_TRUE(audio.ok()) << audio.status().message();
  EXPECT_NEAR(static_cast<double>(audio->samples.size()), 8000.0, 40.0);
  EXPECT_NEAR(testing::dominant_frequency_hz(*audio, 200, 3000), 1000.0, 2.0);
  float peak = 0;
  for (float s : audio->samples) peak = std::max(peak, std::abs(s));
  EXPECT_NEAR(peak, 0.5, 0.05);
}

TEST(AudioReader, StreamingMatchesWholeRead) {
  TempDir dir;
  const std::string path = dir.file("tone.wav");
  testing::write_wav(path, testing::make_tone(300, 1.0, 22050));
  auto whole = read_audio(path, 16000);
  ASSERT_TRUE(whole.ok());
  auto reader = AudioReader::open(path, 16000);
  ASSERT_TRUE(reader.ok());
  std::vector<float> streamed;
  while (true) {
    auto n = (*reader)->read(streamed, 333);
    ASSERT_TRUE(n.ok());
    ASSERT_LE(*n, 333u);
    if (*n == 0) break;
  }
  ASSERT_EQ(streamed.size(), whole->samples.size());
  for (size_t i = 0; i < streamed.size(); ++i) ASSERT_FLOAT_EQ(streamed[i], whole->samples[i]);
}

TEST(AudioReader, VideoWithoutAudioIsAnInputError) {
  TempDir dir;
  const std::string path = dir.file("silent.mp4");
  testing::write_pattern_clip(path, ClipSpec{});
  auto audio = read_audio(path);
  ASSERT_FALSE(audio.ok());
  EXPECT_EQ(audio.status().code(), StatusCode::kInput);
  EXPECT_NE(audio.status().message().find("no audio"), std::string::npos);
}

TEST(AudioReader, RejectsAbsurdRate) {
  TempDir dir;
  const std::string path = dir.file("tone.wav");
  testing::write_wav(path, testing::make_tone(300, 0.1, 16000));
  EXPECT_EQ(read_audio(path, 10).status().code(), StatusCode::kUsage);
}

}  // namespace
}  // namespace unmask::media
