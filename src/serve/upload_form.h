// An upload form (multipart/form-data) read as it arrives: the media part ("file") is written
// straight to disk, the other parts (small options: fast, frames, manifest, pub) are kept in
// memory, and nothing past the upload limit is kept. A request body is never held whole, so
// `--max-upload-mb` bounds what one upload costs, with or without a Content-Length (httplib checks
// its payload limit only against a declared length).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/core.h"

namespace unmask::serve {

struct UploadForm {
  bool complete = false;       // the body was read to its end and parsed (false: cut short or malformed)
  bool multipart = false;      // the body was multipart/form-data
  bool has_file = false;       // it had a part named "file"
  std::string filename;        // that part's file name as sent ("" when none)
  std::string file_path;       // where it was written
  uint64_t file_bytes = 0;
  std::map<std::string, std::string> fields;  // every other part's value
  bool too_large = false;      // the parts together passed the limit, or a part other than the file passed
                               // 16 MB: nothing past it was kept
  Status write_error;          // the file could not be written (the rest was still read)

  std::optional<std::string> field(const std::string& name) const;
  // The name the upload goes by in answers and job records: its file name as sent, or "upload".
  std::string display_name() const { return filename.empty() ? "upload" : filename; }
};

// Reads the whole body through `reader` (so the connection stays in step even when the form is
// refused). `file_path_for(filename)` is asked once, when the "file" part begins, where to write
// it; its folder must exist.
UploadForm read_upload_form(const httplib::Request& req, const httplib::ContentReader& reader, uint64_t limit_bytes,
                            const std::function<std::string(const std::string& filename)>& file_path_for);

}  // namespace unmask::serve
