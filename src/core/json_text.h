// JSON as text for anything a person or a program reads back (reports, cards, HTTP answers).
// Header-only: components that use it already link nlohmann_json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace unmask {

// `j` serialised; `indent` as nlohmann's dump (-1: one line). Linux file names are bytes, not
// always UTF-8 (an archive named in Latin-1), and they reach reports, cards and error messages;
// nlohmann's dump() throws on them, which turned a scan of such a file into an internal error
// (exit 5) after the work was done. Bytes that are not UTF-8 become U+FFFD instead.
// Json: nlohmann::json or nlohmann::ordered_json (kept as it is, key order included).
template <class Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace unmask
