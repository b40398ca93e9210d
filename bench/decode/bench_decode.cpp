// bench_decode: frames per second of VideoReader (decode + BGR conversion) against
// `ffmpeg -threads 2 -f null -` on the same clip, in the same run. Clips are generated here with
// the ffmpeg CLI (10 s of testsrc2, H.264 CRF 23), so the numbers are reproducible anywhere.
//
//   bench_decode [--seconds N] [--clip FILE]...
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "media/media.h"

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool make_clip(const std::string& path, int w, int h, int seconds) {
  if (std::filesystem::exists(path)) return true;
  const std::string cmd = "ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=" + std::to_string(w) + "x" +
                          std::to_string(h) + ":rate=30 -t " + std::to_string(seconds) +
                          " -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p " + path;
  return std::system(cmd.c_str()) == 0;
}

struct Timing {
  double seconds = 0;
  long frames = 0;
};

Timing time_reader(const std::string& path) {
  Timing t;
  auto reader = unmask::media::VideoReader::open(path);
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", reader.status().message().c_str());
    return t;
  }
  unmask::VideoFrame frame;
  const double start = now_s();
  while (true) {
    auto more = (*reader)->read(frame);
    if (!more.ok() || !*more) break;
    ++t.frames;
  }
  t.seconds = now_s() - start;
  return t;
}

double time_ffmpeg(const std::string& path) {
  const double start = now_s();
  const std::string cmd = "ffmpeg -loglevel error -threads 2 -i " + path + " -f null -";
  if (std::system(cmd.c_str()) != 0) return -1;
  return now_s() - start;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 10;
  std::vector<std::string> clips;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atoi(argv[++i]);
    else if (a == "--clip" && i + 1 < argc) clips.emplace_back(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_decode [--seconds N] [--clip FILE]...\n");
      return 2;
    }
  }
  const std::string dir = (std::filesystem::temp_directory_path() / "unmask-bench").string();
  std::filesystem::create_directories(dir);
  if (clips.empty()) {
    for (auto [w, h] : {std::pair{1280, 720}, std::pair{1920, 1080}}) {
      const std::string path = dir + "/decode_" + std::to_string(h) + "p_" + std::to_string(seconds) + "s.mp4";
      if (!make_clip(path, w, h, seconds)) {
        std::fprintf(stderr, "bench_decode: ffmpeg could not generate %s\n", path.c_str());
        return 3;
      }
      clips.push_back(path);
    }
  }
  std::printf("| clip | frames | VideoReader fps | ffmpeg -f null fps | time ratio (reader/ffmpeg) |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& clip : clips) {
    time_ffmpeg(clip);  // warm the page cache
    Timing best{1e9, 0};
    double ffmpeg_best = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      Timing t = time_reader(clip);
      if (t.seconds < best.seconds) best = t;
      const double f = time_ffmpeg(clip);
      if (f > 0 && f < ffmpeg_best) ffmpeg_best = f;
    }
    std::printf("| %s | %ld | %.1f | %.1f | %.2f |\n", std::filesystem::path(clip).filename().c_str(),
                best.frames, best.frames / best.seconds, best.frames / ffmpeg_best, best.seconds / ffmpeg_best);
  }
  return 0;
}
