// The blend CNN's block layout (private to nn), shared by the LibTorch network (networks.cpp) and
// nn's own evaluation of it (native_net.cpp), so the two cannot drift apart. Plain data: no
// LibTorch here.
#pragma once

#include <algorithm>
#include <vector>

namespace unmask::nn::detail {

// One inverted residual block: 1x1 expand (when expansion != 1), 3x3 depthwise at `stride`,
// squeeze-excite (when se) to se_width(in) channels, 1x1 project; a residual when the shape holds.
struct CnnBlock {
  int in, out, expansion, stride;
  bool se;
  bool residual() const { return stride == 1 && in == out; }
};

inline constexpr int kCnnExpansion = 4;
// Blocks 0..kCnnBoundaryTap end at stride 8; the boundary head reads the output of that block.
inline constexpr size_t kCnnBoundaryTap = 4;

inline int se_width(int in_channels) { return std::max(4, in_channels / 4); }

// widths: {stem, stage2, stage3 (stride 8), stage4 (stride 16), stage5, head}. Strides after the
// stem (stride 2): 2 -> 4 -> 8 (boundary tap) -> 16 -> 16.
inline std::vector<CnnBlock> cnn_blocks(const std::vector<int>& w) {
  return {
      {w[0], w[0], 1, 1, false},
      {w[0], w[1], kCnnExpansion, 2, false},
      {w[1], w[1], kCnnExpansion, 1, false},
      {w[1], w[2], kCnnExpansion, 2, true},
      {w[2], w[2], kCnnExpansion, 1, true},
      {w[2], w[3], kCnnExpansion, 2, true},
      {w[3], w[3], kCnnExpansion, 1, true},
      {w[3], w[4], kCnnExpansion, 1, true},
  };
}

}  // namespace unmask::nn::detail
