// The kernels of the LibTorch-free inference (native_ops.h). Written as plain loops over
// contiguous rows with fixed-size inner blocks, which GCC vectorises (-O3; this file is built with
// -fno-trapping-math so that the clamps in exp_poly are selects, not branches). The hot kernels
// are also compiled for the x86-64-v3 (AVX2, FMA) and v4 (AVX-512) levels and chosen at load time
// on CPUs that have them (target_clones): on this project's 2-core host the v4 SiLU is 14x faster
// than the SSE2 one. FMA rounds once instead of twice, so the levels differ in the last bits.
#include "nn/native_ops.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace unmask::nn::detail::native {
namespace {

#define UNMASK_NATIVE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// exp(x) for any float (clamped where expf would overflow or go subnormal): Cody-Waite range
// reduction to |r| <= ln2/2, Cephes' degree-6 polynomial, and 2^n put into the exponent bits.
inline float exp_poly(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float t = x * 1.44269504088896341f;
  const int32_t n_int = static_cast<int32_t>(t + std::copysign(0.5f, t));  // round half away
  const float n = static_cast<float>(n_int);
  float r = x - n * 0.693359375f;
  r -= n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t bits = (n_int + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// y[o][p] = bias[o] + sum_i w[o][i] * x[i][p] for p < n_points: the 1x1 convolution, and the
// product with the im2col columns for larger kernels. Blocks of 4 outputs x 16 points keep their
// sums in registers while the inputs stream past.
UNMASK_NATIVE_CLONES void pointwise(const float* x, int n_in, int64_t n_points, const float* w, const float* bias, int n_out,
               float* y) {
  constexpr int kPoints = 16;
  constexpr int kOuts = 4;
  int64_t p0 = 0;
  for (; p0 + kPoints <= n_points; p0 += kPoints) {
    int o = 0;
    for (; o + kOuts <= n_out; o += kOuts) {
      float acc[kOuts][kPoints];
      for (int j = 0; j < kOuts; ++j) {
        for (int k = 0; k < kPoints; ++k) acc[j][k] = bias[o + j];
      }
      const float* w0 = w + static_cast<int64_t>(o) * n_in;
      for (int i = 0; i < n_in; ++i) {
        const float* xr = x + i * n_points + p0;
        const float a = w0[i], b = w0[n_in + i], c = w0[2 * n_in + i], d = w0[3 * n_in + i];
        for (int k = 0; k < kPoints; ++k) {
          const float v = xr[k];
          acc[0][k] += a * v;
          acc[1][k] += b * v;
          acc[2][k] += c * v;
          acc[3][k] += d * v;
        }
      }
      for (int j = 0; j < kOuts; ++j) std::memcpy(y + (o + j) * n_points + p0, acc[j], sizeof acc[j]);
    }
    for (; o < n_out; ++o) {
      float acc[kPoints];
      for (int k = 0; k < kPoints; ++k) acc[k] = bias[o];
      const float* wr = w + static_cast<int64_t>(o) * n_in;
      for (int i = 0; i < n_in; ++i) {
        const float* xr = x + i * n_points + p0;
        for (int k = 0; k < kPoints; ++k) acc[k] += wr[i] * xr[k];
      }
      std::memcpy(y + o * n_points + p0, acc, sizeof acc);
    }
  }
  for (int64_t p = p0; p < n_points; ++p) {  // the last few points
    for (int o = 0; o < n_out; ++o) {
      float s = bias[o];
      const float* wr = w + static_cast<int64_t>(o) * n_in;
      for (int i = 0; i < n_in; ++i) s += wr[i] * x[i * n_points + p];
      y[o * n_points + p] = s;
    }
  }
}

// Rows (c, ky, kx) of the im2col matrix: x[c][oy * s + ky - pad][ox * s + kx - pad], 0 outside.
void im2col(const ConvShape& shape, const float* x, int h, int w, std::vector<float>& columns) {
  const int k = shape.kernel, s = shape.stride, pad = shape.padding();
  const int oh = shape.out_size(h), ow = shape.out_size(w);
  const int64_t n_points = static_cast<int64_t>(oh) * ow;
  columns.resize(static_cast<size_t>(shape.in_channels) * k * k * n_points);
  float* out = columns.data();
  for (int c = 0; c < shape.in_channels; ++c) {
    const float* plane = x + static_cast<int64_t>(c) * h * w;
    for (int ky = 0; ky < k; ++ky) {
      for (int kx = 0; kx < k; ++kx, out += n_points) {
        for (int oy = 0; oy < oh; ++oy) {
          const int iy = oy * s + ky - pad;
          float* row = out + static_cast<int64_t>(oy) * ow;
          if (iy < 0 || iy >= h) {
            std::fill(row, row + ow, 0.0f);
            continue;
          }
          const float* in = plane + static_cast<int64_t>(iy) * w;
          for (int ox = 0; ox < ow; ++ox) {
            const int ix = ox * s + kx - pad;
            row[ox] = (ix >= 0 && ix < w) ? in[ix] : 0.0f;
          }
        }
      }
    }
  }
}

// 3x3 depthwise: each channel against its own 3x3 kernel, over a zero-padded copy of the plane.
UNMASK_NATIVE_CLONES void depthwise3x3(const ConvShape& shape, const float* weights, const float* bias, const float* x, int h, int w,
                  float* y, std::vector<float>& padded) {
  const int s = shape.stride;
  const int oh = shape.out_size(h), ow = shape.out_size(w);
  const int pw = w + 2;
  padded.assign(static_cast<size_t>(h + 2) * pw, 0.0f);
  for (int c = 0; c < shape.in_channels; ++c) {
    const float* plane = x + static_cast<int64_t>(c) * h * w;
    for (int iy = 0; iy < h; ++iy) {
      std::memcpy(&padded[static_cast<size_t>(iy + 1) * pw + 1], plane + static_cast<int64_t>(iy) * w,
                  sizeof(float) * w);
    }
    const float* k = weights + c * 9;
    const float b = bias[c];
    float* out = y + static_cast<int64_t>(c) * oh * ow;
    for (int oy = 0; oy < oh; ++oy) {
      const float* r0 = &padded[static_cast<size_t>(oy) * s * pw];
      const float* r1 = r0 + pw;
      const float* r2 = r1 + pw;
      float* row = out + static_cast<int64_t>(oy) * ow;
      if (s == 1) {
        for (int ox = 0; ox < ow; ++ox) {
          row[ox] = b + k[0] * r0[ox] + k[1] * r0[ox + 1] + k[2] * r0[ox + 2] + k[3] * r1[ox] +
                    k[4] * r1[ox + 1] + k[5] * r1[ox + 2] + k[6] * r2[ox] + k[7] * r2[ox + 1] + k[8] * r2[ox + 2];
        }
      } else {
        for (int ox = 0; ox < ow; ++ox) {
          const int i = ox * s;
          row[ox] = b + k[0] * r0[i] + k[1] * r0[i + 1] + k[2] * r0[i + 2] + k[3] * r1[i] + k[4] * r1[i + 1] +
                    k[5] * r1[i + 2] + k[6] * r2[i] + k[7] * r2[i + 1] + k[8] * r2[i + 2];
        }
      }
    }
  }
}

}  // namespace

void conv2d(const ConvShape& shape, const float* weights, const float* bias, const float* x, int h, int w,
            float* y, Scratch& scratch) {
  const int64_t n_points = static_cast<int64_t>(shape.out_size(h)) * shape.out_size(w);
  if (shape.groups == 1) {
    if (shape.kernel == 1 && shape.stride == 1) {
      pointwise(x, shape.in_channels, n_points, weights, bias, shape.out_channels, y);
      return;
    }
    im2col(shape, x, h, w, scratch.columns);
    pointwise(scratch.columns.data(), shape.in_channels * shape.kernel * shape.kernel, n_points, weights, bias,
              shape.out_channels, y);
    return;
  }
  assert(shape.groups == shape.in_channels && shape.in_channels == shape.out_channels && shape.kernel == 3);
  depthwise3x3(shape, weights, bias, x, h, w, y, scratch.padded);
}

void conv2d_reference(const ConvShape& shape, const float* weights, const float* bias, const float* x, int h,
                      int w, float* y) {
  const int oh = shape.out_size(h), ow = shape.out_size(w), k = shape.kernel, pad = shape.padding();
  const int in_per_group = shape.in_channels / shape.groups;
  const int out_per_group = shape.out_channels / shape.groups;
  for (int o = 0; o < shape.out_channels; ++o) {
    const int first_in = (o / out_per_group) * in_per_group;
    for (int oy = 0; oy < oh; ++oy) {
      for (int ox = 0; ox < ow; ++ox) {
        double sum = bias[o];
        for (int i = 0; i < in_per_group; ++i) {
          for (int ky = 0; ky < k; ++ky) {
            for (int kx = 0; kx < k; ++kx) {
              const int iy = oy * shape.stride + ky - pad, ix = ox * shape.stride + kx - pad;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const float wv = weights[((static_cast<int64_t>(o) * in_per_group + i) * k + ky) * k + kx];
              sum += static_cast<double>(wv) * x[(static_cast<int64_t>(first_in + i) * h + iy) * w + ix];
            }
          }
        }
        y[(static_cast<int64_t>(o) * oh + oy) * ow + ox] = static_cast<float>(sum);
      }
    }
  }
}

void linear(const float* weights, const float* bias, int n_in, int n_out, const float* x, float* y) {
  for (int o = 0; o < n_out; ++o) {
    const float* wr = weights + static_cast<int64_t>(o) * n_in;
    float s = 0.0f;
    for (int i = 0; i < n_in; ++i) s += wr[i] * x[i];
    y[o] = s + bias[o];
  }
}

UNMASK_NATIVE_CLONES void silu_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + exp_poly(-x[i]));
}

UNMASK_NATIVE_CLONES void sigmoid_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + exp_poly(-x[i]));
}

void channel_means(const float* x, int channels, int64_t plane, float* means) {
  for (int c = 0; c < channels; ++c) {
    const float* p = x + c * plane;
    float s = 0.0f;
    for (int64_t i = 0; i < plane; ++i) s += p[i];
    means[c] = s / static_cast<float>(plane);
  }
}

}  // namespace unmask::nn::detail::native
