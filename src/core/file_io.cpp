#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/core.h"

namespace unmask {

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::input(path, "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::input(path, std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::input(path, "read failed");
  return buffer.str();
}

std::string unique_temporary_path(const std::string& base) {
  static std::atomic<unsigned> counter{0};
  return base + "." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
}

// The bytes go to a temporary file of their own beside `path` (created exclusively, so neither a
// user's "X.tmp" nor a concurrent writer of the same path is clobbered) and are renamed over `path`
// only when they are all written: a reader sees the old file or the new one, never half of one. On
// any failure the temporary file is removed and `path` is untouched.
Status write_file_atomic(const std::string& path, std::string_view bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::input(path, "cannot write: is a directory");
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = unique_temporary_path(path + ".tmp");
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);  // the umask applies
    if (fd < 0 && errno != EEXIST) return Status::input(path, std::string("cannot write: ") + std::strerror(errno));
  }
  if (fd < 0) return Status::input(path, "cannot write: no free temporary name beside it");
  // On any failure after the temporary exists: close it if still open, remove it, say why.
  auto give_up = [&](const std::string& why) {
    if (fd >= 0) ::close(fd);
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return Status::input(path, why);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return give_up(std::string("write failed: ") + (n < 0 ? std::strerror(errno) : "no progress"));
    done += static_cast<size_t>(n);
  }
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return give_up(std::string("write failed: ") + std::strerror(errno));
  std::filesystem::rename(tmp, path, ec);
  if (ec) return give_up("cannot rename into place: " + ec.message());
  return Status::ok();
}

}  // namespace unmask
