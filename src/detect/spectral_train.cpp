// Training the spectral detector from a manifest of face images and videos (real and fake).
//
// Pipeline: every item -> faces (dlib HOG; a 128 px tile is up-sampled for the detector, and a
// second pass with one more pyramid step tries again when nothing is found) -> aligned crops at
// spectral's alignment (the largest face; every face for "strip" items holding several generated
// faces side by side; up to 6 frames of a video) -> cached as PNG under the cache dir. Items where
// no face is found are skipped and counted in the card: at scan time the detector only ever sees
// aligned faces, so a picture without a detectable face has no counterpart there.
//
// Shortcut control: both classes go through the same augmentation before the features — a
// random down-and-up resize (p = 0.3, factor 0.55-0.95) and a JPEG re-encode at a random quality
// 50-95 (p = 0.85) — and the features are computed on grey crops at one size, so colour vs grey
// sources, source resolution and source JPEG quality are not what separates the classes. Fakes,
// being fewer, are repeated with different augmentations up to the real count (at most 6 times).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "detect/cv_image.h"
#include "detect/feature_model.h"
#include "detect/feature_trainer.h"
#include "detect/spectral.h"
#include "detect/training.h"
#include "face/face.h"
#include "learn/learn.h"
#include "media/cv_jpeg.h"
#include "media/media.h"

