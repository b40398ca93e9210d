// selfblend_files: SBI pairs from a folder of photos or a video, written as PNG with a CSV.
// Both images of a pair carry the synthetic watermark: marking only the fakes would hand a
// detector trained on them a shortcut (the mark) instead of the blending traces.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mark/mark.h"
#include "media/media.h"
#include "synth/synth.h"

namespace unmask::synth {
namespace {

namespace fs = std::filesystem;

struct AlignedInput {
  face::AlignedFace face;
  std::string source;
  int64_t frame = 0;
};

// The largest face of an image, aligned; nullopt when there is none.
std::optional<face::AlignedFace> largest_face(face::FaceDetector& detector, const Image& image,
                                              const SelfBlendFilesOptions& options) {
  auto faces = detector.detect_faces(image);
  const face::Face* biggest = faces.ok() ? face::largest_face(*faces) : nullptr;
  if (biggest == nullptr) return std::nullopt;
  face::AlignOptions align;
  align.size_px = options.size_px;
  align.margin = options.margin;
  auto aligned = face::align_face(image, biggest->landmarks, align);
  if (!aligned.ok()) return std::nullopt;
  return std::move(aligned.value());
}

Result<std::vector<AlignedInput>> collect_faces(const std::string& in, const SelfBlendFilesOptions& options,
                                                std::shared_ptr<const face::FaceModels> models, int& n_inputs) {
  face::DetectOptions detect;
  detect.upsample = 1;
  face::FaceDetector detector(models, detect);
  std::vector<AlignedInput> found;
  std::error_code ec;
  if (fs::is_directory(in, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(in, ec)) {
      if (entry.is_regular_file() && media::has_image_extension(entry.path().string())) {
        files.push_back(entry.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) return Status::input(in, "folder has no jpg/png images");
    for (size_t i = 0; i < files.size(); ++i) {
      if (options.progress) options.progress(0.5 * i / files.size(), "finding faces");
      auto image = media::read_image(files[i]);
      ++n_inputs;
      if (!image.ok()) continue;  // an unreadable photo in a folder is skipped, not fatal
      if (auto f = largest_face(detector, *image, options)) found.push_back({std::move(*f), files[i], 0});
    }
  } else {
    media::VideoReadOptions read;
    read.every_nth = std::max(1, options.every_nth_frame);
    auto reader = media::VideoReader::open(in, read);
    if (!reader.ok()) return reader.status();
    VideoFrame frame;
    while (true) {
      auto more = (*reader)->read(frame);
      if (!more.ok()) return more.status();
      if (!*more) break;
      ++n_inputs;
      if (auto f = largest_face(detector, frame.image, options)) found.push_back({std::move(*f), in, frame.index});
    }
  }
  if (found.empty()) return Status::input(in, "no face found to self-blend");
  return found;
}

std::string name(const char* prefix, int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s_%05d.png", prefix, index);
  return buf;
}

}  // namespace

Result<SelfBlendFilesSummary> selfblend_files(const std::string& in, const std::string& out_dir,
                                              const SelfBlendFilesOptions& options,
                                              std::shared_ptr<const face::FaceModels> models) {
  if (options.n_samples < 0) return Status::usage("--n", "must not be negative");
  if (options.size_px < 64 || options.size_px > 1024) return Status::usage("size", "must be 64-1024 px");
  SelfBlendFilesSummary summary;
  auto faces = collect_faces(in, options, models, summary.n_inputs);
  if (!faces.ok()) return faces.status();
  summary.n_faces = static_cast<int>(faces->size());

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Status::input(out_dir, "cannot create folder: " + ec.message());
  // Crops are small stills: the mark is embedded 1.5x stronger (about 39 dB PSNR) so that it is
  // found on every crop, not only on textured ones. Both classes carry it equally.
  mark::MarkOptions mark_options = mark::synthetic_options("selfblend", true);
  mark_options.strength = 1.5;
  auto marker = mark::FrameMarker::create(options.size_px, options.size_px, mark_options);
  if (!marker.ok()) return marker.status();

  const int n = options.n_samples > 0 ? options.n_samples : summary.n_faces;
  summary.csv_path = (fs::path(out_dir) / "selfblend.csv").string();
  std::string csv =
      "index,real,fake,mask,source,frame,seed,altered_source,hull,shift_x,shift_y,scale,frequency_op,"
      "blur_kernel_1,blur_kernel_2,blend_ratio,jpeg_quality\n";
  for (int i = 0; i < n; ++i) {
    if (options.progress) options.progress(0.5 + 0.5 * i / n, "blending");
    const AlignedInput& input = (*faces)[static_cast<size_t>(i) % faces->size()];
    // One generator per sample, seeded from (seed, index): any sample can be re-made alone.
    std::mt19937_64 rng(options.seed * 1000003ULL + static_cast<uint64_t>(i));
    auto sample = self_blend(input.face.crop, input.face.landmarks, rng);
    if (!sample.ok()) return sample.status();
    UNMASK_RETURN_IF_ERROR((*marker)->mark(sample->real));
    UNMASK_RETURN_IF_ERROR((*marker)->mark(sample->fake));
    const std::string real = name("real", i), fake = name("fake", i), mask = name("mask", i);
    UNMASK_RETURN_IF_ERROR(media::write_image((fs::path(out_dir) / real).string(), sample->real));
    UNMASK_RETURN_IF_ERROR(media::write_image((fs::path(out_dir) / fake).string(), sample->fake));
    UNMASK_RETURN_IF_ERROR(media::write_image((fs::path(out_dir) / mask).string(), sample->mask));
    const SelfBlendParams& p = sample->params;
    char line[512];
    std::snprintf(line, sizeof line, "%d,%s,%s,%s,\"%s\",%lld,%llu,%d,%d,%.4f,%.4f,%.4f,%d,%d,%d,%.2f,%d\n", i,
                  real.c_str(), fake.c_str(), mask.c_str(), input.source.c_str(),
                  static_cast<long long>(input.frame), static_cast<unsigned long long>(options.seed),
                  p.altered_source ? 1 : 0, p.hull, p.shift_x, p.shift_y, p.scale, p.frequency_op,
                  p.blur_kernel_1, p.blur_kernel_2, p.blend_ratio, p.jpeg_quality);
    csv += line;
    ++summary.n_samples;
  }
  UNMASK_RETURN_IF_ERROR(write_file_atomic(summary.csv_path, csv));
  return summary;
}

}  // namespace unmask::synth
