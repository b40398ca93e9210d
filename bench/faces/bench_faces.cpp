// bench_faces: prints two tables.
//   1. Speed: frames per second of face::track_file (decode thread + tracker, default settings)
//      on generated 720p and 1080p clips (a Debian face photo moving over a textured background)
//      and on real 720p/1080p clips from the data folder, next to decode-only speed. "cpu ms/frame"
//      is process CPU time (decode + tracking, all threads) per frame: it does not depend on other
//      load on a shared machine, unlike the wall-clock fps. "fit ms" is the thread CPU time of one
//      landmark fit (face::fit_landmarks), replayed on every tracked face of the decoded frames.
//   2. Coverage: the fraction of frames with a face found, per real clip of MANIFEST.csv
//      (kind=video, label=real), and totals.
// Usage: bench_faces [--data DIR] [--max-frames N] [--only-speed | --only-coverage]
// DIR is ../shared/data (holds MANIFEST.csv); without it only the generated clips run.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "face/face.h"
#include "media/media.h"
#include "support/face_fixtures.h"
#include "support/fixtures.h"

using namespace unmask;
using Clock = std::chrono::steady_clock;

namespace {

// CPU seconds used by the whole process (all threads): robust to other load on a shared machine.
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Speed {
  int64_t n_frames = 0;
  double track_fps = 0, decode_fps = 0, face_fraction = 0, cpu_ms_per_frame = 0, fit_ms = 0;
  int n_tracks = 0;
  int64_t detector_runs = 0;
};

Result<Speed> measure(const std::string& path, std::shared_ptr<const face::FaceModels> models,
                      int64_t max_frames) {
  Speed s;
  {  // decode only, same reader settings as track_file
    auto reader = media::VideoReader::open(path);
    if (!reader.ok()) return reader.status();
    VideoFrame f;
    auto t0 = Clock::now();
    int64_t n = 0;
    while (max_frames < 0 || n < max_frames) {
      auto more = (*reader)->read(f);
      if (!more.ok()) return more.status();
      if (!*more) break;
      ++n;
    }
    s.decode_fps = n / seconds_since(t0);
  }
  face::TrackFileOptions options;
  options.max_frames = max_frames;
  auto t0 = Clock::now();
  const double cpu0 = process_cpu_s();
  auto r = face::track_file(path, models, options);
  if (!r.ok()) return r.status();
  const double dt = seconds_since(t0);
  s.cpu_ms_per_frame = r->n_frames ? 1e3 * (process_cpu_s() - cpu0) / r->n_frames : 0;
  s.n_frames = r->n_frames;
  s.track_fps = r->n_frames / dt;
  s.face_fraction = r->n_frames ? static_cast<double>(r->n_frames_with_face) / r->n_frames : 0;
  s.n_tracks = static_cast<int>(r->tracks.size());
  s.detector_runs = r->stats.n_detector_runs;
  // Landmark fits alone: the frames decoded again, each tracked face fitted on its box.
  std::vector<std::vector<Box>> boxes(static_cast<size_t>(r->n_frames));
  for (const face::Track& t : r->tracks) {
    for (const face::TrackFrame& tf : t.frames) {
      if (tf.frame >= 0 && tf.frame < r->n_frames) boxes[static_cast<size_t>(tf.frame)].push_back(tf.face.box);
    }
  }
  auto reader = media::VideoReader::open(path);
  if (!reader.ok()) return reader.status();
  VideoFrame f;
  double fit_cpu = 0;
  int64_t n_fits = 0;
  for (size_t i = 0; i < boxes.size(); ++i) {
    auto more = (*reader)->read(f);
    if (!more.ok()) return more.status();
    if (!*more) break;
    for (const Box& b : boxes[i]) {
      const double c0 = thread_cpu_s();
      (void)face::fit_landmarks(*models, f.image, b);  // in the face library: not optimised away
      fit_cpu += thread_cpu_s() - c0;
      ++n_fits;
    }
  }
  s.fit_ms = n_fits ? 1e3 * fit_cpu / n_fits : 0;
  return s;
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) { cells.push_back(cell); cell.clear(); }
      else cell += c;
    }
    cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

