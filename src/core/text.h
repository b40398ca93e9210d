// Small text helpers shared by the components (header-only, locale-independent).
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

namespace unmask {

// ASCII letters lower-cased; every other byte (UTF-8 included) unchanged.
inline std::string ascii_lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// The extension of a path's file name with its dot, lower-cased (".mp4"); "" when there is none.
inline std::string lower_extension(const std::string& path) {
  return ascii_lower(std::filesystem::path(path).extension().string());
}

// Text as a terminal should show it, on one line: control bytes (a newline in a file name, an
// escape sequence that could retitle or recolour the terminal) as \xNN; everything else, UTF-8
// included, as it is.
inline std::string printable_text(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace unmask
