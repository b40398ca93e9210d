// dlib's HOG features (dlib::extract_fhog_features, dlib/image_transforms/fhog.h, cell size > 1,
// gray 8-bit images) re-typed on raw rows so that they can be compiled for two instruction sets.
// Every value is computed with dlib's operations in dlib's order as its SSE2 build runs them:
//   - gradients and orientations 8 columns at a time (dlib's simd8f), the columns left over one
//     by one with dlib's scalar code (which places the histogram votes with other arithmetic);
//   - the votes added to the histograms lane by lane, in dlib's order;
//   - the four block normalisations of a cell side by side (dlib's simd4f), summed as SSE2's
//     sum() does: (l0 + l2) + (l1 + l3).
// Conversions truncate as dlib's do, and there is no fused multiply-add in either clone. The
// expressions keep dlib's spelling (C casts, double constants) where it decides the types the
// arithmetic is done in.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "face/hog_kernels.h"

namespace unmask::face::detail {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define UNMASK_HOG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define UNMASK_HOG_CLONES
#endif

using F8 = float __attribute__((vector_size(32)));
using I8 = int __attribute__((vector_size(32)));

constexpr int kOrientations = 9;
constexpr int kBins = 2 * kOrientations;
constexpr int kPlanes = 31;
// dlib's unit vectors, stored in float from these double constants.
const float kDirX[kOrientations] = {
    static_cast<float>(1.0000),  static_cast<float>(0.9397),  static_cast<float>(0.7660),
    static_cast<float>(0.500),   static_cast<float>(0.1736),  static_cast<float>(-0.1736),
    static_cast<float>(-0.5000), static_cast<float>(-0.7660), static_cast<float>(-0.9397)};
const float kDirY[kOrientations] = {
    static_cast<float>(0.0000), static_cast<float>(0.3420), static_cast<float>(0.6428),
    static_cast<float>(0.8660), static_cast<float>(0.9848), static_cast<float>(0.9848),
    static_cast<float>(0.8660), static_cast<float>(0.6428), static_cast<float>(0.3420)};

struct Histograms {
  int rows = 0, cols = 0;  // cells plus one all the way round
  std::vector<float> bins; // rows x cols x kBins
  float* at(int r, int c) { return bins.data() + (static_cast<size_t>(r) * cols + c) * kBins; }
};

// dlib's first loop: each pixel's gradient votes, by bilinear weights, into the orientation
// histograms of the four cells around it.
UNMASK_HOG_CLONES
void vote(const uint8_t* img, long stride, int visible_nr, int visible_nc, int cell, Histograms& hist) {
  for (int y = 1; y < visible_nr; y++) {
    const float yp = ((float)y + 0.5) / (float)cell - 0.5;
    const int iyp = (int)std::floor(yp);
    const float vy0 = yp - iyp;
    const float vy1 = 1.0 - vy0;
    const uint8_t* row = img + y * stride;
    const uint8_t* up = row - stride;
    const uint8_t* down = row + stride;
    int x;
    for (x = 1; x < visible_nc - 7; x += 8) {
      const F8 xx = {(float)x, (float)(x + 1), (float)(x + 2), (float)(x + 3),
                     (float)(x + 4), (float)(x + 5), (float)(x + 6), (float)(x + 7)};
      I8 left, right, top, bottom;
      for (int k = 0; k < 8; ++k) {
        left[k] = row[x + k - 1];
        right[k] = row[x + k + 1];
        top[k] = up[x + k];
        bottom[k] = down[x + k];
      }
      const F8 grad_x = __builtin_convertvector(right - left, F8);
      const F8 grad_y = __builtin_convertvector(bottom - top, F8);
      F8 v = grad_x * grad_x + grad_y * grad_y;

      const F8 xp = (xx + 0.5f) / (float)cell + 0.5f;
      const I8 ixp = __builtin_convertvector(xp, I8);  // truncation, as dlib's simd8i(simd8f)
      F8 vx0 = xp - __builtin_convertvector(ixp, F8);
      F8 vx1 = 1.0f - vx0;
      for (int k = 0; k < 8; ++k) v[k] = std::sqrt(v[k]);

      F8 best_dot = {};
      F8 best_o = {};
      for (int o = 0; o < kOrientations; o++) {
        F8 dot = grad_x * kDirX[o] + grad_y * kDirY[o];
        I8 cmp = dot > best_dot;
        best_dot = cmp ? dot : best_dot;
        dot *= -1.0f;
        best_o = cmp ? F8{} + (float)o : best_o;
        cmp = dot > best_dot;
        best_dot = cmp ? dot : best_dot;
        best_o = cmp ? F8{} + (float)(o + 9) : best_o;
      }
      vx1 *= v;
      vx0 *= v;
      const F8 v11 = vy1 * vx1, v01 = vy0 * vx1, v10 = vy1 * vx0, v00 = vy0 * vx0;
      const I8 bin = __builtin_convertvector(best_o, I8);
      for (int k = 0; k < 8; ++k) {
        const int b = bin[k], c = ixp[k];
        hist.at(iyp + 1, c)[b] += v11[k];
        hist.at(iyp + 1 + 1, c)[b] += v01[k];
        hist.at(iyp + 1, c + 1)[b] += v10[k];
        hist.at(iyp + 1 + 1, c + 1)[b] += v00[k];
      }
    }
    // The columns left over, with dlib's scalar code.
    for (; x < visible_nc; x++) {
      const float gx = (int)row[x + 1] - (int)row[x - 1];
      const float gy = (int)down[x] - (int)up[x];
      float v = gx * gx + gy * gy;
      float best_dot = 0;
      int best_o = 0;
      for (int o = 0; o < kOrientations; o++) {
        const float dot = kDirX[o] * gx + kDirY[o] * gy;
        if (dot > best_dot) {
          best_dot = dot;
          best_o = o;
        } else if (-dot > best_dot) {
          best_dot = -dot;
          best_o = o + 9;
        }
      }
      v = std::sqrt(v);
      const float xp = ((double)x + 0.5) / (double)cell - 0.5;
      const int ixp = (int)std::floor(xp);
      const float vx0 = xp - ixp;
      const float vx1 = 1.0 - vx0;
      hist.at(iyp + 1, ixp + 1)[best_o] += vy1 * vx1 * v;
      hist.at(iyp + 1 + 1, ixp + 1)[best_o] += vy0 * vx1 * v;
      hist.at(iyp + 1, ixp + 1 + 1)[best_o] += vy1 * vx0 * v;
      hist.at(iyp + 1 + 1, ixp + 1 + 1)[best_o] += vy0 * vx0 * v;
    }
  }
}

// Horizontal sum of four lanes as dlib's SSE2 sum(simd4f).
inline float sum4(const float h[4]) { return (h[0] + h[2]) + (h[1] + h[3]); }

// dlib's last loop: each cell's 31 features from its histogram, normalised by the energy of the
// four 2x2-cell blocks around it (the four lanes).
UNMASK_HOG_CLONES
void normalise(Histograms& hist, const std::vector<float>& energy, int cells_nc, int hog_nr, int hog_nc,
               int row_offset, int col_offset, float* const* planes, long plane_stride) {
  const float eps = 0.0001;
  auto norm = [&](int r, int c) { return energy[static_cast<size_t>(r) * cells_nc + c]; };
  for (int y = 0; y < hog_nr; y++) {
    const int yy = y + row_offset;
    for (int x = 0; x < hog_nc; x++) {
      const float z1[4] = {norm(y + 1, x + 1), norm(y, x + 1), norm(y + 1, x), norm(y, x)};
      const float z2[4] = {norm(y + 1, x + 2), norm(y, x + 2), norm(y + 1, x + 1), norm(y, x + 1)};
      const float z3[4] = {norm(y + 2, x + 1), norm(y + 1, x + 1), norm(y + 2, x), norm(y + 1, x)};
      const float z4[4] = {norm(y + 2, x + 2), norm(y + 1, x + 2), norm(y + 2, x + 1), norm(y + 1, x + 1)};
      float nn[4], n[4], t[4] = {0, 0, 0, 0};
      for (int l = 0; l < 4; ++l) {
        nn[l] = static_cast<float>(0.2) * std::sqrt(z1[l] + z2[l] + z3[l] + z4[l] + eps);
        n[l] = static_cast<float>(0.1) / nn[l];
      }
      const long at = static_cast<long>(yy) * plane_stride + x + col_offset;
      const float* h = hist.at(y + 1 + 1, x + 1 + 1);
      // min(a, b) as SSE's minps: a when a < b, else b.
      auto scaled = [&](float value, float out[4]) {
        for (int l = 0; l < 4; ++l) out[l] = (value < nn[l] ? value : nn[l]) * n[l];
      };
      for (int o = 0; o < kBins; o += 3) {  // contrast-sensitive
        float h0[4], h1[4], h2[4];
        scaled(h[o], h0);
        scaled(h[o + 1], h1);
        scaled(h[o + 2], h2);
        planes[o][at] = sum4(h0);
        planes[o + 1][at] = sum4(h1);
        planes[o + 2][at] = sum4(h2);
        for (int l = 0; l < 4; ++l) t[l] += h0[l] + h1[l] + h2[l];
      }
      for (int l = 0; l < 4; ++l) t[l] *= static_cast<float>(2 * 0.2357);
      for (int o = 0; o < kOrientations; o += 3) {  // contrast-insensitive
        float h0[4], h1[4], h2[4];
        scaled(h[o] + h[o + 9], h0);
        scaled(h[o + 1] + h[o + 9 + 1], h1);
        scaled(h[o + 2] + h[o + 9 + 2], h2);
        planes[o + 18][at] = sum4(h0);
        planes[o + 18 + 1][at] = sum4(h1);
        planes[o + 18 + 2][at] = sum4(h2);
      }
      for (int l = 0; l < 4; ++l) planes[27 + l][at] = t[l];  // texture
    }
  }
}

}  // namespace

