// What the cue probes (cue_probe, pulse_probe, expression_probe) share: the command line
// (--data DIR [--max-frames N]), the manifest's video rows and the face models, with the bench
// exit codes (2 usage, 3 unreadable manifest, 4 missing face models); and the longest run of
// frames in which one face is followed and measured.
#pragma once

#include <cstdio>
#include <algorithm>
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

// The longest run of consecutive frames of a video in which the largest face keeps one track id
// and `measure(frame, face)` gives a value (std::optional<T>), with the video's frame rate (25
// when unknown). The first `max_frames` frames are read; the frame is the tracker's (BGR).
template <typename T>
struct FaceRun {
  std::vector<T> values;
  double fps = 25.0;
};
template <typename T, typename Measure>
Result<FaceRun<T>> longest_face_run(const std::string& path, const ProbeSetup& setup, Measure measure) {
  std::vector<std::vector<T>> runs(1);
  int64_t prev_index = -10;
  int prev_track = -2;
  face::TrackFileOptions o;
  o.max_frames = setup.max_frames;
  o.keep_tracks = false;
  auto r = face::track_file(path, setup.models, o, [&](face::FrameFaces& f) -> Status {
    const face::Face* best = face::largest_face(f.faces);
    std::optional<T> v;
    if (best) v = measure(f, *best);
    const bool continues = v && f.index == prev_index + 1 && best->track_id == prev_track;
    if (!continues && !runs.back().empty()) runs.emplace_back();
    if (v) runs.back().push_back(std::move(*v));
    prev_index = v ? f.index : -10;
    prev_track = v ? best->track_id : -2;
    return Status::ok();
  });
  if (!r.ok()) return r.status();
  FaceRun<T> out;
  out.values = std::move(*std::max_element(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); }));
  out.fps = r->fps > 0 ? r->fps : 25.0;
  return out;
}

}  // namespace unmask::bench
