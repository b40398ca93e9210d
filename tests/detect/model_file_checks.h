// What every track detector with a model file must do with that file (expression, interpolation,
// noise, temporal tests): load_detectors gives a model error naming <name>.unm when it is missing,
// loads it with its sha256 when it is there, and gives a model error when one byte in its middle
// was flipped (the checksum). Leaves the flipped file in `dir` for further checks.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "detect/detect.h"
#include "nn/nn.h"
#include "support/fixtures.h"

namespace unmask::detect {

inline void expect_track_model_file_checks(const testing::TempDir& dir, const std::string& name, const nn::Model& model) {
  const std::string file = dir.file(name + ".unm");
  auto missing = load_detectors(dir.path().string(), {name});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kModel);
  EXPECT_NE(missing.status().message().find(name + ".unm"), std::string::npos) << missing.status().message();

  ASSERT_TRUE(model.save(file).is_ok());
  auto good = load_detectors(dir.path().string(), {name});
  ASSERT_TRUE(good.ok()) << good.status().message();
  ASSERT_EQ(good->track.size(), 1u);
  EXPECT_EQ(good->track[0]->info().model_sha256.size(), 64u);

  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x5a;
  std::ofstream(file, std::ios::binary) << bytes;
  auto corrupt = load_detectors(dir.path().string(), {name});
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kModel);
}

}  // namespace unmask::detect
