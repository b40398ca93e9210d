// unmask probe FILE [--json]: what a media file contains (CONTRACT.md "probe --json").
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "core/json_text.h"
#include "media/media.h"

namespace unmask::cli {
namespace {

struct ProbeOptions {
  std::string path;
  bool json = false;
};

nlohmann::json to_json(const media::MediaInfo& info) {
  nlohmann::json j;
  j["path"] = info.path;
  j["format"] = info.format;
  j["duration_s"] = info.duration_s;
  j["size_bytes"] = info.size_bytes;
  j["is_image"] = info.is_image;
  if (info.video) {
    const auto& v = *info.video;
    j["video"] = {{"codec", v.codec},         {"width", v.width_px},
                  {"height", v.height_px},    {"fps", v.fps},
                  {"n_frames", v.n_frames},   {"n_frames_estimated", v.n_frames_estimated},
                  {"rotation", v.rotation_deg}};
  } else {
    j["video"] = nullptr;
  }
  if (info.audio) {
    const auto& a = *info.audio;
    j["audio"] = {{"codec", a.codec}, {"sample_rate_hz", a.sample_rate_hz}, {"channels", a.channels}};
  } else {
    j["audio"] = nullptr;
  }
  return j;
}

std::string to_text(const media::MediaInfo& info) {
  char line[256];
  std::string out = info.path + "\n";
  std::snprintf(line, sizeof line, "  format    %s, %.3f s, %lld bytes%s\n", info.format.c_str(),
                info.duration_s, static_cast<long long>(info.size_bytes), info.is_image ? " (image)" : "");
  out += line;
  if (info.video) {
    const auto& v = *info.video;
    std::snprintf(line, sizeof line, "  video     %s %dx%d, %.3f fps, %s%lld frames, rotation %d\n",
                  v.codec.c_str(), v.width_px, v.height_px, v.fps, v.n_frames_estimated ? "~" : "",
                  static_cast<long long>(v.n_frames), v.rotation_deg);
    out += line;
  } else {
    out += "  video     none\n";
  }
  if (info.audio) {
    const auto& a = *info.audio;
    std::snprintf(line, sizeof line, "  audio     %s, %d Hz, %d channel%s\n", a.codec.c_str(),
                  a.sample_rate_hz, a.channels, a.channels == 1 ? "" : "s");
    out += line;
  } else {
    out += "  audio     none\n";
  }
  out.pop_back();
  return out;
}

Command make_probe(CLI::App& app) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* sub = app.add_subcommand("probe", "Describe a media file: container, streams, duration");
  sub->add_option("FILE", opts->path, "Video, image or audio file")->required();
  sub->add_flag("--json", opts->json, "Print JSON (CONTRACT.md) instead of text");
  return {sub, [opts] {
            auto info = media::probe(opts->path);
            if (!info.ok()) return fail(info.status());
            print_line(opts->json ? json_text(to_json(*info), 2) : to_text(*info));
            return 0;
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_probe);
