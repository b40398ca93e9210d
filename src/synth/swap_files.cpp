// swap_files: a face swap (landmark or autoencoder) over whole files. The target is tracked (landmarks smoothed over
// time by the tracker, so the pasted face does not flicker), every output frame is watermarked as
// synthetic while it is encoded, and the target's audio is copied.
#include <algorithm>
#include <filesystem>

#include "mark/mark.h"
#include "media/media.h"
#include "synth/autoencoder_swap.h"
#include "synth/marked_writer.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

constexpr int kMaxSourcePoses = 64;

// Source poses: the largest face of an image, or of frames spread over a video.
Result<std::vector<LandmarkSwapper::SourceFace>> source_faces(const std::string& source,
                                                              std::shared_ptr<const face::FaceModels> models) {
  auto info = media::probe(source);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(source, "swap source must be an image or a video");
  face::DetectOptions detect;
  detect.upsample = info->is_image ? 1 : 0;
  face::FaceDetector detector(models, detect);
  std::vector<LandmarkSwapper::SourceFace> faces;
  media::VideoReadOptions read;
  const int64_t n = std::max<int64_t>(1, info->video->n_frames);
  read.every_nth = static_cast<int>(std::max<int64_t>(1, n / kMaxSourcePoses));
  auto reader = media::VideoReader::open(source, read);
  if (!reader.ok()) return reader.status();
  VideoFrame frame;
  while (faces.size() < static_cast<size_t>(kMaxSourcePoses)) {
    auto more = (*reader)->read(frame);
    if (!more.ok()) return more.status();
    if (!*more) break;
    auto found = detector.detect_faces(frame.image);
    if (!found.ok()) return found.status();
    if (const face::Face* f = face::largest_face(*found)) faces.push_back({frame.image, f->landmarks});
  }
  if (faces.empty()) return Status::input(source, "no face found in the swap source");
  return faces;
}

// The face replacer of options.method, with the number of source poses (landmark) or faces
// (autoencoder) it has.
struct Replacer {
  detail::FaceReplacer replace;
  int n_source_poses = 0;
};

Result<Replacer> make_replacer(const std::string& source, const SwapOptions& options,
                               std::shared_ptr<const face::FaceModels> models) {
  if (options.method == "autoencoder") {
    auto ae = detail::autoencoder_replacer(source, options, models);
    if (!ae.ok()) return ae.status();
    return Replacer{std::move(ae->replace), ae->n_source_faces};
  }
  if (options.method != "landmark") return Status::usage("--method", "must be landmark or autoencoder, not '" + options.method + "'");
  if (!options.model_path.empty()) return Status::usage("--model", "is for --method autoencoder only");
  auto sources = source_faces(source, models);
  if (!sources.ok()) return sources.status();
  auto swapper = LandmarkSwapper::create(std::move(sources.value()), options);
  if (!swapper.ok()) return swapper.status();
  auto shared = std::make_shared<const LandmarkSwapper>(*std::move(swapper));
  return Replacer{[shared](Image& frame, const face::Landmarks& landmarks) { return shared->swap(frame, landmarks); },
                  static_cast<int>(shared->n_source_poses())};
}

Result<SwapSummary> swap_image(const Replacer& replacer, const std::string& target, const std::string& out,
                               const SwapOptions& options, std::shared_ptr<const face::FaceModels> models) {
  auto image = media::read_image(target);
  if (!image.ok()) return image.status();
  face::DetectOptions detect;
  detect.upsample = 1;
  face::FaceDetector detector(models, detect);
  auto faces = detector.detect_faces(*image);
  if (!faces.ok()) return faces.status();
  SwapSummary summary;
  summary.is_image = true;
  summary.n_frames = 1;
  summary.n_source_poses = replacer.n_source_poses;
  if (const face::Face* f = face::largest_face(*faces)) {
    auto swapped = replacer.replace(*image, f->landmarks);
    if (!swapped.ok()) return swapped.status();
    summary.n_swapped = 1;
  }
  auto marker = mark::FrameMarker::create(image->width_px(), image->height_px(), mark::synthetic_options(options.method, true));
  if (!marker.ok()) return marker.status();
  UNMASK_RETURN_IF_ERROR((*marker)->mark(*image));
  UNMASK_RETURN_IF_ERROR(media::write_image(out, *image, options.jpeg_quality));
  return summary;
}

}  // namespace

Result<SwapSummary> swap_files(const std::string& source, const std::string& target, const std::string& out,
                               const SwapOptions& options, std::shared_ptr<const face::FaceModels> models) {
  auto replacer = make_replacer(source, options, models);
  if (!replacer.ok()) return replacer.status();

  auto info = media::probe(target);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(target, "swap target must be a video or an image");
  if (info->is_image) return swap_image(*replacer, target, out, options, models);

  const bool rotated = info->video->rotation_deg % 180 != 0;
  const int width = rotated ? info->video->height_px : info->video->width_px;
  const int height = rotated ? info->video->width_px : info->video->height_px;
  media::VideoWriterOptions audio;
  audio.copy_audio_from = target;
  auto writer = detail::MarkedVideoWriter::open(out, width, height, info->video->fps, options.method, options.crf, audio);
  if (!writer.ok()) return writer.status();

  SwapSummary summary;
  summary.n_source_poses = replacer->n_source_poses;
  int main_track = -1;
  const auto on_frame = [&](face::FrameFaces& ff) -> Status {
    const face::Face* chosen = detail::main_face(ff, main_track);
    if (chosen != nullptr) {
      auto swapped = replacer->replace(ff.image, chosen->landmarks);
      if (swapped.ok()) ++summary.n_swapped;
    }
    ++summary.n_frames;
    return writer->write(ff.image, ff.pts_us);
  };
  face::TrackFileOptions track;
  auto faces = face::track_file(target, models, track, on_frame, options.progress);
  if (!faces.ok()) return faces.status();
  UNMASK_RETURN_IF_ERROR(writer->close());
  return summary;
}

}  // namespace unmask::synth
