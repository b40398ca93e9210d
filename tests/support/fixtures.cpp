#include "support/fixtures.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <unistd.h>

#include "media/media.h"

namespace unmask::testing {

TempDir::TempDir() {
  std::mt19937_64 rng(std::random_device{}());
  path_ = std::filesystem::temp_directory_path() /
          ("unmask-test-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000000));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Audio make_tone(double frequency_hz, double duration_s, int sample_rate_hz, double amplitude) {
  Audio audio;
  audio.sample_rate_hz = sample_rate_hz;
  const auto n = static_cast<size_t>(std::llround(duration_s * sample_rate_hz));
  audio.samples.resize(n);
  for (size_t i = 0; i < n; ++i) {
    audio.samples[i] = static_cast<float>(amplitude * std::sin(2.0 * M_PI * frequency_hz * i / sample_rate_hz));
  }
  return audio;
}

Image make_pattern_frame(int width_px, int height_px, int frame_index, int square_x, int square_y,
                         int square_px) {
  Image img(width_px, height_px, 3);
  for (int y = 0; y < height_px; ++y) {
    uint8_t* row = img.row(y);
    for (int x = 0; x < width_px; ++x) {
      row[3 * x + 0] = static_cast<uint8_t>(60 + 120 * x / std::max(1, width_px - 1));
      row[3 * x + 1] = static_cast<uint8_t>(60 + 120 * y / std::max(1, height_px - 1));
      row[3 * x + 2] = static_cast<uint8_t>(90 + (frame_index * 3) % 60);
    }
  }
  if (square_x >= 0 && square_y >= 0) {
    for (int y = square_y; y < std::min(height_px, square_y + square_px); ++y) {
      for (int x = square_x; x < std::min(width_px, square_x + square_px); ++x) {
        uint8_t* p = img.at(x, y);
        p[0] = p[1] = p[2] = 250;
      }
    }
  }
  return img;
}

void write_pattern_clip(const std::string& path, const ClipSpec& spec) {
  media::VideoWriterOptions options;
  options.crf = spec.crf;
  options.rotation_deg = spec.rotation_deg;
  if (spec.tone_hz > 0) {
    options.pcm_audio = make_tone(spec.tone_hz, spec.n_frames / spec.fps, spec.audio_rate_hz);
  }
  auto writer = media::VideoWriter::open(path, spec.width_px, spec.height_px, spec.fps, options);
  if (!writer.ok()) throw std::runtime_error(writer.status().message());
  const int square_px = std::max(8, spec.height_px / 8);
  for (int i = 0; i < spec.n_frames; ++i) {
    const int x = (spec.width_px - square_px) * i / std::max(1, spec.n_frames - 1);
    Image frame = make_pattern_frame(spec.width_px, spec.height_px, i, x, spec.height_px / 3, square_px);
    Status s = (*writer)->write(frame, -1);
    if (!s.is_ok()) throw std::runtime_error(s.message());
  }
  Status s = (*writer)->close();
  if (!s.is_ok()) throw std::runtime_error(s.message());
}

std::vector<std::string> debian_face_photos() {
  std::vector<std::string> photos;
  const std::filesystem::path dir = "/usr/share/doc/libdlib19.1/examples/faces";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".jpg") photos.push_back(entry.path().string());
  }
  std::sort(photos.begin(), photos.end());
  return photos;
}

Image resize_bilinear(const Image& src, int width_px, int height_px) {
  Image dst(width_px, height_px, src.channels());
  const int c = src.channels();
  const double sx = static_cast<double>(src.width_px()) / width_px;
  const double sy = static_cast<double>(src.height_px()) / height_px;
  for (int y = 0; y < height_px; ++y) {
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, src.height_px() - 1.0);
    const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, src.height_px() - 1);
    const double wy = fy - y0;
    for (int x = 0; x < width_px; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, src.width_px() - 1.0);
      const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, src.width_px() - 1);
      const double wx = fx - x0;
      for (int k = 0; k < c; ++k) {
        const double v = (1 - wy) * ((1 - wx) * src.at(x0, y0)[k] + wx * src.at(x1, y0)[k]) +
                         wy * ((1 - wx) * src.at(x0, y1)[k] + wx * src.at(x1, y1)[k]);
        dst.at(x, y)[k] = static_cast<uint8_t>(std::lround(v));
      }
    }
  }
  return dst;
}

void paste(Image& dst, const Image& src, int x, int y) {
  const int c = std::min(dst.channels(), src.channels());
  for (int sy = 0; sy < src.height_px(); ++sy) {
    const int dy = y + sy;
    if (dy < 0 || dy >= dst.height_px()) continue;
    for (int sx = 0; sx < src.width_px(); ++sx) {
      const int dx = x + sx;
      if (dx < 0 || dx >= dst.width_px()) continue;
      for (int k = 0; k < c; ++k) dst.at(dx, dy)[k] = src.at(sx, sy)[k];
    }
  }
}

std::string unmask_binary() { return UNMASK_BINARY; }

std::string unmask_cmd(const std::string& args) { return unmask_binary() + " " + args; }

int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

CommandResult run_command(const std::string& command_line) {
  TempDir dir;
  const std::string out = dir.file("stdout"), err = dir.file("stderr");
  const std::string full = command_line + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(full.c_str());
  CommandResult result;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

}  // namespace unmask::testing

namespace unmask::testing {

void write_wav(const std::string& path, const Audio& audio) {
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  const auto data_bytes = static_cast<uint32_t>(audio.samples.size() * 2);
  out.write("RIFF", 4); u32(36 + data_bytes); out.write("WAVE", 4);
  out.write("fmt ", 4); u32(16); u16(1); u16(1); u32(static_cast<uint32_t>(audio.sample_rate_hz));
  u32(static_cast<uint32_t>(audio.sample_rate_hz * 2)); u16(2); u16(16);
  out.write("data", 4); u32(data_bytes);
  for (float s : audio.samples) {
    const auto v = static_cast<int16_t>(std::lround(std::clamp(s, -1.0f, 1.0f) * 32767.0f));
    out.write(reinterpret_cast<const char*>(&v), 2);
  }
}

double dominant_frequency_hz(const Audio& audio, double min_hz, double max_hz) {
  double best_hz = min_hz, best_power = -1.0;
  for (double f = min_hz; f <= max_hz; f += 1.0) {
    const double coeff = 2.0 * std::cos(2.0 * M_PI * f / audio.sample_rate_hz);
    double s1 = 0, s2 = 0;
    for (float x : audio.samples) {
      const double s0 = x + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > best_power) { best_power = power; best_hz = f; }
  }
  return best_hz;
}

}  // namespace unmask::testing
