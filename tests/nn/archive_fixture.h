// The weight archive of a network, as LibTorch writes it into a model file (for the tests of nn's
// archive reader and of the networks built from it).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "nn/model_file.h"
#include "nn/nn.h"

namespace unmask::nn::testing {

inline std::string archive_of(const Trainable& net) {
  auto model = net.freeze();
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return {};
  auto bytes = model->to_bytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  if (!bytes.ok()) return {};
  auto file = detail::decode_model_file(*bytes, "model");
  EXPECT_TRUE(file.ok()) << file.status().message();
  return file.ok() ? file->weights : std::string();
}

}  // namespace unmask::nn::testing
