// Milliseconds per 128x128 face crop for the blend CNN on the CPU (default 2 threads): image
// conversion and forward pass, batch 1 and batch 16. Random weights (speed does not depend on
// them). The detector's target is <= 15 ms per crop on 2 cores. cpu_ms_per_crop is the process
// CPU time (all threads) per crop: unlike wall time it does not grow when other jobs share the
// cores, so it bounds what an idle machine would show.
//
//   bench_nn [--arch blend_cnn_small] [--threads 2] [--size 128] [--iters 30] [--no-boundary]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "nn/nn.h"

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string arch = "blend_cnn_small";
  int threads = unmask::nn::kDefaultThreads, size = 0, iters = 30;
  bool boundary = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_nn: error: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--arch") arch = next();
    else if (a == "--threads") threads = std::atoi(next());
    else if (a == "--size") size = std::atoi(next());
    else if (a == "--iters") iters = std::max(1, std::atoi(next()));
    else if (a == "--no-boundary") boundary = false;
    else {
      std::fprintf(stderr, "bench_nn: error: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  unmask::nn::set_num_threads(threads);
  auto spec = unmask::nn::default_spec(arch);
  if (!spec.ok()) {
    std::fprintf(stderr, "unmask: error: %s\n", spec.status().message().c_str());
    return 4;
  }
  if (size > 0) spec->input_size_px = size;
  spec->boundary_head = boundary && spec->is_image_model();
  if (!spec->is_image_model()) {
    std::fprintf(stderr, "bench_nn: error: %s is not an image model\n", arch.c_str());
    return 2;
  }
  auto net = unmask::nn::Trainable::create(*spec, 1, {});
  if (!net.ok()) {
    std::fprintf(stderr, "unmask: error: %s\n", net.status().message().c_str());
    return 4;
  }
  auto model = net->freeze();
  if (!model.ok()) {
    std::fprintf(stderr, "unmask: error: %s\n", model.status().message().c_str());
    return 4;
  }

  std::mt19937 rng(7);
  const int crop = spec->input_size_px;
  std::printf("arch %s, input %dx%d, boundary head %s, %lld parameters, %d threads\n", arch.c_str(), crop, crop,
              spec->boundary_head ? "yes" : "no", static_cast<long long>(model->n_parameters()),
              unmask::nn::num_threads());
  std::printf("%-6s %12s %12s %12s %16s\n", "batch", "convert_ms", "forward_ms", "ms_per_crop", "cpu_ms_per_crop");
  for (int batch : {1, 16}) {
    std::vector<unmask::Image> crops;
    for (int b = 0; b < batch; ++b) {
      unmask::Image img(crop, crop);
      for (size_t k = 0; k < img.size_bytes(); ++k) img.data()[k] = static_cast<uint8_t>(rng());
      crops.push_back(std::move(img));
    }
    std::vector<double> convert_ms, forward_ms, cpu_ms;
    for (int it = 0; it < iters + 3; ++it) {
      const std::clock_t c0 = std::clock();
      const auto t0 = Clock::now();
      auto x = unmask::nn::images_to_batch(crops, crop);
      const auto t1 = Clock::now();
      auto out = model->predict(*x);
      const auto t2 = Clock::now();
      const std::clock_t c2 = std::clock();
      if (!out.ok()) {
        std::fprintf(stderr, "unmask: error: %s\n", out.status().message().c_str());
        return 4;
      }
      if (it < 3) continue;  // warm-up: oneDNN builds its kernels on first use
      convert_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      forward_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      cpu_ms.push_back(1000.0 * static_cast<double>(c2 - c0) / CLOCKS_PER_SEC);
    }
    const double c = median(convert_ms), f = median(forward_ms);
    std::printf("%-6d %12.2f %12.2f %12.2f %16.2f\n", batch, c, f, (c + f) / batch, median(cpu_ms) / batch);
  }
  return 0;
}
