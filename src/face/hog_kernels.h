// Private: dlib's HOG features and HOG filter bank, with the same float operations in the same
// order as dlib (so the same detections, bit for bit), compiled twice: for SSE2 as dlib is, and
// for AVX2, chosen at load time. dlib picks its SIMD width when it is compiled, and the project is
// built for any x86-64: the features and the filters were ~9 % each of a 720p scan's CPU, on the
// decoding thread (full-frame passes) and the tracking thread (windows). Tests include it.
#pragma once

#include <dlib/image_processing/scan_fhog_pyramid.h>

namespace unmask::face::detail {

using HogFilterBank = dlib::scan_fhog_pyramid<dlib::pyramid_down<6>>::fhog_filterbank;
using HogPlanes = dlib::array<dlib::array2d<float>>;

// dlib::extract_fhog_features(img, hog, cell, pad_rows, pad_cols) for a gray 8-bit image of
// rows x cols pixels, `stride` bytes apart, and cells of at least 2 pixels (dlib has other code
// for 1): the 31 planes, padded for the filters, zero outside the cells (empty when no cell fits).
void extract_hog_features(const uint8_t* img, long stride, long rows, long cols, int cell, int pad_rows,
                          int pad_cols, HogPlanes& hog);

// dlib::float_spatially_filter_image_separable(in, out, row_taps, col_taps, scratch, add_to):
// out (or out += when add_to) is `in` filtered along rows then columns; the border the taps do
// not cover is zeroed unless add_to. Returns the covered rectangle.
dlib::rectangle filter_separable(const dlib::array2d<float>& in, dlib::array2d<float>& out,
                                 const dlib::matrix<float, 0, 1>& row_taps,
                                 const dlib::matrix<float, 0, 1>& col_taps,
                                 dlib::array2d<float>& scratch, bool add_to);

// dlib::impl::apply_filters_to_fhog(bank, planes, saliency): the sum of every plane's separable
// filters (or dlib's own code for a bank that is cheaper unseparated). `scratch` is reused.
dlib::rectangle apply_hog_filters(const HogFilterBank& bank, const HogPlanes& planes,
                                  dlib::array2d<float>& saliency, dlib::array2d<float>& scratch);

}  // namespace unmask::face::detail
