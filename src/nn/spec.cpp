// The architecture registry (names, default specs) and spec validation: plain data, no LibTorch,
// so a spec can be checked before the LibTorch module is opened. The networks themselves are in
// networks.cpp (inside the module); a spec with input_size_px > 0 is a CNN there, else an MLP.
#include <map>
#include <string>

#include "nn/nn.h"

namespace unmask::nn {
namespace {

enum class Family { kCnn, kMlp };

struct Architecture {
  Family family;
  ModelSpec defaults;
};

// blend_cnn_small is the detector's network (~15 ms budget per 128 px crop on 2 cores);
// blend_cnn_tiny is the same design at toy scale for tests and quick experiments.
const std::map<std::string, Architecture, std::less<>>& registry() {
  static const auto* table = new std::map<std::string, Architecture, std::less<>>{
      {"blend_cnn_small",
       {Family::kCnn, ModelSpec{.name = "blend_cnn_small", .in_channels = 3, .input_size_px = 128,
                                .boundary_head = true, .n_features = 0,
                                .widths = {16, 24, 40, 80, 112, 320}}}},
      {"blend_cnn_tiny",
       {Family::kCnn, ModelSpec{.name = "blend_cnn_tiny", .in_channels = 3, .input_size_px = 32,
                                .boundary_head = false, .n_features = 0,
                                .widths = {8, 8, 16, 16, 24, 32}}}},
      {"mlp",
       {Family::kMlp, ModelSpec{.name = "mlp", .in_channels = 0, .input_size_px = 0,
                                .boundary_head = false, .n_features = 64, .widths = {64, 32}}}},
  };
  return *table;
}

}  // namespace

std::vector<std::string> architecture_names() {
  std::vector<std::string> names;
  for (const auto& [name, arch] : registry()) names.push_back(name);
  return names;
}

Result<ModelSpec> default_spec(std::string_view name) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    return Status::model("architecture", "unknown name '" + std::string(name) + "'");
  }
  return it->second.defaults;
}

Status validate_spec(const ModelSpec& spec) {
  auto it = registry().find(spec.name);
  if (it == registry().end()) {
    return Status::model("architecture", "unknown name '" + spec.name + "'");
  }
  auto fail = [&](const std::string& why) { return Status::model("architecture " + spec.name, why); };
  for (int w : spec.widths) {
    if (w <= 0 || w > 4096) return fail("widths must be in 1..4096");
  }
  if (it->second.family == Family::kCnn) {
    if (spec.in_channels < 1 || spec.in_channels > 4) return fail("in_channels must be 1..4");
    if (spec.input_size_px < 32 || spec.input_size_px > 1024 || spec.input_size_px % 16 != 0) {
      return fail("input_size_px must be a multiple of 16 in 32..1024, got " + std::to_string(spec.input_size_px));
    }
    if (spec.n_features != 0) return fail("n_features must be 0 for a CNN");
    if (spec.widths.size() != 6) return fail("a CNN needs 6 widths (stem, 4 stages, head)");
  } else {
    if (spec.n_features < 1 || spec.n_features > 1 << 20) return fail("n_features must be >= 1");
    if (spec.input_size_px != 0 || spec.boundary_head) {
      return fail("an MLP takes feature vectors: input_size_px 0, no boundary head");
    }
    if (spec.widths.size() > 8) return fail("at most 8 hidden layers");
  }
  return Status::ok();
}

}  // namespace unmask::nn
