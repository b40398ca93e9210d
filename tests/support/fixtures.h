// Fixture generators shared by the tests: every test makes its own media, so a fresh clone
// passes `make test` without ../shared. Fixed seeds everywhere.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/core.h"

namespace unmask::testing {

// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A sine tone: `amplitude` * sin(2 pi f t), mono.
Audio make_tone(double frequency_hz, double duration_s, int sample_rate_hz, double amplitude = 0.5);

// A synthetic frame: a smooth colour gradient background plus a white square whose top-left
// corner is at (square_x, square_y), side square_px. Deterministic.
Image make_pattern_frame(int width_px, int height_px, int frame_index, int square_x = -1,
                         int square_y = -1, int square_px = 32);

struct ClipSpec {
  int width_px = 320;
  int height_px = 240;
  double fps = 25.0;
  int n_frames = 50;
  double tone_hz = 0.0;     // > 0: add a mono sine tone of this frequency for the clip's length
  int audio_rate_hz = 44100;
  int crf = 18;
  int rotation_deg = 0;
};
// Encodes make_pattern_frame() frames (square moving left to right) to `path` with VideoWriter.
// Aborts the test (ASSERT-style failure via an exception) when encoding fails.
void write_pattern_clip(const std::string& path, const ClipSpec& spec);

// Writes 16-bit PCM mono WAV (a plain RIFF header, no FFmpeg involved).
void write_wav(const std::string& path, const Audio& audio);

// The frequency (Hz) in [min_hz, max_hz] with the most energy, by a Goertzel scan at 1 Hz steps.
double dominant_frequency_hz(const Audio& audio, double min_hz, double max_hz);

// Face photos shipped by Debian (package libdlib19.1), sorted by name. Empty when not installed.
std::vector<std::string> debian_face_photos();

// Bilinear resize of a BGR or gray image (no OpenCV needed in fixtures).
Image resize_bilinear(const Image& src, int width_px, int height_px);
// Copies `src` into `dst` with its top-left corner at (x, y), clipped to dst.
void paste(Image& dst, const Image& src, int x, int y);

// Path of the built `unmask` binary (for CLI tests), from the UNMASK_BINARY compile definition.
std::string unmask_binary();

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);
// The command line that runs the built `unmask` with `args` (already quoted as needed).
std::string unmask_cmd(const std::string& args);
// Number of '\n' in `text`: the lines a command printed.
int count_lines(const std::string& text);

}  // namespace unmask::testing
