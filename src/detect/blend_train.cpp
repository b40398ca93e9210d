// Training the `blend` detector: real faces from a manifest -> aligned crops (cached) -> SBI
// pseudo-fakes + shared augmentation -> learn::train_binary -> Platt calibration on a validation
// split by file -> model file with metadata + model card.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <atomic>

#include "core/clock.h"
#include "core/json_text.h"
#include "detect/blend.h"
#include "detect/cv_image.h"
#include "media/cv_jpeg.h"
#include "media/media.h"
#include "nn/nn.h"
#include "synth/synth.h"

namespace unmask::detect {
namespace {

namespace fs = std::filesystem;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// ------------------------------------------------------------------------------------------------
// Crop cache: one file per manifest item.
//   "UNMBLCR1" | u32 n | u32 size | n x (i64 frame | 136 f64 landmarks | size*size*3 bytes)
// ------------------------------------------------------------------------------------------------

constexpr std::string_view kCacheMagic = "UNMBLCR1";

template <typename T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
bool take(std::string_view in, size_t& pos, T& v) {
  if (pos + sizeof(T) > in.size()) return false;
  std::memcpy(&v, in.data() + pos, sizeof(T));
  pos += sizeof(T);
  return true;
}

std::string encode_crops(const std::vector<BlendCrop>& crops, int size) {
  std::string out(kCacheMagic);
  put(out, static_cast<uint32_t>(crops.size()));
  put(out, static_cast<uint32_t>(size));
  for (const BlendCrop& c : crops) {
    put(out, c.frame);
    for (const face::Point2& p : c.landmarks) {
      put(out, p.x);
      put(out, p.y);
    }
    for (int y = 0; y < size; ++y) out.append(reinterpret_cast<const char*>(c.crop.row(y)), c.crop.row_bytes());
  }
  return out;
}

bool decode_crops(std::string_view in, int size, const std::string& source, int label, std::vector<BlendCrop>& out) {
  if (!in.starts_with(kCacheMagic)) return false;
  size_t pos = kCacheMagic.size();
  uint32_t n = 0, s = 0;
  if (!take(in, pos, n) || !take(in, pos, s) || static_cast<int>(s) != size) return false;
  const size_t per = sizeof(int64_t) + 136 * sizeof(double) + static_cast<size_t>(size) * size * 3;
  if (in.size() != pos + per * n) return false;
  for (uint32_t i = 0; i < n; ++i) {
    BlendCrop c;
    c.source = source;
    c.label = label;
    take(in, pos, c.frame);
    for (face::Point2& p : c.landmarks) {
      take(in, pos, p.x);
      take(in, pos, p.y);
    }
    c.crop = Image(size, size, 3);
    for (int y = 0; y < size; ++y) {
      std::memcpy(c.crop.row(y), in.data() + pos, c.crop.row_bytes());
      pos += c.crop.row_bytes();
    }
    out.push_back(std::move(c));
  }
  return true;
}

bool is_video_item(const learn::ManifestItem& item) {
  auto it = item.columns.find("kind");
  if (it != item.columns.end() && !it->second.empty()) return it->second == "video";
  return !media::has_image_extension(item.path);
}

// Crops of one item, freshly extracted. Input error when it cannot be decoded.
Result<std::vector<BlendCrop>> extract_item(const learn::ManifestItem& item,
                                            std::shared_ptr<const face::FaceModels> models,
                                            const CropExtractOptions& o) {
  std::vector<BlendCrop> crops;
  auto add = [&](const Image& image, const face::Face& f, int64_t frame) {
    auto aligned = face::align_face(image, f.landmarks, o.align);
    if (!aligned.ok()) return;
    BlendCrop c;
    c.crop = std::move(aligned->crop);
    c.landmarks = aligned->landmarks;
    c.label = item.label;
    c.source = item.path;
    c.frame = frame;
    crops.push_back(std::move(c));
  };
  if (!is_video_item(item)) {
    auto image = media::read_image(item.path);
    if (!image.ok()) return image.status();
    // Photos in face data sets are face-centred; no up-scaling keeps detection fast.
    face::DetectOptions detect;
    detect.max_upscale = 1.0;
    face::FaceDetector detector(models, detect);
    auto faces = detector.detect_faces(*image);
    if (!faces.ok()) return faces.status();
    if (const face::Face* f = face::largest_face(*faces, o.min_face_px)) add(*image, *f, 0);
    return crops;
  }
  auto info = media::probe(item.path);
  if (!info.ok()) return info.status();
  if (!info->video) return Status::input(item.path, "no video stream");
  face::TrackFileOptions track;
  // Spread the crops over the whole video.
  const int64_t n_frames = std::max<int64_t>(1, info->video->n_frames);
  track.every_nth = std::max<int>(o.every_nth_frame, static_cast<int>(n_frames / std::max(1, o.max_crops_per_video)));
  track.tracker.min_track_frames = 1;
  auto result = face::track_file(item.path, models, track, [&](face::FrameFaces& ff) -> Status {
    if (static_cast<int>(crops.size()) >= o.max_crops_per_video) return Status::ok();
    if (const face::Face* f = face::largest_face(ff.faces, o.min_face_px)) add(ff.image, *f, ff.index);
    return Status::ok();
  });
  if (!result.ok()) return result.status();
  return crops;
}

// ------------------------------------------------------------------------------------------------
// Augmentation helpers
// ------------------------------------------------------------------------------------------------

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
bool coin(std::mt19937_64& rng, double p) { return uniform(rng, 0, 1) < p; }

std::vector<float> boundary_target(const Image& boundary, int side) {
  std::vector<float> out(static_cast<size_t>(side) * side, 0.0f);
  if (boundary.empty()) return out;
  cv::Mat small;
  cv::resize(as_mat(boundary), small, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  for (int y = 0; y < side; ++y) {
    const uint8_t* row = small.ptr<uint8_t>(y);
    for (int x = 0; x < side; ++x) out[static_cast<size_t>(y) * side + x] = row[x] / 255.0f;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Trainer helpers
// ------------------------------------------------------------------------------------------------

double logit_of(double p) {
  p = std::clamp(p, 1e-7, 1.0 - 1e-7);
  return std::log(p / (1.0 - p));
}

std::string fmt(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

// ------------------------------------------------------------------------------------------------

Result<std::vector<BlendCrop>> extract_blend_crops(const std::vector<learn::ManifestItem>& items,
                                                   std::shared_ptr<const face::FaceModels> models,
                                                   const CropExtractOptions& o, CropExtractSummary* summary) {
  if (!o.cache_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.cache_dir, ec);
    if (ec) return Status::input(o.cache_dir, "cannot create the cache folder: " + ec.message());
  }
  // Items are independent: two workers (FaceModels is shared and immutable), results kept in
  // manifest order.
  struct PerItem {
    std::vector<BlendCrop> crops;
    bool cached = false, failed = false;
  };
  std::vector<PerItem> results(items.size());
  std::atomic<size_t> next{0}, done{0};
  std::mutex progress_mutex;
  auto work = [&] {
    for (size_t i = next++; i < items.size(); i = next++) {
      const learn::ManifestItem& item = items[i];
      PerItem& r = results[i];
      std::string cache_path;
      if (!o.cache_dir.empty()) {
        std::error_code ec;
        const auto size = fs::file_size(item.path, ec);
        const auto mtime = ec ? 0 : fs::last_write_time(item.path, ec).time_since_epoch().count();
        const std::string key = item.path + "|" + std::to_string(size) + "|" + std::to_string(mtime) + "|" +
                                std::to_string(o.align.size_px) + "|" + fmt(o.align.margin, 6) + "|" +
                                std::to_string(o.every_nth_frame) + "|" + std::to_string(o.max_crops_per_video) +
                                "|" + std::to_string(o.min_face_px);
        cache_path = (fs::path(o.cache_dir) / (sha256_hex(key).substr(0, 24) + ".crops")).string();
        if (fs::exists(cache_path, ec)) {
          auto bytes = read_file(cache_path);
          if (bytes.ok() && decode_crops(*bytes, o.align.size_px, item.path, item.label, r.crops)) r.cached = true;
        }
      }
      if (!r.cached) {
        auto crops = extract_item(item, models, o);
        if (!crops.ok()) {
          r.failed = true;
          log_warning("blend: skipping " + item.path + ": " + crops.status().message());
        } else {
          r.crops = std::move(*crops);
          if (!cache_path.empty()) {
            Status w = write_file_atomic(cache_path, encode_crops(r.crops, o.align.size_px));
            if (!w.is_ok()) log_warning("blend: cannot cache crops: " + w.message());
          }
        }
      }
      const size_t d = ++done;
      if (o.progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        o.progress(static_cast<double>(d) / items.size(),
                   "finding faces " + std::to_string(d) + "/" + std::to_string(items.size()));
      }
    }
  };
  std::thread helper(work);
  work();
  helper.join();

  CropExtractSummary s;
  std::vector<BlendCrop> all;
  for (PerItem& r : results) {
    ++s.n_items;
    s.n_cached += r.cached ? 1 : 0;
    s.n_failed += r.failed ? 1 : 0;
    s.n_items_with_face += r.crops.empty() ? 0 : 1;
    for (BlendCrop& c : r.crops) all.push_back(std::move(c));
  }
  if (summary) *summary = s;
  return all;
}

void augment_crop(Image& crop, Image& boundary, std::mt19937_64& rng) {
  cv::Mat img = as_mat(crop).clone();
  cv::Mat bnd = boundary.empty() ? cv::Mat() : as_mat(boundary).clone();
  const int w = img.cols, h = img.rows;
  if (coin(rng, 0.5)) {
    cv::flip(img, img, 1);
    if (!bnd.empty()) cv::flip(bnd, bnd, 1);
  }
  // Everything below changes the whole crop the same way for both classes: what real video does to
  // a face crop (imprecise alignment, occluders, camera, light, grading, coding) must never read as
  // blending. The boundary target follows the geometry and is hidden under an occluder.
  if (coin(rng, 0.3)) {  // alignment error: landmarks fitted loosely in motion, face near the frame edge
    const double scale = uniform(rng, 0.85, 1.25), angle = uniform(rng, -15, 15);
    cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, h / 2.0f), angle, scale);
    m.at<double>(0, 2) += uniform(rng, -0.08, 0.08) * w;
    m.at<double>(1, 2) += uniform(rng, -0.08, 0.08) * h;
    const bool black = coin(rng, 0.5);  // out of the frame: align_face fills with black
    cv::warpAffine(img, img, m, img.size(), cv::INTER_LINEAR, black ? cv::BORDER_CONSTANT : cv::BORDER_REFLECT101,
                   cv::Scalar(0, 0, 0));
    if (!bnd.empty()) cv::warpAffine(bnd, bnd, m, bnd.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  }
  if (coin(rng, 0.25)) {  // an occluder across the face (hand, microphone, hair, glasses)
    cv::Mat mask = cv::Mat::zeros(img.size(), CV_8U);
    const cv::Point c(static_cast<int>(uniform(rng, 0.15, 0.85) * w), static_cast<int>(uniform(rng, 0.3, 1.0) * h));
    if (coin(rng, 0.5)) {
      cv::ellipse(mask, c, cv::Size(static_cast<int>(uniform(rng, 0.08, 0.3) * w), static_cast<int>(uniform(rng, 0.08, 0.3) * h)),
                  uniform(rng, 0, 180), 0, 360, cv::Scalar(255), cv::FILLED);
    } else {  // a bar (microphone stand, glasses arm, strand of hair)
      const double a = uniform(rng, 0, CV_PI), len = uniform(rng, 0.3, 1.0) * w;
      const cv::Point d(static_cast<int>(std::cos(a) * len / 2), static_cast<int>(std::sin(a) * len / 2));
      cv::line(mask, c - d, c + d, cv::Scalar(255), std::max(2, static_cast<int>(uniform(rng, 0.02, 0.12) * w)));
    }
    cv::Mat occ(img.size(), CV_8UC3);
    if (coin(rng, 0.5)) {  // skin-like or any flat colour with texture
      occ.setTo(cv::Scalar(uniform(rng, 40, 200), uniform(rng, 60, 210), uniform(rng, 80, 240)));
    } else {
      occ.setTo(cv::Scalar(uniform(rng, 0, 255), uniform(rng, 0, 255), uniform(rng, 0, 255)));
    }
    cv::Mat tex(img.size(), CV_8UC3);
    cv::RNG cvrng(static_cast<uint64_t>(rng()));
    cvrng.fill(tex, cv::RNG::NORMAL, 0, uniform(rng, 2, 12));
    occ += tex;
    cv::Mat soft;
    cv::GaussianBlur(mask, soft, cv::Size(0, 0), uniform(rng, 0.5, 2.0));
    cv::Mat alpha, fi, fo;
    soft.convertTo(alpha, CV_32F, 1.0 / 255);
    cv::cvtColor(alpha, alpha, cv::COLOR_GRAY2BGR);
    img.convertTo(fi, CV_32FC3);
    occ.convertTo(fo, CV_32FC3);
    cv::Mat blended = fi.mul(cv::Scalar(1, 1, 1) - alpha) + fo.mul(alpha);
    blended.convertTo(img, CV_8UC3);
    if (!bnd.empty()) {
      cv::Mat keep;
      cv::threshold(soft, keep, 127, 255, cv::THRESH_BINARY_INV);
      cv::bitwise_and(bnd, keep, bnd);
    }
  }
  if (coin(rng, 0.3)) {  // brightness / contrast
    const double contrast = uniform(rng, 0.8, 1.2), brightness = uniform(rng, -25, 25);
    img.convertTo(img, CV_8UC3, contrast, brightness + 128 * (1 - contrast));
  }
  if (coin(rng, 0.3)) {  // colour cast (white balance, grading) and saturation
    std::vector<cv::Mat> ch;
    cv::split(img, ch);
    for (cv::Mat& c : ch) c.convertTo(c, CV_8U, uniform(rng, 0.85, 1.15));
    cv::merge(ch, img);
    cv::Mat hsv;
    cv::cvtColor(img, hsv, cv::COLOR_BGR2HSV);
    std::vector<cv::Mat> hs;
    cv::split(hsv, hs);
    hs[1].convertTo(hs[1], CV_8U, uniform(rng, 0.5, 1.3));
    cv::merge(hs, hsv);
    cv::cvtColor(hsv, img, cv::COLOR_HSV2BGR);
  }
  if (coin(rng, 0.2)) {  // gamma (film and phone tone curves)
    const double g = uniform(rng, 0.7, 1.5);
    cv::Mat lut(1, 256, CV_8U);
    for (int i = 0; i < 256; ++i) lut.at<uint8_t>(i) = cv::saturate_cast<uint8_t>(255.0 * std::pow(i / 255.0, g));
    cv::LUT(img, lut, img);
  }
  const bool low_light = coin(rng, 0.1);
  if (low_light) img.convertTo(img, CV_8UC3, uniform(rng, 0.3, 0.7), 0);
  if (coin(rng, 0.45)) {  // a small face in the frame, up-scaled to the crop: strong down-then-up
    const double f = uniform(rng, 0.2, 0.9);
    cv::Mat small;
    cv::resize(img, small, cv::Size(std::max(8, static_cast<int>(w * f)), std::max(8, static_cast<int>(h * f))), 0,
               0, coin(rng, 0.5) ? cv::INTER_AREA : cv::INTER_LINEAR);
    if (coin(rng, 0.4)) {  // coded at the small size: blocks grow with the up-scaling
      media::jpeg_recode(small, static_cast<int>(uniform(rng, 25, 85)));
    }
    cv::resize(small, img, cv::Size(w, h), 0, 0, coin(rng, 0.5) ? cv::INTER_LINEAR : cv::INTER_CUBIC);
  }
  if (coin(rng, 0.15)) {  // motion blur: a line kernel at a random angle
    const int len = static_cast<int>(uniform(rng, 3, 10));
    cv::Mat k = cv::Mat::zeros(len, len, CV_32F);
    const double a = uniform(rng, 0, CV_PI);
    const double c = (len - 1) / 2.0;
    for (int i = 0; i < len; ++i) {
      const double t = i - c;
      const int x = static_cast<int>(std::lround(c + t * std::cos(a))), y = static_cast<int>(std::lround(c + t * std::sin(a)));
      k.at<float>(std::clamp(y, 0, len - 1), std::clamp(x, 0, len - 1)) = 1.0f;
    }
    k /= cv::sum(k)[0];
    cv::filter2D(img, img, -1, k, cv::Point(-1, -1), 0, cv::BORDER_REFLECT);
  } else if (coin(rng, 0.2)) {  // focus blur
    const double sigma = uniform(rng, 0.3, 1.5);
    cv::GaussianBlur(img, img, cv::Size(0, 0), sigma);
  }
  if (low_light || coin(rng, 0.2)) {  // sensor noise (strong in low light)
    cv::Mat noise(img.size(), CV_32FC3);
    const double sd = low_light ? uniform(rng, 4, 12) : uniform(rng, 2, 8);
    cv::RNG cvrng(static_cast<uint64_t>(rng()));
    cvrng.fill(noise, cv::RNG::NORMAL, 0, sd);
    cv::Mat f;
    img.convertTo(f, CV_32FC3);
    f += noise;
    f.convertTo(img, CV_8UC3);
  }
  if (coin(rng, 0.6)) {  // block coding, as in compressed uploads and video (deblocked half the time)
    const int q = static_cast<int>(uniform(rng, 20, 96));
    media::jpeg_recode(img, q);
    if (q < 60 && coin(rng, 0.5)) cv::GaussianBlur(img, img, cv::Size(3, 3), 0.5);
  }
  crop = to_image(img);
  if (!bnd.empty()) boundary = to_image(bnd);
}

// ------------------------------------------------------------------------------------------------

SbiDataset::SbiDataset(std::shared_ptr<const std::vector<BlendCrop>> crops, std::vector<size_t> subset,
                       int input_size_px, bool augment, SbiRecipe recipe)
    : crops_(std::move(crops)), input_size_px_(input_size_px), augment_(augment), recipe_(std::move(recipe)) {
  for (size_t k : subset) {
    if ((*crops_)[k].label == 0) {
      entries_.push_back({k, 0});
      entries_.push_back({k, 1});
      ++n_real_;
      ++n_fake_;
    } else {
      entries_.push_back({k, 2});
      ++n_fake_;
    }
  }
}

Status SbiDataset::get_images(size_t index, uint64_t seed, Image& crop, Image& boundary, int& label) const {
  if (index >= entries_.size()) return Status::internal("SbiDataset", "index out of range");
  const Entry& e = entries_[index];
  const BlendCrop& c = (*crops_)[e.crop];
  std::mt19937_64 rng(splitmix64(seed ^ splitmix64(index)));
  if (e.kind == 2) {
    crop = recipe_.view ? recipe_.view(c.crop) : c.crop;
    boundary = Image();
    label = 1;
  } else if (recipe_.make_pair) {  // the recipe's own pseudo-fake (e.g. mouth: the lower face only)
    Image real, fake, bnd;
    UNMASK_RETURN_IF_ERROR(recipe_.make_pair(c, rng, real, fake, bnd));
    if (e.kind == 0) {
      crop = std::move(real);
      boundary = Image(crop.width_px(), crop.height_px(), 1);
      label = 0;
    } else {
      crop = std::move(fake);
      boundary = std::move(bnd);
      label = 1;
    }
  } else {
    // Both classes go through the same SBI pipeline (its shared JPEG step included): the real
    // example is the pair's `real`, the fake its `fake`.
    auto sample = synth::self_blend(c.crop, c.landmarks, rng);
    if (!sample.ok()) return sample.status();
    if (e.kind == 0) {
      crop = std::move(sample->real);
      boundary = Image(crop.width_px(), crop.height_px(), 1);  // no boundary anywhere
      label = 0;
    } else {
      crop = std::move(sample->fake);
      boundary = std::move(sample->boundary);
      label = 1;
    }
  }
  if (augment_) augment_crop(crop, boundary, rng);
  return Status::ok();
}

int SbiDataset::label(size_t index) const { return entries_.at(index).kind == 0 ? 0 : 1; }

Result<learn::Example> SbiDataset::get(size_t index, uint64_t seed) const {
  Image crop, boundary;
  int label = 0;
  UNMASK_RETURN_IF_ERROR(get_images(index, seed, crop, boundary, label));
  auto batch = nn::images_to_batch({&crop, 1}, input_size_px_);
  if (!batch.ok()) return batch.status();
  learn::Example ex;
  ex.input = std::move(batch->values);
  ex.label = static_cast<float>(label);
  if (!boundary.empty()) ex.boundary = boundary_target(boundary, input_size_px_ / 8);
  return ex;
}

bool is_validation_source(const std::string& source, uint64_t seed, double fraction) {
  const std::string h = sha256_hex(std::to_string(seed) + "|" + source);
  const uint64_t v = std::stoull(h.substr(0, 12), nullptr, 16);
  return static_cast<double>(v) / static_cast<double>(1ULL << 48) < fraction;
}

std::string split_key(const std::string& source, const std::string& manifest_path) {
  std::string folder = fs::path(manifest_path).parent_path().string();
  if (folder.empty()) return source;
  if (folder.back() != '/') folder += '/';
  return source.rfind(folder, 0) == 0 ? source.substr(folder.size()) : source;
}

// ------------------------------------------------------------------------------------------------

Result<TrainSummary> train_blend(const TrainRequest& request) {
  SbiTrainerOptions o;
  const std::string arch = env_or("UNMASK_BLEND_ARCH", kBlendArch);
  auto spec = nn::default_spec(arch);
  if (!spec.ok()) return spec.status();
  o.spec = *spec;
  o.spec.boundary_head = true;
  o.batch_size = std::stoi(env_or("UNMASK_BLEND_BATCH", "32"));
  o.learning_rate = std::stod(env_or("UNMASK_BLEND_LR", "1e-3"));
  o.default_epochs = 8;
  // Balance the sources: at most UNMASK_BLEND_MAX_PER_SOURCE crops of any one source (a seeded
  // choice), so 4000 UTKFace photos do not outweigh every video put together. 0: no cap.
  o.max_crops_per_source = std::stoi(env_or("UNMASK_BLEND_MAX_PER_SOURCE", "1000"));
  // Fine-tuning from another run's checkpoint (e.g. the shipped model's), when not resuming.
  o.init_checkpoint = env_or("UNMASK_BLEND_INIT", "");
  o.recipe_text = "SBI self-blended images from real faces (videos sampled densely, at most " +
                  std::to_string(o.max_crops_per_source) +
                  " crops per source), boundary head, video-like augmentation for both classes (alignment error with "
                  "out-of-frame fill, occluders, block coding at crop and small size, down-up scaling, motion/focus blur, "
                  "colour cast, gamma, low light noise)";
  return train_sbi_detector(request, o);
}

Result<TrainSummary> train_sbi_detector(const TrainRequest& request, const SbiTrainerOptions& options) {
  const auto t_start = SteadyClock::now();
  const std::string& name = options.recipe.name;
  auto items = learn::read_manifest(request.manifest_path);
  if (!items.ok()) return items.status();
  if (request.out_path.empty()) return Status::usage("--out", "a model path is required");
  nn::set_num_threads(request.threads > 0 ? request.threads : nn::kDefaultThreads);

  UNMASK_RETURN_IF_ERROR(nn::validate_spec(options.spec));
  const nn::ModelSpec* spec = &options.spec;
  const int batch_size = options.batch_size;
  const double lr = options.learning_rate;

  fs::path out(request.out_path);
  const std::string cache_root = request.cache_dir.empty() ? (out.parent_path() / (name + "-cache")).string() : request.cache_dir;
  std::error_code dir_ec;
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path(), dir_ec);
  if (dir_ec) return Status::input(out.parent_path().string(), "cannot create the output folder: " + dir_ec.message());
  auto models = face::FaceModels::load();
  if (!models.ok()) return models.status();

  // 1. Faces. Videos are sampled densely (every UNMASK_BLEND_VIDEO_EVERY-th frame, at most
  // UNMASK_BLEND_VIDEO_MAX crops spread over the video): real video is what scan sees, and a few
  // frames per clip taught the network too little of it. Images keep the default options (their
  // cache entries stay valid).
  CropExtractOptions xo;
  xo.align = {.size_px = 128, .margin = 0.25};
  xo.cache_dir = (fs::path(cache_root) / "crops").string();
  if (request.progress) {
    xo.progress = [&](double f, std::string_view s) { request.progress(0.0, std::string(s) + " (" + fmt(100 * f, 0) + "%)"); };
  }
  CropExtractOptions xv = xo;
  xv.every_nth_frame = std::max(1, std::stoi(env_or("UNMASK_BLEND_VIDEO_EVERY", "2")));
  xv.max_crops_per_video = std::max(1, std::stoi(env_or("UNMASK_BLEND_VIDEO_MAX", "300")));
  std::vector<learn::ManifestItem> image_items, video_items;
  std::set<std::string> video_paths;
  std::map<std::string, std::string> source_of;  // file -> source_repo column (or the file)
  for (const learn::ManifestItem& item : *items) {
    auto it = item.columns.find("source_repo");
    source_of[item.path] = it != item.columns.end() && !it->second.empty() ? it->second : item.path;
    if (is_video_item(item)) {
      video_items.push_back(item);
      video_paths.insert(item.path);
    } else {
      image_items.push_back(item);
    }
  }
  CropExtractSummary xs;
  const auto t_extract = SteadyClock::now();
  std::vector<BlendCrop> all_crops;
  for (int pass = 0; pass < 2; ++pass) {
    const auto& part = pass == 0 ? image_items : video_items;
    if (part.empty()) continue;
    CropExtractSummary ps;
    auto part_or = extract_blend_crops(part, *models, pass == 0 ? xo : xv, &ps);
    if (!part_or.ok()) return part_or.status();
    xs.n_items += ps.n_items;
    xs.n_items_with_face += ps.n_items_with_face;
    xs.n_cached += ps.n_cached;
    xs.n_failed += ps.n_failed;
    for (BlendCrop& c : *part_or) all_crops.push_back(std::move(c));
  }
  const double extract_seconds = seconds_since(t_extract);
  const size_t n_crops_extracted = all_crops.size();
  const int max_per_source = options.max_crops_per_source;
  std::map<std::string, int> crops_per_source;
  {
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t k = 0; k < all_crops.size(); ++k) groups[source_of[all_crops[k].source]].push_back(k);
    std::vector<bool> keep(all_crops.size(), true);
    for (auto& [src, idx] : groups) {
      if (max_per_source > 0 && static_cast<int>(idx.size()) > max_per_source) {
        std::vector<std::pair<std::string, size_t>> ranked;
        for (size_t k : idx) {
          ranked.push_back({sha256_hex(std::to_string(request.seed) + "|" + split_key(all_crops[k].source, request.manifest_path) + "|" +
                                       std::to_string(all_crops[k].frame)),
                            k});
        }
        std::sort(ranked.begin(), ranked.end());
        for (size_t r = static_cast<size_t>(max_per_source); r < ranked.size(); ++r) keep[ranked[r].second] = false;
      }
      const int n = static_cast<int>(idx.size());
      crops_per_source[src] = max_per_source > 0 ? std::min(n, max_per_source) : n;
    }
    std::vector<BlendCrop> kept;
    for (size_t k = 0; k < all_crops.size(); ++k) {
      if (keep[k]) kept.push_back(std::move(all_crops[k]));
    }
    all_crops.swap(kept);
  }
  auto crops = std::make_shared<const std::vector<BlendCrop>>(std::move(all_crops));
  if (crops->empty()) return Status::input(request.manifest_path, "no face found in any item");

  // 2. Split by file.
  const double val_fraction = 0.12;
  std::vector<size_t> train_idx, val_idx;
  std::set<std::string> train_files, val_files;
  for (size_t k = 0; k < crops->size(); ++k) {
    const std::string& src = (*crops)[k].source;
    if (is_validation_source(split_key(src, request.manifest_path), request.seed, val_fraction)) {
      val_idx.push_back(k);
      val_files.insert(src);
    } else {
      train_idx.push_back(k);
      train_files.insert(src);
    }
  }
  if (val_idx.empty() && train_idx.size() > 2) {  // tiny manifests: still validate on one file
    const std::string src = (*crops)[train_idx.back()].source;
    std::vector<size_t> keep;
    for (size_t k : train_idx) ((*crops)[k].source == src ? val_idx : keep).push_back(k);
    if (keep.empty()) keep.swap(val_idx);
    train_idx.swap(keep);
    train_files.erase(src);
    val_files.insert(src);
  }
  SbiDataset train(crops, train_idx, spec->input_size_px, /*augment=*/true, options.recipe);
  SbiDataset val(crops, val_idx, spec->input_size_px, /*augment=*/true, options.recipe);
  // The validation crops from videos: calibration is fitted on them (and their self-blends) when
  // there are enough, so that a real video frame, not a photo, is what reads as "real".
  std::vector<size_t> val_video_idx;
  for (size_t k : val_idx) {
    if (video_paths.count((*crops)[k].source)) val_video_idx.push_back(k);
  }
  SbiDataset val_video(crops, val_video_idx, spec->input_size_px, /*augment=*/true, options.recipe);
  const bool calibrate_on_video = val_video_idx.size() >= 100;
  if (train.size() < 2) return Status::input(request.manifest_path, "too few faces to train on");
  log_info(name + ": " + std::to_string(crops->size()) + " crops from " + std::to_string(xs.n_items_with_face) + " of " +
           std::to_string(xs.n_items) + " items (" + std::to_string(xs.n_cached) + " cached, " +
           std::to_string(xs.n_failed) + " failed) in " + fmt(extract_seconds, 1) + " s; train " +
           std::to_string(train.size()) + " examples from " + std::to_string(train_files.size()) + " files, validation " +
           std::to_string(val.size()) + " from " + std::to_string(val_files.size()));

  // Data path profile: the SBI + augmentation cost of one example.
  double data_ms_per_example = 0;
  {
    const auto t0 = SteadyClock::now();
    const size_t n = std::min<size_t>(32, train.size());
    for (size_t i = 0; i < n; ++i) {
      auto ex = train.get(i, 12345 + i);
      if (!ex.ok()) return ex.status();
    }
    data_ms_per_example = 1000.0 * seconds_since(t0) / static_cast<double>(n);
    log_info(name + ": data path " + fmt(data_ms_per_example, 2) + " ms per example (SBI + augmentation + batch)");
  }

  // 3. Train.
  learn::TrainConfig cfg;
  cfg.epochs = request.epochs > 0 ? request.epochs : options.default_epochs;
  cfg.batch_size = batch_size;
  cfg.seed = request.seed;
  cfg.optimizer.learning_rate = lr;
  cfg.optimizer.weight_decay = 1e-5;
  cfg.optimizer.boundary_loss_weight = 1.0;
  cfg.checkpoint_path = request.out_path + ".ckpt";
  cfg.checkpoint_every_steps = 40;
  cfg.resume = request.resume;
  cfg.init_checkpoint = options.init_checkpoint;
  // Train seconds add up over resumed runs.
  const std::string time_path = cfg.checkpoint_path + ".seconds";
  double previous_seconds = 0;
  if (request.resume) {
    if (auto t = read_file(time_path); t.ok()) previous_seconds = std::atof(t->c_str());
  }
  auto last_time_write = SteadyClock::now();
  auto seconds_so_far = [&] { return previous_seconds + seconds_since(t_start); };
  cfg.progress = [&](double f, std::string_view s) {
    if (request.progress) request.progress(f, s);
    if (SteadyClock::now() - last_time_write > std::chrono::seconds(20)) {
      last_time_write = SteadyClock::now();
      (void)write_file_atomic(time_path, fmt(seconds_so_far(), 1));
    }
  };
  if (!request.resume) {
    std::error_code ec;
    fs::remove(cfg.checkpoint_path, ec);
  }
  auto result = learn::train_binary(*spec, train, &val, cfg);
  if (!result.ok()) return result.status();

  // 4. Calibrate on validation (raw logits -> Platt; on its video crops when there are enough)
  // and measure.
  learn::PlattScaling platt;
  learn::BinaryMetrics vm, vvm;
  double raw_log_loss = std::nan("");
  if (calibrate_on_video) {
    auto probs = learn::predict_dataset(result->model, val_video, request.seed ^ 0x76616c ^ 0x1234, 64);
    if (!probs.ok()) return probs.status();
    std::vector<double> logits;
    std::vector<int> labels;
    for (size_t i = 0; i < val_video.size(); ++i) {
      logits.push_back(logit_of((*probs)[i]));
      labels.push_back(val_video.label(i));
    }
    UNMASK_RETURN_IF_ERROR(platt.fit(logits, labels));
    std::vector<double> calibrated;
    for (double s : logits) calibrated.push_back(platt.apply(s));
    vvm = learn::binary_metrics(calibrated, labels);
  }
  if (val.size() > 0) {
    auto probs = learn::predict_dataset(result->model, val, request.seed ^ 0x76616c ^ 0x1234, 64);
    if (!probs.ok()) return probs.status();
    std::vector<double> logits;
    std::vector<int> labels;
    for (size_t i = 0; i < val.size(); ++i) {
      logits.push_back(logit_of((*probs)[i]));
      labels.push_back(val.label(i));
    }
    raw_log_loss = learn::log_loss(*probs, labels);
    if (!calibrate_on_video && std::count(labels.begin(), labels.end(), 1) > 0 &&
        std::count(labels.begin(), labels.end(), 0) > 0) {
      UNMASK_RETURN_IF_ERROR(platt.fit(logits, labels));
    }
    std::vector<double> calibrated;
    for (double s : logits) calibrated.push_back(platt.apply(s));
    vm = learn::binary_metrics(calibrated, labels);
  }
  const double train_seconds = seconds_so_far();

  // 5. Save model + card.
  nn::Metadata meta = result->model.metadata();
  meta[name + ".align_size_px"] = std::to_string(xo.align.size_px);
  meta[name + ".align_margin"] = fmt(xo.align.margin, 4);
  meta[name + ".calibration"] = platt.serialize();
  meta[name + ".version"] = options.recipe.version;
  for (const auto& [k, v] : options.metadata) meta[k] = v;
  meta["train.recipe"] =
      options.recipe_text +
      std::string(calibrate_on_video ? ", Platt calibration on validation video crops" : ", Platt calibration on validation crops");
  meta["train.n_train_examples"] = std::to_string(train.size());
  meta["train.n_val_examples"] = std::to_string(val.size());
  meta["train.n_files"] = std::to_string(train_files.size() + val_files.size());
  meta["train.manifest_sha256"] = sha256_file(request.manifest_path).ok() ? *sha256_file(request.manifest_path) : "";
  meta["train.val_auc"] = fmt(vm.auc, 4);
  std::error_code ec;
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path(), ec);
  UNMASK_RETURN_IF_ERROR(result->model.save(request.out_path, meta));
  auto sha = sha256_file(request.out_path);
  if (!sha.ok()) return sha.status();

