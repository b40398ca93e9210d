// The kernels of nn's LibTorch-free inference (private to nn): plain C++ loops the compiler
// vectorises, on one example at a time in channel-major planes ({channels, height, width}, row-major).
// Batch norm is folded into the convolutions before they get here, so every convolution has a bias.
//
// Each optimised kernel has a plain reference next to it (conv2d_reference), and the tests check
// that they agree on random input; the networks built from them are checked against LibTorch's.
#pragma once

#include <cstdint>
#include <vector>

namespace unmask::nn::detail::native {

// A 2-D convolution's shape. Weights are {out, in / groups, kernel, kernel}, as LibTorch stores them;
// padding is kernel / 2 (LibTorch's "same" for odd kernels at stride 1).
struct ConvShape {
  int in_channels = 0;
  int out_channels = 0;
  int kernel = 1;
  int stride = 1;
  int groups = 1;

  int padding() const { return kernel / 2; }
  int out_size(int in_size) const { return (in_size + 2 * padding() - kernel) / stride + 1; }
};

// Scratch space a thread reuses across layers and calls (grows, never shrinks).
struct Scratch {
  std::vector<float> columns;  // im2col for full convolutions with kernel > 1
  std::vector<float> padded;   // one zero-padded plane for depthwise convolutions
};

// y = conv(x) + bias, x of {in_channels, h, w}; y must hold out_channels * out_size(h) * out_size(w).
// Supports groups == 1 (any kernel, any stride) and depthwise (groups == in == out, kernel 3).
void conv2d(const ConvShape& shape, const float* weights, const float* bias, const float* x, int h, int w,
            float* y, Scratch& scratch);

// The same by the definition, for tests: any groups that divide both channel counts, any kernel.
void conv2d_reference(const ConvShape& shape, const float* weights, const float* bias, const float* x, int h,
                      int w, float* y);

// y[o] = bias[o] + sum_i weights[o * n_in + i] * x[i] (a fully connected layer; weights {n_out, n_in}).
void linear(const float* weights, const float* bias, int n_in, int n_out, const float* x, float* y);

// In place: x * sigmoid(x) (SiLU) and sigmoid(x), over n values. exp() is a polynomial with a
// relative error below 2e-7 on the whole float range, so these match LibTorch's to ~1e-6.
void silu_inplace(float* x, int64_t n);
void sigmoid_inplace(float* x, int64_t n);

// mean over each of `channels` planes of `plane` values.
void channel_means(const float* x, int channels, int64_t plane, float* means);

}  // namespace unmask::nn::detail::native
