// bench_lipsync: the audio-visual offset estimator on real talking heads. For each video (the
// real clips with speech listed in MANIFEST.csv, or files given), the main face track's mouth
// opening against the speech envelope, as recorded and with the audio shifted by +-300/500 ms.
// Prints one row per clip and shift, and how often the mismatch score separates them.
//
//   bench_lipsync --data DIR [--max N]      or      bench_lipsync FILE...
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "detect/detect.h"
#include "face/face.h"
#include "media/media.h"

using namespace unmask;

int main(int argc, char** argv) {
  std::string data;
  int max_clips = 20;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--max" && i + 1 < argc) max_clips = std::atoi(argv[++i]);
    else files.push_back(a);
  }
  if (!data.empty()) {
    std::ifstream manifest(data + "/MANIFEST.csv");
    for (std::string line; std::getline(manifest, line);) {
      // Real talking-head clips with their own audio: interview/TV and speech corpora.
      if (line.find(",video,real,") == std::string::npos) continue;
      if (line.find("pcavs") == std::string::npos && line.find("deep_avsr") == std::string::npos &&
          line.find("LipNet") == std::string::npos && line.find("EAMM") == std::string::npos) continue;
      files.push_back(data + "/" + line.substr(0, line.find(',')));
    }
    if (static_cast<int>(files.size()) > max_clips) files.resize(static_cast<size_t>(max_clips));
  }
  auto models = face::FaceModels::load();
  if (!models.ok()) {
    std::fprintf(stderr, "%s\n", models.status().message().c_str());
    return 4;
  }
  std::printf("| clip | shift ms | best offset ms | corr | corr near 0 | confidence | mismatch score |\n|---|---|---|---|---|---|---|\n");
  int n_pairs = 0, n_separated = 0;
  double err_ms = 0;
  int n_err = 0;
  for (const auto& path : files) {
    auto info = media::probe(path);
    if (!info.ok() || !info->audio || !info->video) continue;
    auto faces = face::track_file(path, *models);
    auto audio = media::read_audio(path, 16000);
    if (!faces.ok() || !audio.ok() || faces->tracks.empty()) continue;
    const auto& track = *std::max_element(faces->tracks.begin(), faces->tracks.end(),
                                           [](const face::Track& a, const face::Track& b) { return a.frames.size() < b.frames.size(); });
    std::vector<std::optional<face::Landmarks>> lms(static_cast<size_t>(faces->n_frames));
    for (const auto& f : track.frames) {
      if (f.frame >= 0 && f.frame < faces->n_frames) lms[static_cast<size_t>(f.frame)] = f.face.landmarks;
    }
    const double fps = faces->fps > 0 ? faces->fps : 25.0;
    const auto mouth = detect::mouth_opening(lms);
    const auto env = detect::speech_envelope(*audio, fps);
    double aligned_score = -1;
    for (int shift_ms : {0, 300, -300, 500}) {
      const int k = static_cast<int>(std::lround(shift_ms * fps / 1000.0));
      std::vector<double> shifted(env.size(), -80.0);
      for (size_t t = 0; t < env.size(); ++t) {
        const long src = static_cast<long>(t) - k;
        if (src >= 0 && src < static_cast<long>(env.size())) shifted[t] = env[static_cast<size_t>(src)];
      }
      auto o = detect::estimate_av_offset(mouth, shifted, fps);
      const std::string name = path.substr(path.find_last_of('/') + 1);
      if (!o.ok()) {
        std::printf("| %s | %d | - | - | - | - | (%s) |\n", name.c_str(), shift_ms, o.status().message().c_str());
        continue;
      }
      const double score = detect::lipsync_mismatch_score(*o);
      std::printf("| %s | %d | %d | %.2f | %.2f | %.2f | %.2f |\n", name.c_str(), shift_ms, o->offset_ms, o->correlation,
                  o->aligned_correlation, o->confidence, score);
      if (shift_ms == 0) aligned_score = score;
      else if (aligned_score >= 0) {
        ++n_pairs;
        n_separated += score > aligned_score;
      }
      if (o->confidence > 0.3) {
        err_ms += std::abs(o->offset_ms - shift_ms);
        ++n_err;
      }
    }
  }
  std::printf("\nshifted scored above aligned: %d of %d pairs (pairwise AUC %.3f); mean |offset error| %.0f ms over %d confident estimates\n",
              n_separated, n_pairs, n_pairs ? double(n_separated) / n_pairs : 0.0, n_err ? err_ms / n_err : 0.0, n_err);
  return 0;
}
