// Private to core and its tests: the portable SHA-256 rounds on their own, to check the
// accelerated path (sha256.cpp) against them.
#pragma once

#include <string>
#include <string_view>

namespace unmask::detail {

std::string sha256_hex_portable(std::string_view bytes);
bool sha256_has_sha_ni();  // whether sha256_hex uses the CPU's SHA extensions here

}  // namespace unmask::detail
