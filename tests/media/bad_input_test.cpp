// Bad input never crashes or hangs: every case is an input error with a reason.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::media {
namespace {

using testing::ClipSpec;
using testing::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Every entry point must refuse the file with an input error.
void expect_input_error_everywhere(const std::string& path, bool has_audio = false) {
  auto p = probe(path);
  EXPECT_FALSE(p.ok()) << path;
  if (!p.ok()) {
    EXPECT_EQ(p.status().code(), StatusCode::kInput) << p.status().message();
    EXPECT_EQ(p.status().message().find('\n'), std::string::npos);
  }
  auto v = VideoReader::open(path);
  if (v.ok()) {
    VideoFrame frame;
    auto r = (*v)->read(frame);
    EXPECT_FALSE(r.ok()) << path << " should not decode";
  } else {
    EXPECT_EQ(v.status().code(), StatusCode::kInput);
  }
  if (!has_audio) {
    EXPECT_EQ(read_audio(path).status().code(), StatusCode::kInput);
  }
}

TEST(BadInput, MissingFile) {
  TempDir dir;
  auto p = probe(dir.file("nope.mp4"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("no such file"), std::string::npos);
  expect_input_error_everywhere(dir.file("nope.mp4"));
}

TEST(BadInput, EmptyFile) {
  TempDir dir;
  write_bytes(dir.file("empty.mp4"), "");
  EXPECT_NE(probe(dir.file("empty.mp4")).status().message().find("empty"), std::string::npos);
  expect_input_error_everywhere(dir.file("empty.mp4"));
}

TEST(BadInput, TextFileNamedMp4) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "This is not a video, line " + std::to_string(i) + ".\n";
  write_bytes(dir.file("notes.mp4"), text);
  expect_input_error_everywhere(dir.file("notes.mp4"));
}

TEST(BadInput, RandomBytes) {
  TempDir dir;
  std::mt19937 rng(1234);
  std::string bytes(64 * 1024, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  write_bytes(dir.file("random.mp4"), bytes);
  expect_input_error_everywhere(dir.file("random.mp4"));
  write_bytes(dir.file("random.bin"), bytes);
  expect_input_error_everywhere(dir.file("random.bin"));
}

TEST(BadInput, TruncatedMp4) {
  TempDir dir;
  const std::string full = dir.file("full.mp4");
  ClipSpec spec;
  spec.n_frames = 60; spec.tone_hz = 440;
  testing::write_pattern_clip(full, spec);
  auto bytes = read_file(full);
  ASSERT_TRUE(bytes.ok());
  const std::string half = dir.file("half.mp4");
  write_bytes(half, bytes->substr(0, bytes->size() / 2));
  auto p = probe(half);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInput);
  EXPECT_NE(p.status().message().find("truncated"), std::string::npos) << p.status().message();
  expect_input_error_everywhere(half, true);
}

TEST(BadInput, ZeroSizeFrame) {
  TempDir dir;
  write_bytes(dir.file("zero.y4m"), "YUV4MPEG2 W0 H0 F25:1 Ip A1:1 C420jpeg\nFRAME\n");
  expect_input_error_everywhere(dir.file("zero.y4m"));
}

TEST(BadInput, AudioOnlyFileAskedForVideo) {
  TempDir dir;
  const std::string wav = dir.file("voice.wav");
  testing::write_wav(wav, testing::make_tone(440, 0.5, 16000));
  auto v = VideoReader::open(wav);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInput);
  EXPECT_NE(v.status().message().find("no video"), std::string::npos);
  EXPECT_EQ(read_image(wav).status().code(), StatusCode::kInput);
}

TEST(BadInput, Directory) {
  TempDir dir;
  auto p = probe(dir.path().string());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("directory"), std::string::npos);
  expect_input_error_everywhere(dir.path().string());
}

}  // namespace
}  // namespace unmask::media
