#include "serve/upload_form.h"

#include <fstream>
#include <memory>

namespace unmask::serve {
namespace {

// A part other than the file (fast, frames, a sidecar, a key) is held in memory, so it has its own
// cap: the sidecar of an hour of video is a few hundred KB.
constexpr size_t kMaxFieldBytes = size_t{16} << 20;

}  // namespace

std::optional<std::string> UploadForm::field(const std::string& name) const {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return it->second;
}

UploadForm read_upload_form(const httplib::Request& req, const httplib::ContentReader& reader, uint64_t limit_bytes,
                            const std::function<std::string(const std::string& filename)>& file_path_for) {
  UploadForm form;
  uint64_t total = 0;
  // Counts a piece against the limit; false once the limit is passed (the piece is then dropped).
  const auto keep = [&](size_t n) {
    total += n;
    if (total > limit_bytes) form.too_large = true;
    return !form.too_large;
  };
  // A declared length past the limit: httplib skips the body without calling the reader.
  if (req.has_header("Content-Length") && req.get_header_value<uint64_t>("Content-Length") > limit_bytes) {
    form.too_large = true;
  }
  if (!req.is_multipart_form_data()) {
    form.complete = reader([&](const char*, size_t n) {
      keep(n);
      return true;  // read to the end, keep nothing
    });
    return form;
  }
  form.multipart = true;
  std::unique_ptr<std::ofstream> file;  // open while the "file" part is being read
  std::string* field = nullptr;         // the value being read, for another part
  const auto close_file = [&] {
    if (!file) return;
    file->close();
    if (!*file && form.write_error.is_ok()) form.write_error = Status::internal(form.file_path, "cannot write the upload");
    file.reset();
  };
  form.complete = reader(
      [&](const httplib::MultipartFormData& part) {
        close_file();
        field = nullptr;
        if (part.name == "file" && !form.has_file) {
          form.has_file = true;
          form.filename = part.filename;
          form.file_path = file_path_for(part.filename);
          file = std::make_unique<std::ofstream>(form.file_path, std::ios::binary | std::ios::trunc);
          if (!*file) form.write_error = Status::internal(form.file_path, "cannot create the upload's file");
        } else if (part.name != "file") {
          field = &form.fields[part.name];
        }
        return true;
      },
      [&](const char* data, size_t n) {
        if (!keep(n)) {
          file.reset();
          return true;
        }
        if (file && form.write_error.is_ok()) {
          file->write(data, static_cast<std::streamsize>(n));
          if (!*file) form.write_error = Status::internal(form.file_path, "cannot write the upload (disk full?)");
          form.file_bytes += n;
        } else if (field) {
          if (field->size() + n > kMaxFieldBytes) {
            form.too_large = true;  // an option or a sidecar is never this large
            return true;
          }
          field->append(data, n);
        }
        return true;
      });
  close_file();
  return form;
}

}  // namespace unmask::serve
