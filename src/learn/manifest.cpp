// Manifest CSV reader (RFC 4180 records; `path` and `label` columns required).
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/text.h"
#include "learn/learn.h"

namespace unmask::learn {
namespace {

struct Record {
  int line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Splits CSV text into records. A quoted field may hold commas, doubled quotes and newlines.
Result<std::vector<Record>> split_records(std::string_view text, std::string_view what) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<Record> records;
  Record current{1, {}};
  std::string field;
  bool in_quotes = false, field_was_quoted = false;
  int line = 1;
  int quote_line = 0;
  auto end_record = [&] {
    current.fields.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
    records.push_back(std::move(current));
    current = Record{line, {}};
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!trim(field).empty() || field_was_quoted) {
        return Status::input(what, "line " + std::to_string(line) + ": a quote inside an unquoted field");
      }
      field.clear();
      in_quotes = true;
      field_was_quoted = true;
      quote_line = line;
    } else if (c == ',') {
      current.fields.push_back(std::move(field));
      field.clear();
      field_was_quoted = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;  // CRLF: the '\n' ends the record
    } else if (c == '\n') {
      ++line;
      end_record();
    } else {
      if (field_was_quoted && !std::isspace(static_cast<unsigned char>(c))) {
        return Status::input(what, "line " + std::to_string(line) + ": text after a closing quote");
      }
      if (!field_was_quoted) field += c;
    }
  }
  if (in_quotes) {
    return Status::input(what, "line " + std::to_string(quote_line) + ": unterminated quoted field");
  }
  if (!field.empty() || !current.fields.empty() || field_was_quoted) end_record();
  return records;
}

bool blank(const Record& r) { return r.fields.size() == 1 && trim(r.fields[0]).empty(); }

}  // namespace

Result<std::vector<ManifestItem>> parse_manifest(std::string_view csv_text, std::string_view what,
                                                 const std::string& base_dir) {
  auto records = split_records(csv_text, what);
  if (!records.ok()) return records.status();
  auto it = std::find_if(records->begin(), records->end(), [](const Record& r) { return !blank(r); });
  if (it == records->end()) return Status::input(what, "empty manifest (no header line)");
  std::vector<std::string> header;
  for (const auto& f : it->fields) header.push_back(ascii_lower(trim(f)));
  const auto path_col = std::find(header.begin(), header.end(), "path") - header.begin();
  const auto label_col = std::find(header.begin(), header.end(), "label") - header.begin();
  if (path_col == static_cast<std::ptrdiff_t>(header.size()) ||
      label_col == static_cast<std::ptrdiff_t>(header.size())) {
    return Status::input(what, "line " + std::to_string(it->line) +
                                   ": the header must name the columns path and label");
  }
  std::vector<ManifestItem> items;
  for (++it; it != records->end(); ++it) {
    if (blank(*it)) continue;
    const std::string where = "line " + std::to_string(it->line) + ": ";
    if (it->fields.size() != header.size()) {
      return Status::input(what, where + std::to_string(it->fields.size()) + " fields; the header has " +
                                     std::to_string(header.size()));
    }
    ManifestItem item;
    item.line = it->line;
    for (size_t c = 0; c < header.size(); ++c) item.columns[header[c]] = it->fields[c];
    const std::string label = ascii_lower(trim(it->fields[label_col]));
    if (label == "fake") {
      item.label = 1;
    } else if (label == "real") {
      item.label = 0;
    } else {
      return Status::input(what, where + "label must be real or fake, got '" + trim(it->fields[label_col]) + "'");
    }
    const std::string path = trim(it->fields[path_col]);
    if (path.empty()) return Status::input(what, where + "empty path");
    std::filesystem::path p(path);
    item.path = (p.is_absolute() ? p : (std::filesystem::path(base_dir) / p)).lexically_normal().string();
    items.push_back(std::move(item));
  }
  return items;
}

Result<std::vector<ManifestItem>> read_manifest(const std::string& csv_path) {
  auto text = read_file(csv_path);
  if (!text.ok()) return Status::input(csv_path, "cannot read the manifest: " + text.status().message());
  const std::string base = std::filesystem::path(csv_path).parent_path().string();
  return parse_manifest(*text, csv_path, base.empty() ? "." : base);
}

}  // namespace unmask::learn
