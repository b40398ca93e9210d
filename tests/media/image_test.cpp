#include <gtest/gtest.h>

#include <cstring>

#include "media/media.h"
#include "support/fixtures.h"

namespace unmask::media {
namespace {

using testing::TempDir;

TEST(Images, PngRoundTripIsLossless) {
  TempDir dir;
  const std::string path = dir.file("frame.png");
  Image img = testing::make_pattern_frame(97, 61, 3, 10, 10, 20);
  ASSERT_TRUE(write_image(path, img).is_ok());
  auto back = read_image(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->width_px(), 97);
  ASSERT_EQ(back->height_px(), 61);
  EXPECT_EQ(0, std::memcmp(back->data(), img.data(), img.size_bytes()));
}

TEST(Images, JpegIsCloseAndProbesAsAnImage) {
  TempDir dir;
  const std::string path = dir.file("frame.jpg");
  Image img = testing::make_pattern_frame(128, 96, 0, 40, 30, 24);
  ASSERT_TRUE(write_image(path, img, 95).is_ok());
  auto info = probe(path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(info->is_image);
  ASSERT_TRUE(info->video.has_value());
  EXPECT_EQ(info->video->n_frames, 1);
  EXPECT_EQ(info->video->width_px, 128);
  auto back = read_image(path);
  ASSERT_TRUE(back.ok());
  double err = 0;
  for (size_t i = 0; i < img.size_bytes(); ++i) err += std::abs(int(back->data()[i]) - int(img.data()[i]));
  EXPECT_LT(err / static_cast<double>(img.size_bytes()), 4.0);
}

TEST(Images, AnImageIsAOneFrameVideo) {
  TempDir dir;
  const std::string path = dir.file("still.png");
  ASSERT_TRUE(write_image(path, testing::make_pattern_frame(40, 30, 0)).is_ok());
  auto reader = VideoReader::open(path);
  ASSERT_TRUE(reader.ok());
  VideoFrame frame;
  auto first = (*reader)->read(frame);
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_EQ(frame.index, 0);
  auto second = (*reader)->read(frame);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
}

TEST(Images, DebianFacePhotoDecodes) {
  auto photos = testing::debian_face_photos();
  if (photos.empty()) GTEST_SKIP() << "libdlib19.1 example photos not installed";
  auto img = read_image(photos.front());
  ASSERT_TRUE(img.ok()) << img.status().message();
  EXPECT_GT(img->width_px(), 100);
}

TEST(Images, GrayWriteAndBadExtension) {
  TempDir dir;
  Image gray(16, 8, 1);
  gray.at(3, 2)[0] = 200;
  ASSERT_TRUE(write_image(dir.file("g.png"), gray).is_ok());
  auto back = read_image(dir.file("g.png"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->at(3, 2)[0], 200);
  EXPECT_EQ(write_image(dir.file("g.tiff"), gray).code(), StatusCode::kUsage);
  EXPECT_EQ(write_image(dir.file("e.png"), Image()).code(), StatusCode::kUsage);
}

}  // namespace
}  // namespace unmask::media

namespace unmask::media {
namespace {

// Sizes whose packed rows are not a multiple of swscale's SIMD width: the converters must not
// touch memory past the image (this once corrupted the heap) and must keep every pixel.
TEST(Images, UnalignedSizesRoundTripExactly) {
  testing::TempDir dir;
  for (auto [w, h] : {std::pair{701, 413}, std::pair{410, 412}, std::pair{33, 7}}) {
    const std::string path = dir.file("odd_" + std::to_string(w) + ".png");
    Image img = testing::make_pattern_frame(w, h, 1, w / 3, h / 3, std::min(w, h) / 4);
    ASSERT_TRUE(write_image(path, img).is_ok());
    auto back = read_image(path);
    ASSERT_TRUE(back.ok()) << back.status().message();
    ASSERT_EQ(back->width_px(), w);
    ASSERT_EQ(back->height_px(), h);
    EXPECT_EQ(0, std::memcmp(back->data(), img.data(), img.size_bytes())) << w << "x" << h;
  }
}

}  // namespace
}  // namespace unmask::media
