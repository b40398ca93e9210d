// media::jpeg_round_trip against OpenCV's own JPEG codec: the same pixels, so that the training
// augmentations and synth's self-blended pairs did not change when unmask stopped linking
// OpenCV's image codecs. Also the cv::Mat helper and encode_image.
#include <gtest/gtest.h>

#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "media/cv_jpeg.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

namespace unmask::media {
namespace {

cv::Mat as_mat(const Image& img) {
  return cv::Mat(img.height_px(), img.width_px(), CV_8UC(img.channels()), const_cast<uint8_t*>(img.data())).clone();
}

cv::Mat opencv_round_trip(const cv::Mat& m, int quality) {
  std::vector<uint8_t> buf;
  EXPECT_TRUE(cv::imencode(".jpg", m, buf, {cv::IMWRITE_JPEG_QUALITY, quality}));
  return cv::imdecode(buf, cv::IMREAD_UNCHANGED);
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(Jpeg, RoundTripGivesOpenCvsPixelsExactly) {
  cv::Mat face = as_mat(testing::face_photo("tom", 203));  // odd width: partial MCUs at the edge
  cv::Mat pattern = as_mat(testing::make_pattern_frame(128, 96, 3, 40, 30, 24));
  cv::Mat gray;
  cv::cvtColor(face, gray, cv::COLOR_BGR2GRAY);
  for (const cv::Mat& original : {face, pattern, gray}) {
    for (int quality : {0, 20, 25, 50, 85, 95, 100}) {
      cv::Mat ours = original.clone();
      ASSERT_TRUE(jpeg_round_trip(ours.data, ours.cols, ours.rows, ours.step, ours.channels(), quality).is_ok());
      EXPECT_TRUE(same_pixels(ours, opencv_round_trip(original, quality)))
          << original.cols << "x" << original.rows << "x" << original.channels() << " at quality " << quality;
      EXPECT_FALSE(same_pixels(ours, original)) << "quality " << quality << " changed nothing";
    }
  }
}

TEST(Jpeg, RowsWithPaddingAndTheMatHelper) {
  cv::Mat face = as_mat(testing::face_photo("girl", 160));
  const cv::Rect inner(7, 5, 101, 90);
  cv::Mat roi = face(inner);  // rows face.step apart, longer than 101 pixels
  ASSERT_FALSE(roi.isContinuous());
  cv::Mat expected = opencv_round_trip(roi.clone(), 60);

  cv::Mat shared = roi;  // shares the photo's pixels, as synth's `real = target` does
  jpeg_recode(shared, 60);
  EXPECT_TRUE(same_pixels(shared, expected));
  EXPECT_TRUE(same_pixels(roi, face(inner)));  // the photo itself is untouched
  EXPECT_FALSE(same_pixels(shared, roi));

  cv::Mat in_place = roi.clone();
  cv::Mat padded(in_place.rows, in_place.cols + 13, CV_8UC3, cv::Scalar(1, 2, 3));
  in_place.copyTo(padded(cv::Rect(0, 0, in_place.cols, in_place.rows)));
  cv::Mat view = padded(cv::Rect(0, 0, in_place.cols, in_place.rows));
  ASSERT_TRUE(jpeg_round_trip(view.data, view.cols, view.rows, view.step, 3, 60).is_ok());
  EXPECT_TRUE(same_pixels(view, expected));
  EXPECT_EQ(padded.at<cv::Vec3b>(0, in_place.cols), cv::Vec3b(1, 2, 3));  // padding left alone
}

TEST(Jpeg, BadPicturesAreUsageErrors) {
  std::vector<uint8_t> px(16 * 16 * 4, 128);
  EXPECT_EQ(jpeg_round_trip(px.data(), 16, 16, 64, 4, 80).code(), StatusCode::kUsage);   // 4 channels
  EXPECT_EQ(jpeg_round_trip(px.data(), 16, 16, 40, 3, 80).code(), StatusCode::kUsage);   // stride < row
  EXPECT_EQ(jpeg_round_trip(px.data(), 0, 16, 48, 3, 80).code(), StatusCode::kUsage);    // no width
  EXPECT_EQ(jpeg_round_trip(nullptr, 16, 16, 48, 3, 80).code(), StatusCode::kUsage);
  EXPECT_TRUE(jpeg_round_trip(px.data(), 16, 16, 48, 3, 80).is_ok());
}

TEST(Jpeg, EncodeImageInMemoryMatchesTheFileWriter) {
  testing::TempDir dir;
  Image img = testing::make_pattern_frame(97, 61, 3, 10, 10, 20);
  auto png = encode_image(img, ".png");
  ASSERT_TRUE(png.ok()) << png.status().message();
  EXPECT_EQ(png->substr(1, 3), "PNG");
  ASSERT_TRUE(write_image(dir.file("a.png"), img).is_ok());
  EXPECT_EQ(*png, *read_file(dir.file("a.png")));
  auto jpg = encode_image(img, ".JPG", 80);
  ASSERT_TRUE(jpg.ok());
  EXPECT_EQ(static_cast<uint8_t>((*jpg)[0]), 0xFF);
  auto bad = encode_image(img, ".gif");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUsage);
  EXPECT_NE(bad.status().message().find(".gif"), std::string::npos);
}

}  // namespace
}  // namespace unmask::media