void extract_hog_features(const uint8_t* img, long stride, long rows, long cols, int cell, int pad_rows,
                          int pad_cols, HogPlanes& hog) {
  const int cells_nr = (int)((float)rows / (float)cell + 0.5);
  const int cells_nc = (int)((float)cols / (float)cell + 0.5);
  if (cells_nr == 0 || cells_nc == 0) {
    hog.clear();
    hog.resize(kPlanes);  // dlib's extract_fhog_features: 31 empty planes when nothing fits
    return;
  }
  thread_local Histograms hist;
  hist.rows = cells_nr + 2;
  hist.cols = cells_nc + 2;
  hist.bins.assign(static_cast<size_t>(hist.rows) * hist.cols * kBins, 0.f);
  const int hog_nr = std::max(cells_nr - 2, 0), hog_nc = std::max(cells_nc - 2, 0);
  if (hog_nr == 0 || hog_nc == 0) {
    hog.clear();
    hog.resize(kPlanes);
    return;
  }
  const int row_offset = (pad_rows - 1) / 2, col_offset = (pad_cols - 1) / 2;
  // dlib's init_hog: every plane the padded size, zero outside the cells written below.
  hog.resize(kPlanes);
  float* planes[kPlanes];
  for (int i = 0; i < kPlanes; ++i) {
    hog[i].set_size(hog_nr + pad_rows - 1, hog_nc + pad_cols - 1);
    dlib::rectangle inside = dlib::get_rect(hog[i]);
    inside.top() += (pad_rows - 1) / 2;
    inside.left() += (pad_cols - 1) / 2;
    inside.right() -= pad_cols / 2;
    inside.bottom() -= pad_rows / 2;
    dlib::zero_border_pixels(hog[i], inside);
    planes[i] = &hog[i][0][0];
  }
  const int visible_nr = static_cast<int>(std::min(static_cast<long>(cells_nr) * cell, rows)) - 1;
  const int visible_nc = static_cast<int>(std::min(static_cast<long>(cells_nc) * cell, cols)) - 1;
  vote(img, stride, visible_nr, visible_nc, cell, hist);

  // Energy of each cell: its 9 contrast-insensitive bins squared, added in order.
  thread_local std::vector<float> energy;
  energy.assign(static_cast<size_t>(cells_nr) * cells_nc, 0.f);
  for (int r = 0; r < cells_nr; ++r) {
    for (int c = 0; c < cells_nc; ++c) {
      const float* h = hist.at(r + 1, c + 1);
      float& e = energy[static_cast<size_t>(r) * cells_nc + c];
      for (int o = 0; o < kOrientations; o++) e += (h[o] + h[o + 9]) * (h[o] + h[o + 9]);
    }
  }
  normalise(hist, energy, cells_nc, hog_nr, hog_nc, row_offset, col_offset, planes,
            static_cast<long>(hog[0].width_step() / sizeof(float)));
}

}  // namespace unmask::face::detail
