#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::media {
namespace {

using testing::ClipSpec;
using testing::TempDir;

TEST(VideoWriter, CopiesAudioFromASourceUntouched) {
  TempDir dir;
  const std::string src = dir.file("src.mp4");
  ClipSpec spec;
  spec.n_frames = 50; spec.fps = 25; spec.tone_hz = 660;
  testing::write_pattern_clip(src, spec);

  const std::string out = dir.file("out.mp4");
  VideoWriterOptions options;
  options.copy_audio_from = src;
  options.crf = 23;
  {
    auto reader = VideoReader::open(src);
    ASSERT_TRUE(reader.ok());
    auto writer = VideoWriter::open(out, 320, 240, 25, options);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    VideoFrame frame;
    while (*(*reader)->read(frame)) ASSERT_TRUE((*writer)->write(frame.image, frame.pts_us).is_ok());
    ASSERT_TRUE((*writer)->close().is_ok());
  }
  auto info = probe(out);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->video->n_frames, 50);
  ASSERT_TRUE(info->audio.has_value());
  EXPECT_EQ(info->audio->codec, "aac");
  auto a_src = read_audio(src);
  auto a_out = read_audio(out);
  ASSERT_TRUE(a_src.ok() && a_out.ok());
  // Copied packets decode to the very same samples.
  ASSERT_EQ(a_src->samples.size(), a_out->samples.size());
  for (size_t i = 0; i < a_src->samples.size(); i += 97) ASSERT_FLOAT_EQ(a_src->samples[i], a_out->samples[i]);
  EXPECT_NEAR(testing::dominant_frequency_hz(*a_out, 200, 2000), 660.0, 2.0);
}

TEST(VideoWriter, TranscodesAudioTheContainerCannotHold) {
  TempDir dir;
  const std::string wav = dir.file("voice.wav");  // PCM cannot be copied into mp4
  testing::write_wav(wav, testing::make_tone(500, 1.0, 16000));
  const std::string out = dir.file("out.mp4");
  VideoWriterOptions options;
  options.copy_audio_from = wav;
  auto writer = VideoWriter::open(out, 64, 48, 25, options);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE((*writer)->write(testing::make_pattern_frame(64, 48, i)).is_ok());
  ASSERT_TRUE((*writer)->close().is_ok());
  auto audio = read_audio(out);
  ASSERT_TRUE(audio.ok()) << audio.status().message();
  EXPECT_NEAR(audio->duration_s(), 1.0, 0.1);
  EXPECT_NEAR(testing::dominant_frequency_hz(*audio, 200, 2000), 500.0, 2.0);
}

TEST(VideoWriter, TimestampsMustIncrease) {
  TempDir dir;
  auto writer = VideoWriter::open(dir.file("x.mp4"), 64, 48, 25);
  ASSERT_TRUE(writer.ok());
  Image frame = testing::make_pattern_frame(64, 48, 0);
  ASSERT_TRUE((*writer)->write(frame, 40000).is_ok());
  Status s = (*writer)->write(frame, 40000);
  EXPECT_EQ(s.code(), StatusCode::kUsage);
  EXPECT_NE(s.message().find("timestamps must increase"), std::string::npos);
}

TEST(VideoWriter, RejectsWrongFrameSizeAndBadOptions) {
  TempDir dir;
  auto writer = VideoWriter::open(dir.file("x.mp4"), 64, 48, 25);
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ((*writer)->write(Image(32, 32, 3)).code(), StatusCode::kUsage);
  EXPECT_EQ(VideoWriter::open(dir.file("y.mp4"), 64, 48, 0).status().code(), StatusCode::kUsage);
  VideoWriterOptions bad;
  bad.crf = 99;
  EXPECT_EQ(VideoWriter::open(dir.file("z.mp4"), 64, 48, 25, bad).status().code(), StatusCode::kUsage);
  EXPECT_EQ(VideoWriter::open(dir.file("z.xyz"), 64, 48, 25).status().code(), StatusCode::kUsage);
}

TEST(VideoWriter, UnclosedWriterLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.file("abandoned.mp4");
  {
    auto writer = VideoWriter::open(path, 64, 48, 25);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write(testing::make_pattern_frame(64, 48, 0)).is_ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a temporary file was left behind";
}

TEST(VideoWriter, AUsersPartialFileIsNotTouched) {
  // The writer's temporary is its own: a file the user named OUT.partial survives, and two
  // writers of the same output at once do not write into one file.
  TempDir dir;
  const std::string path = dir.file("clip.mp4");
  std::ofstream(path + ".partial") << "the user's notes";
  auto first = VideoWriter::open(path, 64, 48, 25);
  auto second = VideoWriter::open(path, 64, 48, 25);
  ASSERT_TRUE(first.ok() && second.ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*first)->write(testing::make_pattern_frame(64, 48, i)).is_ok());
    ASSERT_TRUE((*second)->write(testing::make_pattern_frame(64, 48, i)).is_ok());
  }
  ASSERT_TRUE((*first)->close().is_ok());
  ASSERT_TRUE((*second)->close().is_ok());
  std::ifstream notes(path + ".partial");
  std::string text;
  std::getline(notes, text);
  EXPECT_EQ(text, "the user's notes");
  auto info = probe(path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_TRUE(info->video.has_value());
  EXPECT_EQ(info->video->width_px, 64);
}

TEST(VideoWriter, PadsOddSizes) {
  TempDir dir;
  const std::string path = dir.file("odd.mp4");
  auto writer = VideoWriter::open(path, 65, 49, 25);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*writer)->write(testing::make_pattern_frame(65, 49, i)).is_ok());
  ASSERT_TRUE((*writer)->close().is_ok());
  auto info = probe(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->video->width_px, 66);
  EXPECT_EQ(info->video->height_px, 50);
  EXPECT_EQ(info->video->n_frames, 5);
}

}  // namespace
}  // namespace unmask::media
