// The project's HOG features and filtering against dlib's own: the same floats, bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include <dlib/image_transforms.h>
#include <dlib/image_transforms/fhog.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>

#include "face/hog_kernels.h"
#include "face/models_impl.h"
#include "face_test_util.h"
#include "media/media.h"

namespace unmask::face::detail {
namespace {

void expect_same_bits(const dlib::array2d<float>& want, const dlib::array2d<float>& got, const std::string& what) {
  ASSERT_EQ(want.nr(), got.nr()) << what;
  ASSERT_EQ(want.nc(), got.nc()) << what;
  for (long r = 0; r < want.nr(); ++r) {
    ASSERT_EQ(std::memcmp(&want[r][0], &got[r][0], sizeof(float) * want.nc()), 0) << what << " row " << r;
  }
}

void expect_same_planes(const HogPlanes& want, const HogPlanes& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) expect_same_bits(want[i], got[i], what + " plane " + std::to_string(i));
}

HogPlanes dlib_features(const cv::Mat& gray, int cell, int pad_rows, int pad_cols) {
  HogPlanes planes;
  dlib::extract_fhog_features(dlib::cv_image<unsigned char>(gray), planes, cell, pad_rows, pad_cols);
  return planes;
}

HogPlanes our_features(const cv::Mat& gray, int cell, int pad_rows, int pad_cols) {
  HogPlanes planes;
  extract_hog_features(gray.data, static_cast<long>(gray.step), gray.rows, gray.cols, cell, pad_rows, pad_cols, planes);
  return planes;
}

TEST(HogFeatures, GiveDlibsFloatsOnPhotosAndNoiseOfEveryWidth) {
  // Photos at the detector's scales and pyramid levels, and noise (every orientation, strong
  // gradients) at widths around the 8-column blocks and the 8-pixel cells, too small for a cell.
  for (const char* name : {"2008_002470.jpg", "Tom_Cruise_avp_2014_4.jpg", "2009_004587.jpg"}) {
    const auto photo = media::read_image(std::string("/usr/share/doc/libdlib19.1/examples/faces/") + name);
    ASSERT_TRUE(photo.ok()) << photo.status().message();
    cv::Mat gray;
    cv::cvtColor(as_mat(*photo), gray, cv::COLOR_BGR2GRAY);
    for (double scale : {1.0, 0.83, 0.5, 0.31}) {
      cv::Mat scaled;
      cv::resize(gray, scaled, cv::Size(), scale, scale, cv::INTER_AREA);
      const std::string what = std::string(name) + " x" + std::to_string(scale);
      expect_same_planes(dlib_features(scaled, 8, 10, 10), our_features(scaled, 8, 10, 10), what);
    }
    // A window inside the photo: rows a stride apart that is not the width.
    const cv::Mat window = gray(cv::Rect(13, 7, gray.cols / 2 + 3, gray.rows / 2 + 5));
    expect_same_planes(dlib_features(window, 8, 10, 10), our_features(window, 8, 10, 10), std::string(name) + " window");
  }
  cv::RNG rng(11);
  for (int cols : {3, 12, 17, 24, 25, 31, 40, 63, 97}) {
    for (int rows : {5, 16, 23, 40}) {
      cv::Mat noise(rows, cols, CV_8U);
      rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
      for (int cell : {4, 8}) {
        const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + " cell " + std::to_string(cell);
        expect_same_planes(dlib_features(noise, cell, 10, 6), our_features(noise, cell, 10, 6), what);
      }
    }
  }
}

TEST(HogFilter, SeparableFilterGivesDlibsFloatsForEveryShape) {
  std::mt19937 rng(7);
  std::normal_distribution<float> value(0.f, 1.f);
  auto fill = [&](dlib::array2d<float>& img, long rows, long cols) {
    img.set_size(rows, cols);
    for (long r = 0; r < rows; ++r)
      for (long c = 0; c < cols; ++c) img[r][c] = value(rng);
  };
  // Widths around the 8-column blocks, tap counts around the 3-way split, images smaller than
  // the taps; filtering into an image of the same or another size, and adding to one.
  for (long cols : {1L, 5L, 8L, 9L, 15L, 16L, 17L, 23L, 40L}) {
    for (long rows : {1L, 4L, 11L, 26L}) {
      for (long taps : {1L, 2L, 3L, 4L, 5L, 7L, 10L}) {
        dlib::array2d<float> in;
        fill(in, rows, cols);
        dlib::matrix<float, 0, 1> row_taps(taps), col_taps(taps + 1);
        for (long i = 0; i < row_taps.size(); ++i) row_taps(i) = value(rng);
        for (long i = 0; i < col_taps.size(); ++i) col_taps(i) = value(rng);
        for (bool add_to : {false, true}) {
          dlib::array2d<float> want, got, scratch_want, scratch_got;
          fill(want, rows, cols);
          got.set_size(rows, cols);
          for (long r = 0; r < rows; ++r) std::memcpy(&got[r][0], &want[r][0], sizeof(float) * cols);
          const dlib::rectangle a = dlib::float_spatially_filter_image_separable(in, want, row_taps, col_taps, scratch_want, add_to);
          const dlib::rectangle b = filter_separable(in, got, row_taps, col_taps, scratch_got, add_to);
          const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + " taps " +
                                   std::to_string(taps) + (add_to ? " add" : "");
          EXPECT_EQ(a, b) << what;
          expect_same_bits(want, got, what);
        }
      }
    }
  }
}

TEST(HogFilter, FrontalDetectorBanksGiveDlibsSaliencyOnAPhoto) {
  const auto photo = media::read_image("/usr/share/doc/libdlib19.1/examples/faces/2008_002470.jpg");
  ASSERT_TRUE(photo.ok()) << photo.status().message();
  cv::Mat gray;
  cv::cvtColor(as_mat(*photo), gray, cv::COLOR_BGR2GRAY);
  const dlib::frontal_face_detector& detector = test::models()->impl().frontal;
  using Scanner = dlib::scan_fhog_pyramid<dlib::pyramid_down<6>>;
  Scanner scanner;
  scanner.copy_configuration(detector.get_scanner());
  HogPlanes planes;
  scanner.get_feature_extractor()(dlib::cv_image<unsigned char>(gray), planes, scanner.get_cell_size(),
                                  scanner.get_fhog_window_height(), scanner.get_fhog_window_width());
  ASSERT_GT(planes[0].size(), 0u);
  dlib::array2d<float> scratch;
  for (unsigned long i = 0; i < detector.num_detectors(); ++i) {
    const HogFilterBank bank = scanner.build_fhog_filterbank(detector.get_w(i));
    dlib::array2d<float> want, got;
    const dlib::rectangle a = dlib::impl::apply_filters_to_fhog(bank, planes, want);
    const dlib::rectangle b = apply_hog_filters(bank, planes, got, scratch);
    EXPECT_EQ(a, b);
    expect_same_bits(want, got, "detector " + std::to_string(i));
  }
}

}  // namespace
}  // namespace unmask::face::detail
