// Private: dlib's HOG filter bank applied to one pyramid level, with the same float operations in
// the same order as dlib (so the same detections, bit for bit), compiled twice: for SSE2 as dlib
// is, and for AVX2, chosen at load time. The filters were ~9 % of a 720p scan's CPU; dlib picks
// its SIMD width when it is compiled, and the project is built for any x86-64. Tests include it.
#pragma once

#include <dlib/image_processing/scan_fhog_pyramid.h>

namespace unmask::face::detail {

using HogFilterBank = dlib::scan_fhog_pyramid<dlib::pyramid_down<6>>::fhog_filterbank;
using HogPlanes = dlib::array<dlib::array2d<float>>;

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
