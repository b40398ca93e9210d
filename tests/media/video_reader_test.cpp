#include <gtest/gtest.h>

#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::media {
namespace {

using testing::ClipSpec;
using testing::TempDir;

std::vector<VideoFrame> read_all(const std::string& path, const VideoReadOptions& options = {}) {
  auto reader = VideoReader::open(path, options);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  std::vector<VideoFrame> frames;
  if (!reader.ok()) return frames;
  VideoFrame frame;
  while (true) {
    auto more = (*reader)->read(frame);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) break;
    frames.push_back(frame);
  }
  return frames;
}

// Centre of the bright square in a pattern frame (mean position of near-white pixels).
std::pair<double, double> bright_centroid(const Image& img) {
  double sx = 0, sy = 0, n = 0;
  for (int y = 0; y < img.height_px(); ++y) {
    for (int x = 0; x < img.width_px(); ++x) {
      const uint8_t* p = img.at(x, y);
      if (p[0] > 220 && p[1] > 220 && p[2] > 220) { sx += x; sy += y; n += 1; }
    }
  }
  return n > 0 ? std::make_pair(sx / n, sy / n) : std::make_pair(-1.0, -1.0);
}

class VideoReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("clip.mp4");
    ClipSpec spec;
    spec.width_px = 320; spec.height_px = 240; spec.fps = 25; spec.n_frames = 50;
    testing::write_pattern_clip(path_, spec);
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(VideoReaderTest, ReturnsEveryFrameWithIncreasingTimestamps) {
  auto frames = read_all(path_);
  ASSERT_EQ(frames.size(), 50u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(frames[i].image.width_px(), 320);
    EXPECT_EQ(frames[i].image.height_px(), 240);
    EXPECT_NEAR(static_cast<double>(frames[i].pts_us - frames[0].pts_us), i * 40000.0, 50.0);
  }
  EXPECT_LT(frames[0].pts_us, 100000);
}

TEST_F(VideoReaderTest, PixelsSurviveTheRoundTrip) {
  auto frames = read_all(path_);
  ASSERT_EQ(frames.size(), 50u);
  // The square moves left to right: x = (320 - 30) * i / 49, side 30, at y = 80.
  for (int i : {0, 25, 49}) {
    auto [cx, cy] = bright_centroid(frames[static_cast<size_t>(i)].image);
    EXPECT_NEAR(cx, (320 - 30) * i / 49 + 14.5, 2.0) << "frame " << i;
    EXPECT_NEAR(cy, 80 + 14.5, 2.0);
  }
}

TEST_F(VideoReaderTest, EveryNthFrame) {
  VideoReadOptions options;
  options.every_nth = 5;
  auto frames = read_all(path_, options);
  ASSERT_EQ(frames.size(), 10u);
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i].index, static_cast<int64_t>(5 * i));
}

TEST_F(VideoReaderTest, TimeRange) {
  VideoReadOptions options;
  options.start_us = 400000;
  options.end_us = 1200000;
  auto frames = read_all(path_, options);
  ASSERT_EQ(frames.size(), 20u);
  EXPECT_EQ(frames.front().index, 10);
  EXPECT_EQ(frames.back().index, 29);
}

TEST_F(VideoReaderTest, DownscalesToMaxSide) {
  VideoReadOptions options;
  options.max_side_px = 160;
  auto reader = VideoReader::open(path_, options);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->output_width_px(), 160);
  EXPECT_EQ((*reader)->output_height_px(), 120);
  auto frames = read_all(path_, options);
  ASSERT_EQ(frames.size(), 50u);
  EXPECT_EQ(frames[0].image.width_px(), 160);
  EXPECT_EQ(frames[0].image.height_px(), 120);
}

TEST_F(VideoReaderTest, RejectsBadOptions) {
  VideoReadOptions options;
  options.every_nth = 0;
  auto reader = VideoReader::open(path_, options);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kUsage);
}

TEST(VideoReaderRotation, AppliesDisplayMatrix) {
  TempDir dir;
  const std::string path = dir.file("rot.mp4");
  ClipSpec spec;
  spec.width_px = 320; spec.height_px = 240; spec.n_frames = 3; spec.rotation_deg = 90;
  testing::write_pattern_clip(path, spec);
  auto rotated = read_all(path);
  ASSERT_EQ(rotated.size(), 3u);
  EXPECT_EQ(rotated[0].image.width_px(), 240);
  EXPECT_EQ(rotated[0].image.height_px(), 320);
  VideoReadOptions raw;
  raw.apply_rotation = false;
  auto stored = read_all(path, raw);
  ASSERT_EQ(stored.size(), 3u);
  // Clockwise 90: a stored point (x, y) shows at (h - 1 - y, x).
  auto [sx, sy] = bright_centroid(stored[0].image);
  auto [rx, ry] = bright_centroid(rotated[0].image);
  EXPECT_NEAR(rx, 240 - 1 - sy, 1.5);
  EXPECT_NEAR(ry, sx, 1.5);
}

TEST(VideoReaderVfr, KeepsVariableTimestamps) {
  TempDir dir;
  const std::string path = dir.file("vfr.mkv");
  const std::vector<int64_t> pts = {0, 40000, 60000, 200000, 210000, 500000};
  {
    auto writer = VideoWriter::open(path, 64, 48, 25.0);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    for (size_t i = 0; i < pts.size(); ++i) {
      ASSERT_TRUE((*writer)->write(testing::make_pattern_frame(64, 48, static_cast<int>(i)), pts[i]).is_ok());
    }
    ASSERT_TRUE((*writer)->close().is_ok());
  }
  auto frames = read_all(path);
  ASSERT_EQ(frames.size(), pts.size());
  for (size_t i = 0; i < pts.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(frames[i].pts_us - frames[0].pts_us), static_cast<double>(pts[i]), 1000.0);
  }
}

}  // namespace
}  // namespace unmask::media
