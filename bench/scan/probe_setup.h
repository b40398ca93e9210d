// What the cue probes (cue_probe, pulse_probe) share before their own work: the command line
// (--data DIR [--max-frames N]), the manifest's video rows and the face models, with the bench
// exit codes (2 usage, 3 unreadable manifest, 4 missing face models).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "face/face.h"
#include "learn/learn.h"

namespace unmask::bench {

struct ProbeSetup {
  std::vector<learn::ManifestItem> videos;  // the manifest's rows of kind "video"
  std::shared_ptr<const face::FaceModels> models;
  int64_t max_frames = 0;
};

// The setup, or the exit code after a one-line message on stderr.
inline std::optional<int> probe_setup(int argc, char** argv, const char* name, int64_t default_max_frames, ProbeSetup& out) {
  std::string data;
  out.max_frames = default_max_frames;
  bool usage_error = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--max-frames" && i + 1 < argc) out.max_frames = std::atoll(argv[++i]);
    else usage_error = true;
  }
  if (usage_error || data.empty()) {
    std::fprintf(stderr, "usage: %s --data DIR [--max-frames N]\n", name);
    return 2;
  }
  auto items = learn::read_manifest(data + "/MANIFEST.csv");
  if (!items.ok()) {
    std::fprintf(stderr, "%s\n", items.status().message().c_str());
    return 3;
  }
  for (auto& item : *items) {
    if (item.columns.at("kind") == "video") out.videos.push_back(std::move(item));
  }
  auto models = face::FaceModels::load();
  if (!models.ok()) {
    std::fprintf(stderr, "%s\n", models.status().message().c_str());
    return 4;
  }
  out.models = *models;
  return std::nullopt;
}

}  // namespace unmask::bench
