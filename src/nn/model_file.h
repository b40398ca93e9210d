// The model file container (private to nn): no LibTorch here, so it is cheap to compile and test.
//
//   "UNMASKNN" | u32 LE format version | u32 LE header length | header text |
//   u64 LE weights length | weights (a LibTorch archive) | 64 hex chars: SHA-256 of all before
//
// The header is "key=value\n" lines: arch, input_size_px, in_channels, boundary_head, n_features,
// widths (comma-separated), then "meta.<key>=<value>" for each metadata entry.
#pragma once

#include <string>
#include <string_view>

#include "core/core.h"
#include "nn/nn.h"

namespace unmask::nn::detail {

inline constexpr int kFormatVersion = 1;

struct ModelFile {
  ModelSpec spec;
  Metadata metadata;
  int format_version = kFormatVersion;
  std::string weights;  // the LibTorch archive bytes
};

// Status::model when a metadata key or value cannot be stored.
Result<std::string> encode_model_file(const ModelSpec& spec, const Metadata& metadata,
                                      std::string_view weights);
// Every failure is Status::model("<what>", reason). Checks magic, version, lengths, checksum and
// header syntax; not whether the spec is buildable (validate_spec does that).
Result<ModelFile> decode_model_file(std::string_view bytes, std::string_view what);

}  // namespace unmask::nn::detail
