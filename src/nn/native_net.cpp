// The registry's networks without LibTorch (native_net.h). The CNN's block layout comes from
// cnn_layout.h, as networks.cpp's does; the layer names and the order of operations inside a block
// are networks.cpp's (BlendCnn, Mlp): a change there needs the same change here, and
// tests/nn/native_test.cpp fails until both agree.
#include "nn/native_net.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <system_error>
#include <thread>
#include <vector>

#include "nn/cnn_layout.h"
#include "nn/native_ops.h"
#include "nn/torch_archive.h"

namespace unmask::nn::detail {
namespace {

namespace ops = native;

std::atomic<int> g_native_threads{kDefaultThreads};

constexpr double kBatchNormEps = 1e-5;  // LibTorch's BatchNorm2d default, which networks.cpp keeps

using Tensors = std::map<std::string, ArchiveTensor>;

// Looks tensors up by name and shape; the first mismatch is kept as the error.
class WeightReader {
 public:
  WeightReader(const Tensors& tensors, const std::string& what, const std::string& arch)
      : tensors_(tensors), what_(what), arch_(arch) {}

  // The tensor's values, or an empty vector (and the error recorded) when it is missing or has
  // another shape. `parameter`: counted in n_parameters (batch norm's running statistics are not).
  std::vector<float> get(const std::string& name, const std::vector<int64_t>& shape, bool parameter = true) {
    if (!error_.is_ok()) return {};
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      error_ = Status::model(what_, "weights do not fit architecture " + arch_ + " (no tensor " + name + ")");
      return {};
    }
    if (it->second.shape != shape) {
      error_ = Status::model(what_, "weights do not fit architecture " + arch_ + " (tensor " + name + ")");
      return {};
    }
    if (parameter) n_parameters_ += static_cast<int64_t>(it->second.values.size());
    return it->second.values;
  }
  const Status& error() const { return error_; }
  int64_t n_parameters() const { return n_parameters_; }

 private:
  const Tensors& tensors_;
  const std::string& what_;
  const std::string& arch_;
  Status error_ = Status::ok();
  int64_t n_parameters_ = 0;
};

// A convolution with its bias (batch norm folded in, or the layer's own), then SiLU or nothing.
struct Conv {
  ops::ConvShape shape;
  bool silu = false;
  std::vector<float> weights, bias;
};

// networks.cpp's ConvBnAct at `prefix`: conv (no bias) -> batch norm (running statistics) -> act.
Conv read_conv_bn(WeightReader& r, const std::string& prefix, int in, int out, int kernel, int stride, int groups,
                  bool silu) {
  Conv c{{in, out, kernel, stride, groups}, silu, {}, {}};
  c.weights = r.get(prefix + ".conv.weight", {out, in / groups, kernel, kernel});
  const auto gamma = r.get(prefix + ".bn.weight", {out});
  const auto beta = r.get(prefix + ".bn.bias", {out});
  const auto mean = r.get(prefix + ".bn.running_mean", {out}, false);
  const auto var = r.get(prefix + ".bn.running_var", {out}, false);
  if (!r.error().is_ok()) return c;
  c.bias.resize(out);
  const size_t per_out = c.weights.size() / out;
  for (int o = 0; o < out; ++o) {
    const double scale = gamma[o] / std::sqrt(static_cast<double>(var[o]) + kBatchNormEps);
    for (size_t i = 0; i < per_out; ++i) c.weights[o * per_out + i] = static_cast<float>(c.weights[o * per_out + i] * scale);
    c.bias[o] = static_cast<float>(beta[o] - mean[o] * scale);
  }
  return c;
}

// A convolution with its own bias (torch::nn::Conv2d with bias), no activation.
Conv read_conv(WeightReader& r, const std::string& prefix, int in, int out, int kernel) {
  Conv c{{in, out, kernel, 1, 1}, false, {}, {}};
  c.weights = r.get(prefix + ".weight", {out, in, kernel, kernel});
  c.bias = r.get(prefix + ".bias", {out});
  return c;
}

struct Linear {
  int n_in = 0, n_out = 0;
  std::vector<float> weights, bias;
};

Linear read_linear(WeightReader& r, const std::string& prefix, int n_in, int n_out) {
  return {n_in, n_out, r.get(prefix + ".weight", {n_out, n_in}), r.get(prefix + ".bias", {n_out})};
}

struct Block {
  bool has_expand = false, has_se = false, residual = false;
  Conv expand, depthwise, project;
  Linear se_reduce, se_expand;  // squeeze-excite's 1x1 convolutions on the channel means
};

// Per-thread buffers, reused across layers, examples and calls.
struct Workspace {
  std::vector<float> x, expanded, depthwise, out, boundary, means, hidden;
  ops::Scratch scratch;
};

// Runs `c` on x {in, h, w} into y (resized), updating h and w to the output's; SiLU when the layer has it.
void run_conv(const Conv& c, const std::vector<float>& x, int& h, int& w, std::vector<float>& y, Workspace& ws) {
  const int oh = c.shape.out_size(h), ow = c.shape.out_size(w);
  y.resize(static_cast<size_t>(c.shape.out_channels) * oh * ow);
  ops::conv2d(c.shape, c.weights.data(), c.bias.data(), x.data(), h, w, y.data(), ws.scratch);
  h = oh;
  w = ow;
  if (c.silu) ops::silu_inplace(y.data(), static_cast<int64_t>(y.size()));
}

class NativeCnn : public backend::Network {
 public:
  NativeCnn(const ModelSpec& spec, WeightReader& r) : spec_(spec) {
    const auto& wd = spec.widths;
    stem_ = read_conv_bn(r, "stem", spec.in_channels, wd[0], 3, 2, 1, true);
    const std::vector<CnnBlock> specs = cnn_blocks(wd);
    for (size_t i = 0; i < specs.size(); ++i) {
      const CnnBlock& s = specs[i];
      const std::string p = "block" + std::to_string(i);
      const int mid = s.in * s.expansion;
      Block b;
      b.residual = s.residual();
      b.has_expand = s.expansion != 1;
      if (b.has_expand) b.expand = read_conv_bn(r, p + ".expand", s.in, mid, 1, 1, 1, true);
      b.depthwise = read_conv_bn(r, p + ".depthwise", mid, mid, 3, s.stride, mid, true);
      b.has_se = s.se;
      if (s.se) {
        const int reduced = se_width(s.in);
        b.se_reduce = {mid, reduced, r.get(p + ".se.reduce.weight", {reduced, mid, 1, 1}), r.get(p + ".se.reduce.bias", {reduced})};
        b.se_expand = {reduced, mid, r.get(p + ".se.expand.weight", {mid, reduced, 1, 1}), r.get(p + ".se.expand.bias", {mid})};
      }
      b.project = read_conv_bn(r, p + ".project", mid, s.out, 1, 1, 1, false);
      blocks_.push_back(std::move(b));
    }
    head_ = read_conv_bn(r, "head", wd[4], wd[5], 1, 1, 1, true);
    classifier_ = read_linear(r, "classifier", wd[5], 1);
    if (spec.boundary_head) {
      boundary_conv_ = read_conv_bn(r, "boundary_conv", wd[2], wd[2], 3, 1, 1, true);
      boundary_out_ = read_conv(r, "boundary_out", wd[2], 1, 1);
    }
    n_parameters_ = r.n_parameters();
  }

