// export_faces: the files `unmask faces` writes (crops per track, tracks.json, annotated video).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "face/face.h"
#include "media/media.h"

namespace unmask::face {

namespace fs = std::filesystem;

Result<ExportResult> export_faces(const std::string& path, std::shared_ptr<const FaceModels> models,
                                  const ExportOptions& options, const ProgressFn& progress) {
  if (options.out_dir.empty()) return Status::usage("--out", "an output directory is required");
  auto info = media::probe(path);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(path, "no video stream or image");
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec || !fs::is_directory(options.out_dir)) {
    return Status::input(options.out_dir, "cannot create the output directory: " + ec.message());
  }
  const fs::path out_dir(options.out_dir);

  ExportResult result;
  std::unique_ptr<media::VideoWriter> writer;
  std::set<int> track_dirs;
  auto on_frame = [&](FrameFaces& ff) -> Status {
    if (options.write_crops) {
      for (const Face& f : ff.faces) {
        const fs::path dir = out_dir / ("track_" + std::to_string(f.track_id));
        if (track_dirs.insert(f.track_id).second) {
          fs::create_directories(dir, ec);
          if (ec) return Status::input(dir.string(), "cannot create directory: " + ec.message());
        }
        auto aligned = align_face(ff.image, f.landmarks, options.crop);
        if (!aligned.ok()) return aligned.status();
        char name[32];
        std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(ff.index));
        UNMASK_RETURN_IF_ERROR(media::write_image((dir / name).string(), aligned->crop));
        ++result.n_crops;
      }
    }
    if (options.draw) {
      draw_faces(ff.image, ff.faces);
      if (info->is_image) {
        result.annotated_path = (out_dir / "annotated.png").string();
        return media::write_image(result.annotated_path, ff.image);
      }
      if (!writer) {
        media::VideoWriterOptions wo;
        if (info->audio) wo.copy_audio_from = path;
        result.annotated_path = (out_dir / "annotated.mp4").string();
        const double fps = info->video->fps > 0 ? info->video->fps / options.track.every_nth : 25.0;
        auto w = media::VideoWriter::open(result.annotated_path, ff.image.width_px(), ff.image.height_px(), fps, wo);
        if (!w.ok()) return w.status();
        writer = std::move(*w);
      }
      return writer->write(ff.image, ff.pts_us);
    }
    return Status::ok();
  };

  auto faces = track_file(path, std::move(models), options.track, on_frame, progress);
  if (!faces.ok()) return faces.status();
  if (writer) UNMASK_RETURN_IF_ERROR(writer->close());
  result.faces = std::move(*faces);
  result.tracks_json_path = (out_dir / "tracks.json").string();
  UNMASK_RETURN_IF_ERROR(write_file_atomic(result.tracks_json_path, to_tracks_json(result.faces, 1) + "\n"));
  return result;
}

}  // namespace unmask::face
