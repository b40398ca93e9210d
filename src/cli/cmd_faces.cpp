// unmask faces VIDEO --out DIR [--draw] [--json]: detect, track and align every face of a video
// or image; writes DIR/track_<id>/<frame>.png, DIR/tracks.json (CONTRACT.md) and, with --draw,
// DIR/annotated.mp4 (annotated.png for an image).
#include <cstdio>
#include <memory>

#include "cli/cli.h"
#include "face/face.h"

namespace unmask::cli {
namespace {

struct FacesOptions {
  std::string path;
  face::ExportOptions exp;
  face::ModelOptions models;
  bool profile = false;
  bool json = false;
  bool no_crops = false;
};

Command make_faces(CLI::App& app) {
  auto o = std::make_shared<FacesOptions>();
  CLI::App* sub = app.add_subcommand("faces", "Detect, track and align the faces of a video or image");
  sub->add_option("VIDEO", o->path, "Video or image file")->required();
  sub->add_option("--out", o->exp.out_dir, "Output directory (created if missing)")->required();
  sub->add_flag("--draw", o->exp.draw, "Also write an annotated video (boxes, ids, landmarks)");
  sub->add_flag("--json", o->json, "Print tracks.json to stdout");
  sub->add_flag("--no-crops", o->no_crops, "Do not write aligned crops");
  sub->add_option("--crop-size", o->exp.crop.size_px, "Aligned crop side in pixels")
      ->capture_default_str()->check(CLI::Range(16, 4096));
  sub->add_option("--margin", o->exp.crop.margin, "Context around the aligned face, fraction per side")
      ->capture_default_str()->check(CLI::Range(0.0, 2.0));
  sub->add_option("--detect-every", o->exp.track.tracker.detect_every_n,
                  "Run the detector every N frames (0 = adaptive)")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  sub->add_option("--max-side", o->exp.track.tracker.detect.max_side_px,
                  "Longer side of the frame the detector sees, px")
      ->capture_default_str()->check(CLI::Range(64, 8192));
  sub->add_option("--upsample", o->exp.track.tracker.detect.upsample, "Extra 2x detector up-sampling steps (small faces)")
      ->capture_default_str()->check(CLI::Range(0, 3));
  sub->add_option("--min-track", o->exp.track.tracker.min_track_frames, "Drop tracks shorter than N frames")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  sub->add_option("--every-nth", o->exp.track.every_nth, "Process every Nth frame")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_flag("--profile", o->profile, "Also detect side faces (OpenCV profile cascade, opencv-data)");
  sub->add_option("--landmark-model", o->models.landmark_model_path, "dlib 68-point shape predictor")
      ->capture_default_str();
  return {sub, [o] {
            if (o->profile) {
              o->models.profile_cascade_path = face::kDefaultProfileCascadePath;
              o->exp.track.tracker.detect.use_profile = true;
            }
            o->exp.write_crops = !o->no_crops;
            auto models = face::FaceModels::load(o->models);
            if (!models.ok()) return fail(models.status());
            TerminalProgress progress(global_options().quiet);
            auto result = face::export_faces(o->path, *models, o->exp, progress.as_fn());
            progress.finish();
            if (!result.ok()) return fail(result.status());
            const face::VideoFaces& f = result->faces;
            if (o->json) {
              print_line(face::to_tracks_json(f, 1));
            } else {
              char line[512];
              std::snprintf(line, sizeof line,
                            "%s: %lld frame%s, %zu track%s, a face in %.1f%% of frames\n"
                            "wrote %s, %lld crop%s%s%s",
                            o->path.c_str(), static_cast<long long>(f.n_frames), f.n_frames == 1 ? "" : "s",
                            f.tracks.size(), f.tracks.size() == 1 ? "" : "s",
                            f.n_frames ? 100.0 * f.n_frames_with_face / f.n_frames : 0.0,
                            result->tracks_json_path.c_str(), static_cast<long long>(result->n_crops),
                            result->n_crops == 1 ? "" : "s", result->annotated_path.empty() ? "" : ", ",
                            result->annotated_path.c_str());
              print_line(line);
            }
            return 0;
          }};
}

}  // namespace
}  // namespace unmask::cli

UNMASK_REGISTER_COMMAND(unmask::cli::make_faces);