namespace unmask::detect {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxFacesPerStrip = 8;
constexpr int kFramesPerVideo = 6;

// Faces of one picture, largest first; a second pass with one more up-sampling step when the
// first finds nothing (faces in 128 px tiles are small for HOG).
Result<std::vector<face::Face>> find_faces(const std::shared_ptr<const face::FaceModels>& models, const Image& image) {
  face::DetectOptions opts;
  opts.max_upscale = 4.0;
  face::FaceDetector detector(models, opts);
  auto faces = detector.detect_faces(image);
  if (!faces.ok()) return faces.status();
  if (faces->empty()) {
    opts.upsample = 1;
    face::FaceDetector again(models, opts);
    faces = again.detect_faces(image);
    if (!faces.ok()) return faces.status();
  }
  std::sort(faces->begin(), faces->end(), [](const face::Face& a, const face::Face& b) { return a.box.area() > b.box.area(); });
  return std::move(*faces);
}

// Aligned spectral crops of one manifest item (image or video).
Result<std::vector<Image>> extract_crops(const std::shared_ptr<const face::FaceModels>& models,
                                         const learn::ManifestItem& item) {
  std::vector<Image> crops;
  auto method_it = item.columns.find("method");
  const bool strip = method_it != item.columns.end() && method_it->second.find("strip") != std::string::npos;
  auto take = [&](const Image& frame, int max_faces) -> Status {
    auto found = spectral_face_crops(frame, models, max_faces);
    if (!found.ok()) return found.status();
    for (Image& c : *found) crops.push_back(std::move(c));
    return Status::ok();
  };
  if (media::has_image_extension(item.path) || fs::path(item.path).extension() == ".pgm") {
    auto image = media::read_image(item.path);
    if (!image.ok()) return image.status();
    UNMASK_RETURN_IF_ERROR(take(*image, strip ? kMaxFacesPerStrip : 1));
    return crops;
  }
  auto info = media::probe(item.path);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(item.path, "no video stream");
  media::VideoReadOptions ro;
  ro.every_nth = static_cast<int>(std::max<int64_t>(1, info->video->n_frames / kFramesPerVideo));
  ro.max_side_px = 1280;
  auto reader = media::VideoReader::open(item.path, ro);
  if (!reader.ok()) return reader.status();
  VideoFrame frame;
  for (int k = 0; k < kFramesPerVideo; ++k) {
    auto more = (*reader)->read(frame);
    if (!more.ok()) return more.status();
    if (!*more) break;
    UNMASK_RETURN_IF_ERROR(take(frame.image, 1));
  }
  return crops;
}

// Crops of an item from the cache, or extracted and cached. The cache key covers the path, its
// size and time, and the alignment.
Result<std::vector<Image>> cached_crops(const std::shared_ptr<const face::FaceModels>& models,
                                        const learn::ManifestItem& item, const fs::path& cache) {
  std::error_code ec;
  const auto size = fs::file_size(item.path, ec);
  std::ostringstream key;
  key << item.path << '|' << (ec ? 0 : size) << '|' << kSpectralCropPx << '|' << kSpectralMargin << "|v1";
  const std::string stem = sha256_hex(key.str()).substr(0, 24);
  const fs::path count_file = cache / (stem + ".n");
  if (fs::exists(count_file)) {
    auto text = read_file(count_file.string());
    if (text.ok()) {
      int n = std::atoi(text->c_str());
      std::vector<Image> crops;
      bool complete = true;
      for (int i = 0; i < n && complete; ++i) {
        auto img = media::read_image((cache / (stem + "_" + std::to_string(i) + ".png")).string());
        if (img.ok()) {
          crops.push_back(std::move(*img));
        } else {
          complete = false;
        }
      }
      if (complete) return crops;
    }
  }
  auto crops = extract_crops(models, item);
  if (!crops.ok()) return crops.status();
  for (size_t i = 0; i < crops->size(); ++i) {
    UNMASK_RETURN_IF_ERROR(media::write_image((cache / (stem + "_" + std::to_string(i) + ".png")).string(), (*crops)[i]));
  }
  UNMASK_RETURN_IF_ERROR(write_file_atomic(count_file.string(), std::to_string(crops->size())));
  return crops;
}

// The training-time augmentation shared by both classes (see the file comment).
Image augment(const Image& crop, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  cv::Mat m = as_mat(crop).clone();
  if (u(rng) < 0.5) cv::flip(m, m, 1);
  if (u(rng) < 0.3) {
    const double f = 0.55 + 0.4 * u(rng);
    cv::Mat small;
    cv::resize(m, small, cv::Size(), f, f, cv::INTER_AREA);
    cv::resize(small, m, m.size(), 0, 0, cv::INTER_LINEAR);
  }
  if (u(rng) < 0.85) {
    const int quality = 50 + static_cast<int>(u(rng) * 46);
    media::jpeg_recode(m, quality);
  }
  return to_image(m);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Result<std::vector<Image>> spectral_face_crops(const Image& picture, const std::shared_ptr<const face::FaceModels>& models,
                                               int max_faces) {
  const face::AlignOptions align{.size_px = kSpectralCropPx, .margin = kSpectralMargin};
  auto faces = find_faces(models, picture);
  if (!faces.ok()) return faces.status();
  std::vector<Image> crops;
  for (int i = 0; i < std::min<int>(max_faces, static_cast<int>(faces->size())); ++i) {
    auto aligned = face::align_face(picture, (*faces)[i].landmarks, align);
    if (aligned.ok()) crops.push_back(std::move(aligned->crop));
  }
  return crops;
}

Result<TrainSummary> train_spectral(const TrainRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto items = learn::read_manifest(request.manifest_path);
  if (!items.ok()) return items.status();
  if (items->empty()) return Status::input(request.manifest_path, "no rows");
  auto models = face::FaceModels::load();
  if (!models.ok()) return models.status();
  auto cache_folder = prepare_training_folders(request, "spectral-crops", "spectral-cache");
  if (!cache_folder.ok()) return cache_folder.status();
  const fs::path cache = *cache_folder;

  // 1. Crops per item.
  struct ItemCrops {
    size_t item = 0;
    std::vector<Image> crops;
  };
  std::vector<ItemCrops> per_item;
  std::map<std::string, std::array<int, 3>> per_source;  // items, items without a face, crops
  int n_failed = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    auto src_it = item.columns.find("source_repo");
    const std::string source = (src_it != item.columns.end() && !src_it->second.empty() ? src_it->second : "unknown") +
                               (item.label ? " (fake)" : " (real)");
    auto& counts = per_source[source];
    counts[0] += 1;
    auto crops = cached_crops(*models, item, cache);
    if (!crops.ok()) {
      // Unreadable items are counted, not fatal (a corpus always has a few).
      n_failed += 1;
      counts[1] += 1;
      continue;
    }
    if (crops->empty()) counts[1] += 1;
    counts[2] += static_cast<int>(crops->size());
    if (!crops->empty()) per_item.push_back({i, std::move(*crops)});
    if (request.progress && (i % 20 == 0 || i + 1 == items->size())) {
      request.progress(0.5 * (i + 1) / items->size(),
                       "faces " + std::to_string(i + 1) + "/" + std::to_string(items->size()));
    }
  }

  // 2. Augmented feature rows; the split is by item (a held-out item's crops all go to validation).
  int n_crops[2] = {0, 0};
  for (const auto& pi : per_item) n_crops[(*items)[pi.item].label] += static_cast<int>(pi.crops.size());
  if (n_crops[0] == 0 || n_crops[1] == 0) return Status::input(request.manifest_path, "needs faces of both classes");
  const int fake_copies = std::clamp(static_cast<int>(std::lround(static_cast<double>(n_crops[0]) / n_crops[1])), 1, 6);
  const int real_copies = std::clamp(static_cast<int>(std::lround(static_cast<double>(n_crops[1]) / n_crops[0])), 1, 6);
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
  std::vector<bool> is_val;
  for (const auto& pi : per_item) {
    const auto& item = (*items)[pi.item];
    const bool val = splitmix64(hash_text(item.path) ^ request.seed) % 5 == 0;
    const int copies = val ? 1 : (item.label ? fake_copies : real_copies);
    for (size_t c = 0; c < pi.crops.size(); ++c) {
      for (int k = 0; k < copies; ++k) {
        std::mt19937_64 rng(splitmix64(hash_text(item.path) ^ splitmix64(request.seed * 1000003ULL + c * 131 + k)));
        rows.push_back(spectral_features(augment(pi.crops[c], rng)));
        labels.push_back(item.label);
        is_val.push_back(val);
      }
    }
  }
  if (request.progress) request.progress(0.55, "features " + std::to_string(rows.size()));

  // 3. The classifier.
  FeatureTrainOptions opts = feature_train_options(request, 40, kSpectralFeatureVersion, 0.55);
  opts.hidden_widths = {32, 16};
  opts.extra_metadata = {{"detector", "spectral"},
                         {"alignment", std::to_string(kSpectralCropPx) + " px, margin " + std::to_string(kSpectralMargin)}};
  auto fitted = fit_and_save_feature_model(request, opts, rows, labels, is_val, t0);
  if (!fitted.ok()) return fitted.status();
  TrainSummary summary = std::move(*fitted);
  summary.metrics["n_items_failed"] = n_failed;
  for (const auto& pi : per_item) ((*items)[pi.item].label ? summary.n_fake : summary.n_real) += 1;

  auto manifest_sha = sha256_file(request.manifest_path);
  std::ostringstream data;
  data << "{\"manifest\": \"" << json_escape(request.manifest_path) << "\", \"manifest_sha256\": \""
       << (manifest_sha.ok() ? *manifest_sha : std::string()) << "\", \"n_items_with_face\": {\"real\": " << summary.n_real
       << ", \"fake\": " << summary.n_fake << "}, \"n_crops\": {\"real\": " << n_crops[0] << ", \"fake\": " << n_crops[1]
       << "}, \"copies_per_crop\": {\"real\": " << real_copies << ", \"fake\": " << fake_copies
       << "}, \"validation\": \"items whose path hash (with the seed) is 0 mod 5, one augmented copy each\""
       << ", \"augmentation\": \"both classes: flip p=0.5, down-up resize p=0.3 factor 0.55-0.95, JPEG re-encode p=0.85 quality 50-95; grey "
       << kSpectralCropPx << " px crops\", \"no_face\": \"items where no face is found are skipped (counted per source)\", \"sources\": {";
  bool first = true;
  for (const auto& [source, c] : per_source) {
    data << (first ? "" : ", ") << "\"" << json_escape(source) << "\": {\"items\": " << c[0] << ", \"no_face\": " << c[1]
         << ", \"crops\": " << c[2] << "}";
    first = false;
  }
  data << "}}";
  UNMASK_RETURN_IF_ERROR(write_feature_model_card(
      request, summary, "spectral", data.str(),
      "mlp 68-32-16-1 (SiLU) on standardised features, Platt calibration on validation"));
  return summary;
}

}  // namespace unmask::detect