  Result<Prediction> predict(const Batch& inputs) const override {
    Prediction p;
    const int64_t n = inputs.n();
    p.logits.assign(n, 0.0f);
    const int side = spec_.boundary_size_px();
    if (spec_.boundary_head) {
      p.boundary.shape = {n, 1, side, side};
      p.boundary.values.assign(static_cast<size_t>(n) * side * side, 0.0f);
    }
    const bool ok = for_examples(n, [&](int64_t i) {
      forward(example_values(inputs, i).data(), &p.logits[i],
              spec_.boundary_head ? &p.boundary.values[static_cast<size_t>(i) * side * side] : nullptr);
    });
    if (!ok) return Status::model("model " + spec_.name, "forward pass failed: out of memory");
    return p;
  }
  int64_t n_parameters() const override { return n_parameters_; }

  // Runs body(i) for every example, on up to native_threads() threads (fewer when a thread cannot
  // be started: its share runs here). False when a body threw (std::bad_alloc).
  template <typename Body>
  static bool for_examples(int64_t n, const Body& body) {
    const int64_t n_threads = std::min<int64_t>(std::max(1, native_threads()), n);
    std::atomic<bool> failed{false};
    auto share = [&](int64_t first) {
      try {
        for (int64_t i = first; i < n; i += n_threads) body(i);
      } catch (...) {
        failed = true;
      }
    };
    std::vector<std::thread> helpers;
    int64_t next = 1;
    for (; next < n_threads; ++next) {
      try {
        helpers.emplace_back(share, next);
      } catch (const std::system_error&) {
        break;
      }
    }
    for (; next < n_threads; ++next) share(next);
    share(0);
    for (auto& h : helpers) h.join();
    return !failed;
  }

 private:
  void forward(const float* input, float* logit, float* boundary) const {
    thread_local Workspace ws;
    int h = spec_.input_size_px, w = spec_.input_size_px;
    ws.x.assign(input, input + static_cast<size_t>(spec_.in_channels) * h * w);
    run_conv(stem_, ws.x, h, w, ws.out, ws);
    std::swap(ws.x, ws.out);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      run_block(blocks_[i], h, w, ws);
      if (i == kCnnBoundaryTap && boundary != nullptr) {
        int bh = h, bw = w;
        run_conv(boundary_conv_, ws.x, bh, bw, ws.expanded, ws);
        run_conv(boundary_out_, ws.expanded, bh, bw, ws.boundary, ws);
        ops::sigmoid_inplace(ws.boundary.data(), static_cast<int64_t>(ws.boundary.size()));
        std::copy(ws.boundary.begin(), ws.boundary.end(), boundary);
      }
    }
    run_conv(head_, ws.x, h, w, ws.out, ws);
    ws.means.resize(head_.shape.out_channels);
    ops::channel_means(ws.out.data(), head_.shape.out_channels, static_cast<int64_t>(h) * w, ws.means.data());
    ops::linear(classifier_.weights.data(), classifier_.bias.data(), classifier_.n_in, 1, ws.means.data(), logit);
  }

