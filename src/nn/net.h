// The networks of the LibTorch module (private to nn): included only by networks.cpp and
// backend_torch.cpp, the two sources of libunmask_nn_torch.so.
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

// Builds the network for a validated spec (a CNN when it takes images, else an MLP) with weights
// drawn from LibTorch's global generator. Throws c10::Error (callers catch it) on LibTorch failures.
std::shared_ptr<Net> build_net(const ModelSpec& spec);

}  // namespace unmask::nn::detail
