// Small text helpers shared by the components (header-only, locale-independent).
#pragma once

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

}  // namespace unmask