// Talking-head clips: real videos whose subject is one speaking face. The ghost repository's real
// clips are music-video and film footage (dancing, crowds, cuts), all but obama_short.
bool is_talking_head(const std::string& path) {
  if (path.find("ghost-sber-swap") != std::string::npos) return path.find("obama_short") != std::string::npos;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  int64_t max_frames = -1;
  bool speed = true, coverage = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data_dir = argv[++i];
    else if (a == "--max-frames" && i + 1 < argc) max_frames = std::stoll(argv[++i]);
    else if (a == "--only-speed") coverage = false;
    else if (a == "--only-coverage") speed = false;
    else {
      std::fprintf(stderr, "usage: bench_faces [--data DIR] [--max-frames N] [--only-speed|--only-coverage]\n");
      return 2;
    }
  }
  auto t_load = Clock::now();
  auto models = face::FaceModels::load();
  if (!models.ok()) {
    std::fprintf(stderr, "bench_faces: %s\n", models.status().message().c_str());
    return 4;
  }
  std::printf("landmark model load: %.2f s\n", seconds_since(t_load));
  std::printf("threads: %u hardware; default settings: detect max side %d px, detect every %d frames when stable\n\n",
              std::thread::hardware_concurrency(), face::DetectOptions{}.max_side_px, face::kStableDetectInterval);

  if (speed) {
    testing::TempDir tmp;
    struct Clip {
      std::string name, path;
    };
    std::vector<Clip> clips;
    for (auto [w, h] : {std::pair{1280, 720}, std::pair{1920, 1080}}) {
      testing::FaceClipSpec spec;
      spec.width_px = w;
      spec.height_px = h;
      spec.fps = 30;
      spec.n_frames = 300;
      spec.crf = 23;
      spec.background = [w, h](int) { return testing::make_textured_background(w, h, 1); };
      testing::Sprite face;
      face.image = testing::face_photo("tom", h * 2 / 5);
      face.top_left = testing::linear_path(0, h / 8, w - face.image.width_px(), h / 3, spec.n_frames);
      spec.sprites.push_back(face);
      const std::string path = tmp.file("gen_" + std::to_string(h) + "p.mp4");
      testing::write_face_clip(path, spec);
      clips.push_back({"generated " + std::to_string(h) + "p (1 moving face)", path});
    }
    if (!data_dir.empty()) {
      for (const char* rel : {"videos/ghost-sber-swap/examples/videos/obama_short.mp4",
                              "videos/LivePortrait/assets/examples/source/s18.mp4",
                              "videos/ghost-sber-swap/examples/videos/2person.mp4",
                              "videos/mead-eamm/crop_M030_sad_3_001.mp4"}) {
        const std::string p = data_dir + "/" + rel;
        if (std::filesystem::exists(p)) clips.push_back({rel, p});
      }
    }
    std::printf("%-62s %9s %7s %9s %12s %10s %8s %7s %6s %7s\n", "clip", "size", "frames", "track fps",
                "cpu ms/frame", "decode fps", "det runs", "tracks", "found", "fit ms");
    for (const Clip& c : clips) {
      auto info = media::probe(c.path);
      auto s = measure(c.path, *models, max_frames);
      if (!s.ok() || !info.ok()) {
        std::printf("%-62s error: %s\n", c.name.c_str(), (s.ok() ? info.status() : s.status()).message().c_str());
        continue;
      }
      char size[32];
      std::snprintf(size, sizeof size, "%dx%d", info->video->width_px, info->video->height_px);
      std::printf("%-62s %9s %7lld %9.1f %12.1f %10.1f %8lld %7d %5.1f%% %7.3f\n", c.name.c_str(), size,
                  static_cast<long long>(s->n_frames), s->track_fps, s->cpu_ms_per_frame, s->decode_fps,
                  static_cast<long long>(s->detector_runs), s->n_tracks, 100 * s->face_fraction, s->fit_ms);
    }
    std::printf("\n");
  }

  if (coverage && !data_dir.empty()) {
    auto rows = read_csv(data_dir + "/MANIFEST.csv");
    std::printf("%-78s %7s %7s %6s %7s %5s\n", "real clip (MANIFEST.csv kind=video label=real)", "frames", "w/face",
                "found", "tracks", "cuts");
    int64_t all_n = 0, all_face = 0, th_n = 0, th_face = 0;
    int n_clips = 0, n_th = 0, th_below = 0;
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i].size() < 3 || rows[i][1] != "video" || rows[i][2] != "real") continue;
      const std::string p = data_dir + "/" + rows[i][0];
      face::TrackFileOptions options;
      options.max_frames = max_frames;
      auto r = face::track_file(p, *models, options);
      if (!r.ok()) {
        std::printf("%-78s error: %s\n", rows[i][0].c_str(), r.status().message().c_str());
        continue;
      }
      const double frac = r->n_frames ? static_cast<double>(r->n_frames_with_face) / r->n_frames : 0;
      const bool th = is_talking_head(rows[i][0]);
      std::printf("%-78s %7lld %7lld %5.1f%% %7zu %5lld%s\n", rows[i][0].c_str(), static_cast<long long>(r->n_frames),
                  static_cast<long long>(r->n_frames_with_face), 100 * frac, r->tracks.size(),
                  static_cast<long long>(r->stats.n_scene_cuts), th ? "" : "  (not talking-head)");
      ++n_clips;
      all_n += r->n_frames;
      all_face += r->n_frames_with_face;
      if (th) {
        ++n_th;
        th_n += r->n_frames;
        th_face += r->n_frames_with_face;
        if (frac < 0.95) ++th_below;
      }
    }
    std::printf("\nall real clips:          %d clips, %lld frames, face found in %.1f%%\n", n_clips,
                static_cast<long long>(all_n), all_n ? 100.0 * all_face / all_n : 0.0);
    std::printf("talking-head real clips: %d clips, %lld frames, face found in %.1f%% (%d clips below 95%%)\n", n_th,
                static_cast<long long>(th_n), th_n ? 100.0 * th_face / th_n : 0.0, th_below);
  }
  return 0;
}
