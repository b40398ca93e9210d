// The project's HOG filtering against dlib's own: the same floats, bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include <dlib/image_transforms.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>

#include "face/hog_filter.h"
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
