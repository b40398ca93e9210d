#include "nn/model_file.h"

#include <charconv>
#include <cstring>

namespace unmask::nn::detail {
namespace {

constexpr std::string_view kMagic = "UNMASKNN";
constexpr size_t kChecksumChars = 64;

void put_le(std::string& out, uint64_t v, int n_bytes) {
  for (int i = 0; i < n_bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view in, size_t offset, int n_bytes) {
  uint64_t v = 0;
  for (int i = 0; i < n_bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  return v;
}

bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

Result<std::string> encode_model_file(const ModelSpec& spec, const Metadata& metadata,
                                      std::string_view weights) {
  std::string header;
  header += "arch=" + spec.name + "\n";
  header += "input_size_px=" + std::to_string(spec.input_size_px) + "\n";
  header += "in_channels=" + std::to_string(spec.in_channels) + "\n";
  header += "boundary_head=" + std::string(spec.boundary_head ? "1" : "0") + "\n";
  header += "n_features=" + std::to_string(spec.n_features) + "\n";
  header += "widths=";
  for (size_t i = 0; i < spec.widths.size(); ++i) {
    if (i) header += ",";
    header += std::to_string(spec.widths[i]);
  }
  header += "\n";
  for (const auto& [key, value] : metadata) {
    if (!valid_key(key)) return Status::model("model metadata", "bad key '" + key + "'");
    if (value.find_first_of("\r\n") != std::string::npos) {
      return Status::model("model metadata", "value of '" + key + "' contains a newline");
    }
    header += "meta." + key + "=" + value + "\n";
  }
  std::string out;
  out.reserve(kMagic.size() + 16 + header.size() + weights.size() + kChecksumChars);
  out += kMagic;
  put_le(out, kFormatVersion, 4);
  put_le(out, header.size(), 4);
  out += header;
  put_le(out, weights.size(), 8);
  out += weights;
  out += sha256_hex(out);
  return out;
}

Result<ModelFile> decode_model_file(std::string_view bytes, std::string_view what) {
  auto fail = [&](const std::string& why) { return Status::model(what, why); };
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    return fail("not an unmask model file (bad magic)");
  }
  size_t pos = kMagic.size();
  if (bytes.size() < pos + 8) return fail("truncated (header cut short)");
  ModelFile file;
  file.format_version = static_cast<int>(get_le(bytes, pos, 4));
  if (file.format_version != kFormatVersion) {
    return fail("unsupported model format version " + std::to_string(file.format_version) +
                " (this build reads " + std::to_string(kFormatVersion) + ")");
  }
  const uint64_t header_len = get_le(bytes, pos + 4, 4);
  pos += 8;
  if (bytes.size() < pos + header_len + 8) return fail("truncated (header cut short)");
  const std::string_view header = bytes.substr(pos, header_len);
  pos += header_len;
  const uint64_t weights_len = get_le(bytes, pos, 8);
  pos += 8;
  if (weights_len > bytes.size() || bytes.size() - pos < weights_len + kChecksumChars) {
    return fail("truncated (" + std::to_string(bytes.size()) + " bytes; the header promises " +
                std::to_string(pos + weights_len + kChecksumChars) + ")");
  }
  if (bytes.size() - pos > weights_len + kChecksumChars) {
    return fail("unexpected bytes after the checksum");
  }
  const std::string_view stored = bytes.substr(pos + weights_len, kChecksumChars);
  if (sha256_hex(bytes.substr(0, pos + weights_len)) != stored) {
    return fail("checksum mismatch: the file is corrupt");
  }
  file.weights.assign(bytes.substr(pos, weights_len));

  bool have_arch = false;
  size_t line_start = 0;
  while (line_start < header.size()) {
    size_t line_end = header.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = header.size();
    const std::string_view line = header.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return fail("bad header line '" + std::string(line) + "'");
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    auto int_field = [&](int& out) -> Status {
      if (!parse_int(value, out)) {
        return fail("header field " + std::string(key) + " is not an integer: '" + std::string(value) + "'");
      }
      return Status::ok();
    };
    if (key == "arch") {
      file.spec.name = std::string(value);
      have_arch = true;
    } else if (key == "input_size_px") {
      UNMASK_RETURN_IF_ERROR(int_field(file.spec.input_size_px));
    } else if (key == "in_channels") {
      UNMASK_RETURN_IF_ERROR(int_field(file.spec.in_channels));
    } else if (key == "n_features") {
      UNMASK_RETURN_IF_ERROR(int_field(file.spec.n_features));
    } else if (key == "boundary_head") {
      int flag = 0;
      UNMASK_RETURN_IF_ERROR(int_field(flag));
      file.spec.boundary_head = flag != 0;
    } else if (key == "widths") {
      file.spec.widths.clear();
      size_t start = 0;
      while (start < value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        int w = 0;
        if (!parse_int(value.substr(start, comma - start), w)) {
          return fail("header field widths is malformed: '" + std::string(value) + "'");
        }
        file.spec.widths.push_back(w);
        start = comma + 1;
      }
    } else if (key.starts_with("meta.")) {
      file.metadata[std::string(key.substr(5))] = std::string(value);
    } else {
      return fail("unknown header field '" + std::string(key) + "'");
    }
  }
  if (!have_arch) return fail("header names no architecture");
  return file;
}

}  // namespace unmask::nn::detail
