// nn's LibTorch-free inference (private to nn): the registry's networks (networks.cpp) rebuilt
// from their weight archives and evaluated with plain C++ kernels (native_ops.h), so that a process
// that only scores never opens the LibTorch module (~0.45 s of CPU to bind and construct, and
// ~170 more libraries). Training stays in the module; the two agree to ~1e-5 on the same weights
// (tests/nn/native_test.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "nn/backend.h"

namespace unmask::nn::detail {

// The network of a validated `spec` with the weights of a LibTorch archive (batch norm folded
// into the convolutions). Model error naming `what` when the archive cannot be read or a tensor
// the architecture needs is missing or has another shape (extra tensors are ignored, as
// LibTorch's loader does). predict() may run on several threads at once; a batch of several
// examples is split over up to native_threads() threads.
Result<std::unique_ptr<backend::Network>> load_native_network(const ModelSpec& spec, std::string_view weights,
                                                              const std::string& what);

// Threads one native predict() call may use (default kDefaultThreads); nn::set_num_threads sets it.
void set_native_threads(int n_threads);
int native_threads();

}  // namespace unmask::nn::detail
