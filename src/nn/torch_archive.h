// A LibTorch-free reader of the weight archives LibTorch's C++ API writes
// (torch::serialize::OutputArchive::save_to), so that inference runs without loading LibTorch.
// Private to nn.
//
// The archive is a ZIP file (TorchScript format) with, under one top-level directory
// ("archive/"): data.pkl, a pickle of the module tree, and data/<key>, the raw little-endian bytes
// of each tensor storage. The reader:
// - finds the central directory through the end-of-central-directory record (zip64 records too)
//   and reads entry sizes from it (zip64 extra fields too); data.pkl and the data/ entries must be
//   stored uncompressed (LibTorch stores them so), other entries are never read;
// - runs data.pkl in a small pickle machine that knows the opcodes of protocols 2-4 a module
//   archive uses (and a few neighbours); anything else is an error naming the opcode and offset;
// - walks the module objects from the root, naming each tensor attribute by its dotted path.
//
// Hostile input (model files are user-supplied) gives a Status, never undefined behaviour: every
// offset and length is bounds-checked, module nesting is capped and no module may be reached
// twice (no cycles), and the tensors' total size is capped by the archive's size.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace unmask::nn::detail {

// A float32 tensor read from a LibTorch weight archive, contiguous, row-major.
// values.size() is the product of shape (1 for a 0-d tensor, whose shape is empty).
struct ArchiveTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Reads every float32 tensor of the archive, keyed by its dotted module path ("stem.conv.weight",
// "block3.se.reduce.bias", "fc0.weight"). Tensors of other dtypes (batch norm's int64
// num_batches_tracked) are skipped, and so are module attributes that are neither tensors nor
// modules (flags, numbers). Every failure is Status::model(what, reason), the reason naming the
// problem: not a zip archive, missing or compressed entry, unsupported pickle opcode 0xNN at
// offset N, truncated data for tensor NAME, non-contiguous tensor NAME, ...
Result<std::map<std::string, ArchiveTensor>> read_torch_archive(std::string_view bytes, std::string_view what);

}  // namespace unmask::nn::detail
