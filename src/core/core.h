// unmask core: the value types and error handling every component shares.
//
// Basic usage:
//
//   unmask::Result<int> parse(std::string_view s) {
//     if (s.empty()) return unmask::Status::input("parse", "empty string");
//     return 42;
//   }
//   auto r = parse("x");
//   if (!r.ok()) { std::cerr << r.status().message(); return exit_code_for(r.status()); }
//   int v = r.value();
//
//   unmask::Image img(640, 480);            // BGR, 8 bits per channel, zero-filled
//   img.at(10, 20)[2] = 255;                // red pixel at x=10, y=20
//
// Nothing in core prints. Logs go through the sink set with set_log_sink(); progress goes through a
// ProgressFn the caller supplies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace unmask {

// ---------------------------------------------------------------------------------------------
// Status and Result
// ---------------------------------------------------------------------------------------------

// What went wrong, in the categories the CLI maps to exit codes and the server to HTTP codes.
enum class StatusCode {
  kOk = 0,
  kUsage,     // bad flag or argument (exit 2, HTTP 400)
  kInput,     // missing, unreadable, corrupt or unsupported media; bad key or manifest (exit 3, 415)
  kModel,     // model or configuration error (exit 4, HTTP 500)
  kInternal,  // a bug (exit 5, HTTP 500)
};

