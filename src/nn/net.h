// The LibTorch side of nn (private): the network modules and the glue between Batch and tensors.
// Included only by nn's own .cpp files.
#pragma once

#include <memory>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "nn/nn.h"

namespace unmask::nn::detail {

struct NetOutput {
  torch::Tensor logits;           // {n}
  torch::Tensor boundary_logits;  // {n, 1, b, b}; undefined without a boundary head
};

// Every architecture in the registry derives from Net.
class Net : public torch::nn::Module {
 public:
  virtual NetOutput forward(const torch::Tensor& x) = 0;
};

// Builds the network for a validated spec with weights drawn from LibTorch's global generator.
// Throws c10::Error (callers catch it) on LibTorch failures.
std::shared_ptr<Net> build_net(const ModelSpec& spec);

// Applies the default thread count once, unless set_num_threads() ran first.
void ensure_threads();

}  // namespace unmask::nn::detail