  // One inverted residual block on ws.x {c, h, w}; the result is left in ws.x.
  void run_block(const Block& b, int& h, int& w, Workspace& ws) const {
    int bh = h, bw = w;
    const std::vector<float>* in = &ws.x;
    if (b.has_expand) {
      run_conv(b.expand, ws.x, bh, bw, ws.expanded, ws);
      in = &ws.expanded;
    }
    run_conv(b.depthwise, *in, bh, bw, ws.depthwise, ws);
    if (b.has_se) {
      const int channels = b.depthwise.shape.out_channels;
      const int64_t plane = static_cast<int64_t>(bh) * bw;
      ws.means.resize(channels);
      ws.hidden.resize(b.se_reduce.n_out);
      ops::channel_means(ws.depthwise.data(), channels, plane, ws.means.data());
      ops::linear(b.se_reduce.weights.data(), b.se_reduce.bias.data(), channels, b.se_reduce.n_out, ws.means.data(),
                  ws.hidden.data());
      ops::silu_inplace(ws.hidden.data(), b.se_reduce.n_out);
      ops::linear(b.se_expand.weights.data(), b.se_expand.bias.data(), b.se_reduce.n_out, channels, ws.hidden.data(),
                  ws.means.data());
      ops::sigmoid_inplace(ws.means.data(), channels);
      for (int c = 0; c < channels; ++c) {
        float* p = ws.depthwise.data() + c * plane;
        const float s = ws.means[c];
        for (int64_t k = 0; k < plane; ++k) p[k] *= s;
      }
    }
    run_conv(b.project, ws.depthwise, bh, bw, ws.out, ws);
    if (b.residual) {
      for (size_t k = 0; k < ws.out.size(); ++k) ws.out[k] += ws.x[k];
    }
    std::swap(ws.x, ws.out);
    h = bh;
    w = bw;
  }

  ModelSpec spec_;
  Conv stem_, head_, boundary_conv_, boundary_out_;
  std::vector<Block> blocks_;
  Linear classifier_;
  int64_t n_parameters_ = 0;
};

class NativeMlp : public backend::Network {
 public:
  NativeMlp(const ModelSpec& spec, WeightReader& r) {
    int in = spec.n_features;
    for (size_t i = 0; i < spec.widths.size(); ++i) {
      hidden_.push_back(read_linear(r, "fc" + std::to_string(i), in, spec.widths[i]));
      in = spec.widths[i];
    }
    out_ = read_linear(r, "out", in, 1);
    n_parameters_ = r.n_parameters();
  }

  Result<Prediction> predict(const Batch& inputs) const override {
    Prediction p;
    p.logits.resize(inputs.n());
    std::vector<float> a, b;
    for (int64_t i = 0; i < inputs.n(); ++i) {
      auto row = example_values(inputs, i);
      a.assign(row.begin(), row.end());
      for (const Linear& layer : hidden_) {
        b.resize(layer.n_out);
        ops::linear(layer.weights.data(), layer.bias.data(), layer.n_in, layer.n_out, a.data(), b.data());
        ops::silu_inplace(b.data(), layer.n_out);
        std::swap(a, b);
      }
      ops::linear(out_.weights.data(), out_.bias.data(), out_.n_in, 1, a.data(), &p.logits[i]);
    }
    return p;
  }
  int64_t n_parameters() const override { return n_parameters_; }

 private:
  std::vector<Linear> hidden_;
  Linear out_;
  int64_t n_parameters_ = 0;
};

}  // namespace

Result<std::unique_ptr<backend::Network>> load_native_network(const ModelSpec& spec, std::string_view weights,
                                                              const std::string& what) {
  auto tensors = read_torch_archive(weights, what);
  if (!tensors.ok()) return tensors.status();
  WeightReader reader(*tensors, what, spec.name);
  std::unique_ptr<backend::Network> net;
  if (spec.is_image_model()) {
    net = std::make_unique<NativeCnn>(spec, reader);
  } else {
    net = std::make_unique<NativeMlp>(spec, reader);
  }
  if (!reader.error().is_ok()) return reader.error();
  return net;
}

void set_native_threads(int n_threads) { g_native_threads = std::max(1, n_threads); }
int native_threads() { return g_native_threads.load(); }

}  // namespace unmask::nn::detail