// A success, or a failure with a message "<what>: <why>" that names the thing and the reason.
class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status usage(std::string_view what, std::string_view why) { return {StatusCode::kUsage, what, why}; }
  static Status input(std::string_view what, std::string_view why) { return {StatusCode::kInput, what, why}; }
  static Status model(std::string_view what, std::string_view why) { return {StatusCode::kModel, what, why}; }
  static Status internal(std::string_view what, std::string_view why) { return {StatusCode::kInternal, what, why}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The same failure with every `from` in its message replaced by `to` (a server naming an upload
  // by the name it came under, not by where the server keeps it). Empty `from`: unchanged.
  Status with_replaced(std::string_view from, std::string_view to) const;

 private:
  Status(StatusCode code, std::string_view what, std::string_view why)
      : code_(code), message_(std::string(what) + ": " + std::string(why)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// The process exit code for a status (CONTRACT.md): 0, 2, 3, 4, 5.
int exit_code_for(const Status& status);
// The HTTP status code for a failed request (CONTRACT.md): 400, 415, 500.
int http_code_for(const Status& status);
// "usage", "input", "model", "internal" or "ok".
std::string_view status_code_name(StatusCode code);

// A value or the Status explaining why there is none. Construct from either.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  // The failure; an ok Status when there is a value.
  Status status() const { return ok() ? Status::ok() : std::get<Status>(state_); }

  // Precondition: ok(). Calling it on a failure is a bug and throws std::bad_variant_access.
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> state_;
};

// Returns early from a function returning Status or Result<U> when `expr` (a Status) failed.
#define UNMASK_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::unmask::Status unmask_status_ = (expr);     \
    if (!unmask_status_.is_ok()) return unmask_status_; \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Images, frames and audio
// ---------------------------------------------------------------------------------------------

// An 8-bit image with interleaved channels (BGR for colour, one channel for gray), rows packed
// without padding: row y starts at data() + y * width_px * channels. Value type; copying copies
// the pixels. Wrap it without copying as cv::Mat(height_px, width_px, CV_8UC(channels), data()).
// The buffer has kTailPaddingBytes of slack after the last row, because SIMD converters
// (swscale) read and write a few bytes past the end of packed buffers.
class Image {
 public:
  static constexpr size_t kTailPaddingBytes = 64;

  Image() = default;
  Image(int width_px, int height_px, int channels = 3)
      : width_px_(width_px), height_px_(height_px), channels_(channels),
        size_bytes_(static_cast<size_t>(width_px) * height_px * channels),
        pixels_(size_bytes_ + kTailPaddingBytes, 0) {}

  int width_px() const { return width_px_; }
  int height_px() const { return height_px_; }
  int channels() const { return channels_; }
  bool empty() const { return size_bytes_ == 0; }
  size_t row_bytes() const { return static_cast<size_t>(width_px_) * channels_; }
  size_t size_bytes() const { return size_bytes_; }

  uint8_t* data() { return pixels_.data(); }
  const uint8_t* data() const { return pixels_.data(); }
  uint8_t* row(int y) { return pixels_.data() + y * row_bytes(); }
  const uint8_t* row(int y) const { return pixels_.data() + y * row_bytes(); }
  uint8_t* at(int x, int y) { return row(y) + static_cast<size_t>(x) * channels_; }
  const uint8_t* at(int x, int y) const { return row(y) + static_cast<size_t>(x) * channels_; }

 private:
  int width_px_ = 0;
  int height_px_ = 0;
  int channels_ = 3;
  size_t size_bytes_ = 0;
  std::vector<uint8_t> pixels_;
};

// One decoded video frame. pts_us is the presentation time in microseconds from the start of the
// stream (the first frame is usually 0); index counts decoded frames from 0, before any skipping.
struct VideoFrame {
  Image image;
  int64_t pts_us = 0;
  int64_t index = 0;
};

// Mono float PCM in [-1, 1].
struct Audio {
  std::vector<float> samples;
  int sample_rate_hz = 16000;

  double duration_s() const {
    return sample_rate_hz > 0 ? static_cast<double>(samples.size()) / sample_rate_hz : 0.0;
  }
};

// An axis-aligned rectangle in pixels.
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
  double area() const { return w > 0 && h > 0 ? w * h : 0.0; }
};
double iou(const Box& a, const Box& b);

// ---------------------------------------------------------------------------------------------
// Logging and progress
// ---------------------------------------------------------------------------------------------

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Receives every log line. The default sink discards everything: the library never prints.
// Thread-safety: set the sink before starting threads; log() may be called from any thread and
// serialises calls into the sink.
using LogSink = std::function<void(LogLevel, std::string_view message)>;
void set_log_sink(LogSink sink);
void log(LogLevel level, std::string_view message);
inline void log_info(std::string_view m) { log(LogLevel::kInfo, m); }
inline void log_warning(std::string_view m) { log(LogLevel::kWarning, m); }
inline void log_debug(std::string_view m) { log(LogLevel::kDebug, m); }

// Progress of a long operation: fraction in [0, 1], and a short label of the current stage.
using ProgressFn = std::function<void(double fraction, std::string_view stage)>;

// A one-line progress bar on stderr, drawn only when stderr is a terminal and not quiet.
// Not thread-safe: call update() from one thread.
class TerminalProgress {
 public:
  explicit TerminalProgress(bool quiet);
  ~TerminalProgress();
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  void update(double fraction, std::string_view stage);
  void finish();  // clears the line; called by the destructor too
  ProgressFn as_fn() { return [this](double f, std::string_view s) { update(f, s); }; }
  bool enabled() const { return enabled_; }

 private:
  bool enabled_ = false;
  bool drawn_ = false;
  int last_permille_ = -1;
  std::string last_stage_;
};

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

// The tool version, e.g. "0.1.0".
std::string_view version();

// Hex SHA-256 of a file's bytes; an input error when it cannot be read.
Result<std::string> sha256_file(const std::string& path);
// Hex SHA-256 of a byte string.
// Seeding helpers for deterministic pipelines (data splits, per-example augmentation): the
// SplitMix64 finaliser of x, and a stable 64-bit hash of text (FNV-1a, then SplitMix64).
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline uint64_t hash_text(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return splitmix64(h);
}

std::string sha256_hex(std::string_view bytes);

// Text made safe inside HTML or XML (SVG) text and attribute values: & < > " ' become entities.
std::string escape_markup(std::string_view text);

// Whole file as bytes; an input error naming the path when it cannot be read.
Result<std::string> read_file(const std::string& path);
// Writes atomically (temporary file then rename) so a crash never leaves half a file.
Status write_file_atomic(const std::string& path, std::string_view bytes);
// A name no other writer uses: "<base>.<pid>.<n>" with n counting up in this process. For
// temporary files beside an output ("OUT.tmp.4711.0"), so neither a user's file of the plain
// name nor another writer of the same output is clobbered.
std::string unique_temporary_path(const std::string& base);

}  // namespace unmask