  TrainSummary summary;
  summary.model_path = request.out_path;
  fs::path card = out;
  card.replace_extension("");
  summary.card_path = card.string() + ".card.json";
  summary.n_real = train.n_real() + val.n_real();
  summary.n_fake = train.n_fake() + val.n_fake();
  summary.metrics = {{"val_auc", vm.auc},
                     {"val_ap", vm.ap},
                     {"val_eer", vm.eer},
                     {"val_log_loss", vm.log_loss},
                     {"val_log_loss_uncalibrated", raw_log_loss},
                     {"val_accuracy", vm.accuracy},
                     {"train_seconds", train_seconds},
                     {"extract_seconds", extract_seconds},
                     {"data_ms_per_example", data_ms_per_example},
                     {"final_train_loss", result->history.empty() ? std::nan("") : result->history.back().train_loss}};
  if (calibrate_on_video) {
    summary.metrics["val_video_auc"] = vvm.auc;
    summary.metrics["val_video_log_loss"] = vvm.log_loss;
  }

  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j;
  j["detector"] = name;
  j["version"] = options.recipe.version;
  j["model"] = fs::path(request.out_path).filename().string();
  j["sha256"] = *sha;
  j["architecture"] = {{"name", spec->name},
                       {"input_size_px", spec->input_size_px},
                       {"widths", spec->widths},
                       {"boundary_head", spec->boundary_head},
                       {"n_parameters", result->model.n_parameters()}};
  j["alignment"] = {{"size_px", xo.align.size_px}, {"margin", xo.align.margin}};
  if (!options.metadata.empty()) j["recipe_metadata"] = options.metadata;
  j["calibration"] = platt.serialize();
  j["seed"] = request.seed;
  j["command"] = request.command_line;
  std::map<std::string, int> per_source;
  for (const learn::ManifestItem& item : *items) {
    auto it = item.columns.find("source_repo");
    per_source[it != item.columns.end() ? it->second : std::string("(unnamed)")]++;
  }
  j["data"] = {{"manifest", request.manifest_path},
               {"manifest_sha256", meta["train.manifest_sha256"]},
               {"n_items", xs.n_items},
               {"n_items_with_face", xs.n_items_with_face},
               {"n_items_failed", xs.n_failed},
               {"n_crops", crops->size()},
               {"items_per_source", per_source},
               {"n_train_files", train_files.size()},
               {"n_val_files", val_files.size()},
               {"n_train_examples", train.size()},
               {"n_val_examples", val.size()},
               {"validation_split", "by file, " + fmt(100 * val_fraction, 0) + "% of files (hash of the path under the manifest's folder, and the seed)"},
               {"recipe", meta["train.recipe"]},
               {"n_crops_extracted", n_crops_extracted},
               {"crops_per_source", crops_per_source},
               {"max_crops_per_source", max_per_source},
               {"video_every_nth_frame", xv.every_nth_frame},
               {"video_max_crops", xv.max_crops_per_video},
               {"n_val_video_crops", val_video_idx.size()},
               {"calibration_set", calibrate_on_video ? "validation video crops and their self-blends"
                                                       : "validation crops and their self-blends"}};
  if (!cfg.init_checkpoint.empty()) j["training_init_checkpoint"] = cfg.init_checkpoint;
  j["training"] = {{"epochs", cfg.epochs},
                   {"batch_size", cfg.batch_size},
                   {"learning_rate", lr},
                   {"steps", result->n_steps},
                   {"threads", nn::num_threads()}};
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& e : result->history) {
    hist.push_back({{"epoch", e.epoch}, {"train_loss", num(e.train_loss)}, {"val_auc", num(e.val_auc)},
                    {"val_log_loss", num(e.val_log_loss)}});
  }
  j["history"] = hist;
  nlohmann::json metrics;
  for (const auto& [k, v] : summary.metrics) metrics[k] = num(v);
  j["metrics"] = metrics;
  UNMASK_RETURN_IF_ERROR(write_file_atomic(summary.card_path, json_text(j, 2) + "\n"));
  (void)write_file_atomic(time_path, fmt(train_seconds, 1));
  return summary;
}

}  // namespace unmask::detect
