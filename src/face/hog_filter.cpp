// dlib's separable HOG filtering (dlib/image_transforms/spatial_filtering.h) re-typed on raw rows
// so that it can be compiled for two instruction sets. Each output is computed exactly as dlib
// does: blocks of 8 columns with three partial sums over the taps (tap n into sum n mod 3, the
// last taps into the first sum, then s1 + (s2 + s3)), the columns left over with one sum, products
// and sums only. Lane width does not change a lane's arithmetic, and there is no fused
// multiply-add in either clone (AVX2 alone does not enable FMA), so both clones give dlib's floats.
#include "face/hog_kernels.h"

#include <algorithm>
#include <cstring>

namespace unmask::face::detail {
namespace {

using Lanes = float __attribute__((vector_size(32)));  // dlib's simd8f: 8 floats

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define UNMASK_HOG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define UNMASK_HOG_CLONES
#endif

// One image plane as rows of floats.
struct Plane {
  float* data;
  long stride;  // floats from one row to the next
  float* row(long r) const { return data + r * stride; }
};

// scratch[r][c] for every row and c in [first, last): the row taps over in[r][c - first ...].
UNMASK_HOG_CLONES
void filter_rows(Plane in, long rows, long first, long last, const float* taps, long n_taps, Plane scratch) {
  for (long r = 0; r < rows; ++r) {
    const float* src = in.row(r);
    float* dst = scratch.row(r);
    long c = first;
    for (; c < last - 7; c += 8) {
      Lanes s1 = {}, s2 = {}, s3 = {}, p, p2, p3;
      const float* at = src + (c - first);
      long n = 0;
      for (; n < n_taps - 2; n += 3) {
        std::memcpy(&p, at + n, sizeof p);
        std::memcpy(&p2, at + n + 1, sizeof p2);
        std::memcpy(&p3, at + n + 2, sizeof p3);
        s1 += p * taps[n];
        s2 += p2 * taps[n + 1];
        s3 += p3 * taps[n + 2];
      }
      for (; n < n_taps; ++n) {
        std::memcpy(&p, at + n, sizeof p);
        s1 += p * taps[n];
      }
      s1 += s2 + s3;
      std::memcpy(dst + c, &s1, sizeof s1);
    }
    for (; c < last; ++c) {
      float s = 0;
      for (long n = 0; n < n_taps; ++n) s += src[c - first + n] * taps[n];
      dst[c] = s;
    }
  }
}

// out[r][c] (= or +=) for r in [first_row, last_row), c in [first_col, last_col): the column
// taps over scratch[r - first_row ...][c].
UNMASK_HOG_CLONES
void filter_columns(Plane scratch, long first_row, long last_row, long first_col, long last_col,
                    const float* taps, long n_taps, Plane out, bool add_to) {
  for (long r = first_row; r < last_row; ++r) {
    float* dst = out.row(r);
    long c = first_col;
    for (; c < last_col - 7; c += 8) {
      Lanes s1 = {}, s2 = {}, s3 = {}, p, p2, p3;
      long m = 0;
      for (; m < n_taps - 2; m += 3) {
        std::memcpy(&p, scratch.row(r - first_row + m) + c, sizeof p);
        std::memcpy(&p2, scratch.row(r - first_row + m + 1) + c, sizeof p2);
        std::memcpy(&p3, scratch.row(r - first_row + m + 2) + c, sizeof p3);
        s1 += p * taps[m];
        s2 += p2 * taps[m + 1];
        s3 += p3 * taps[m + 2];
      }
      for (; m < n_taps; ++m) {
        std::memcpy(&p, scratch.row(r - first_row + m) + c, sizeof p);
        s1 += p * taps[m];
      }
      s1 += s2 + s3;
      if (add_to) {
        std::memcpy(&p, dst + c, sizeof p);
        s1 += p;
      }
      std::memcpy(dst + c, &s1, sizeof s1);
    }
    for (; c < last_col; ++c) {
      float s = 0;
      for (long m = 0; m < n_taps; ++m) s += scratch.row(r - first_row + m)[c] * taps[m];
      if (add_to) dst[c] += s;
      else dst[c] = s;
    }
  }
}

// The rows of `img` (read-only when the caller's image is: filter_rows only reads its input).
Plane plane_of(const dlib::array2d<float>& img) {
  float* first = img.size() ? const_cast<float*>(&img[0][0]) : nullptr;
  return Plane{first, static_cast<long>(img.width_step() / sizeof(float))};
}

}  // namespace

dlib::rectangle filter_separable(const dlib::array2d<float>& in, dlib::array2d<float>& out,
                                 const dlib::matrix<float, 0, 1>& row_taps,
                                 const dlib::matrix<float, 0, 1>& col_taps,
                                 dlib::array2d<float>& scratch, bool add_to) {
  if (in.size() == 0) {
    out.clear();
    return dlib::rectangle();
  }
  const long rows = in.nr(), cols = in.nc();
  out.set_size(rows, cols);
  const long first_row = col_taps.size() / 2, first_col = row_taps.size() / 2;
  const long last_row = rows - (col_taps.size() - 1) / 2, last_col = cols - (row_taps.size() - 1) / 2;
  const dlib::rectangle covered(first_col, first_row, last_col - 1, last_row - 1);
  if (!add_to) dlib::zero_border_pixels(out, covered);
  scratch.set_size(rows, cols);
  filter_rows(plane_of(in), rows, first_col, last_col, &row_taps(0), row_taps.size(), plane_of(scratch));
  filter_columns(plane_of(scratch), first_row, last_row, first_col, last_col, &col_taps(0), col_taps.size(),
                 plane_of(out), add_to);
  return covered;
}

dlib::rectangle apply_hog_filters(const HogFilterBank& bank, const HogPlanes& planes,
                                  dlib::array2d<float>& saliency, dlib::array2d<float>& scratch) {
  // dlib's own choice between the separable and the full filters.
  if (bank.num_separable_filters() >
      bank.filters.size() * std::min(bank.filters[0].nr(), bank.filters[0].nc()) / 3.0) {
    return dlib::impl::apply_filters_to_fhog(bank, planes, saliency);
  }
  dlib::rectangle area;
  bool first = true;  // the first filter writes every pixel; the others add to it
  for (size_t i = 0; i < bank.row_filters.size(); ++i) {
    for (size_t j = 0; j < bank.row_filters[i].size(); ++j) {
      area = filter_separable(planes[i], saliency, bank.row_filters[i][j], bank.col_filters[i][j], scratch, !first);
      first = false;
    }
  }
  if (first) {
    saliency.set_size(planes[0].nr(), planes[0].nc());
    dlib::assign_all_pixels(saliency, 0);
  }
  return area;
}

}  // namespace unmask::face::detail
