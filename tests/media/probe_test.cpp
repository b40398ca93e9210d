#include <gtest/gtest.h>

#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::media {
namespace {

using testing::ClipSpec;
using testing::TempDir;

TEST(Probe, DescribesAGeneratedClip) {
  TempDir dir;
  const std::string path = dir.file("clip.mp4");
  ClipSpec spec;
  spec.width_px = 320; spec.height_px = 240; spec.fps = 25; spec.n_frames = 50; spec.tone_hz = 440;
  testing::write_pattern_clip(path, spec);

  auto info = probe(path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_NE(info->format.find("mp4"), std::string::npos);
  EXPECT_NEAR(info->duration_s, 2.0, 0.1);
  EXPECT_GT(info->size_bytes, 0);
  EXPECT_FALSE(info->is_image);
  ASSERT_TRUE(info->video.has_value());
  EXPECT_EQ(info->video->codec, "h264");
  EXPECT_EQ(info->video->width_px, 320);
  EXPECT_EQ(info->video->height_px, 240);
  EXPECT_NEAR(info->video->fps, 25.0, 0.01);
  EXPECT_EQ(info->video->n_frames, 50);
  EXPECT_EQ(info->video->rotation_deg, 0);
  ASSERT_TRUE(info->audio.has_value());
  EXPECT_EQ(info->audio->codec, "aac");
  EXPECT_EQ(info->audio->sample_rate_hz, 44100);
  EXPECT_EQ(info->audio->channels, 1);
}

TEST(Probe, VideoWithoutAudioHasNoAudioStream) {
  TempDir dir;
  const std::string path = dir.file("silent.mp4");
  testing::write_pattern_clip(path, ClipSpec{});
  auto info = probe(path);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->video.has_value());
  EXPECT_FALSE(info->audio.has_value());
}

TEST(Probe, AudioFileHasNoVideo) {
  TempDir dir;
  const std::string path = dir.file("tone.wav");
  testing::write_wav(path, testing::make_tone(440, 1.0, 16000));
  auto info = probe(path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_FALSE(info->video.has_value());
  ASSERT_TRUE(info->audio.has_value());
  EXPECT_EQ(info->audio->sample_rate_hz, 16000);
  EXPECT_NEAR(info->duration_s, 1.0, 0.01);
}

TEST(Probe, ReportsRotationFromDisplayMatrix) {
  TempDir dir;
  const std::string path = dir.file("rotated.mp4");
  ClipSpec spec;
  spec.rotation_deg = 90;
  spec.n_frames = 5;
  testing::write_pattern_clip(path, spec);
  auto info = probe(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->video->rotation_deg, 90);
}

TEST(Metadata, WriterTagsAreReadBack) {
  TempDir dir;
  const std::string path = dir.file("tagged.mp4");
  VideoWriterOptions options;
  options.metadata["unmask_manifest"] = "{\"issuer\":4660}";
  options.metadata["comment"] = "made by a test";
  auto writer = VideoWriter::open(path, 64, 48, 10, options);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*writer)->write(testing::make_pattern_frame(64, 48, i)).is_ok());
  ASSERT_TRUE((*writer)->close().is_ok());
  auto tags = read_metadata(path);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ((*tags)["unmask_manifest"], "{\"issuer\":4660}");
  EXPECT_EQ((*tags)["comment"], "made by a test");
}

TEST(Extensions, ClassifyImagesAndAudio) {
  EXPECT_TRUE(has_image_extension("a/b.JPG"));
  EXPECT_TRUE(has_image_extension("x.png"));
  EXPECT_FALSE(has_image_extension("x.mp4"));
  EXPECT_TRUE(has_audio_extension("x.flac"));
  EXPECT_TRUE(has_audio_extension("x.M4A"));
  EXPECT_FALSE(has_audio_extension("x.mkv"));
}

}  // namespace
}  // namespace unmask::media
